"""nnfun: a neural network for handwritten digits, from first principles in NumPy.

The core is pure: parameters are an immutable mapping of read-only arrays, and every function
returns new values instead of changing its arguments. Compose them into a loop of your own, or
give your parts (an optimizer, a schedule) to `fit`. Files live apart, in `nnfun.io`; the names
a script needs most are re-exported here: `load_dataset`, `save_model`, `load_model`,
`read_image`, `samples`.
"""

from . import recipes
from .augment import Augmentation, augment
from .averaging import average_of, ema_decay_at, ema_init, ema_update, with_average
from .batching import batches, num_batches, scale_pixels, shuffle, split_validation
from .ensemble import Model
from .errors import ConfigError, DataError, DivergedError, ModelError, NnfunError
from .gradient_check import gradcheck, numerical_grads, relative_error
from .gradient_transforms import (
    GradientTransformation,
    add_decayed_weights,
    apply_updates,
    as_optimizer,
    chain,
    clip,
    clip_by_global_norm,
    global_norm,
    is_weight,
    masked,
    scale_by_adam,
    scale_by_learning_rate,
    stateless,
    trace,
)
from .grey import to_grey
from .inference import as_rows, check_fits, predict, predict_proba
from .io import export_onnx, load_dataset, load_model, read_image, samples, save_model
from .losses import cross_entropy, log_softmax, softmax, softmax_cross_entropy
from .metrics import accuracy, confusion_matrix, evaluate, per_class_accuracy
from .network import dropout_masks, forward, forward_backward, grads
from .optim import Optimizer, OptState, adam_init, adam_step, sgd_init, sgd_step
from .params import Params, cast, freeze, init_params, layer_sizes, num_layers
from .preprocess import has_ink, to_mnist
from .recipes import Config
from .recognition import Reading, read_digit
from .regularisation import Regularisation
from .schedule import Schedule, constant, cosine, one_cycle, step_decay, warmup
from .train import (
    EpochRecord,
    TrainState,
    final_params,
    fit,
    rng_for,
    train_epoch,
)
from .version import __version__ as __version__

__all__ = [
    "Augmentation",
    "Config",
    "ConfigError",
    "DataError",
    "DivergedError",
    "EpochRecord",
    "GradientTransformation",
    "Model",
    "ModelError",
    "NnfunError",
    "OptState",
    "Optimizer",
    "Params",
    "Reading",
    "Regularisation",
    "Schedule",
    "TrainState",
    "accuracy",
    "adam_init",
    "adam_step",
    "add_decayed_weights",
    "apply_updates",
    "as_optimizer",
    "as_rows",
    "augment",
    "average_of",
    "batches",
    "cast",
    "chain",
    "check_fits",
    "clip",
    "clip_by_global_norm",
    "confusion_matrix",
    "constant",
    "cosine",
    "cross_entropy",
    "dropout_masks",
    "ema_decay_at",
    "ema_init",
    "ema_update",
    "evaluate",
    "export_onnx",
    "final_params",
    "fit",
    "forward",
    "forward_backward",
    "freeze",
    "global_norm",
    "gradcheck",
    "grads",
    "has_ink",
    "init_params",
    "is_weight",
    "layer_sizes",
    "load_dataset",
    "load_model",
    "log_softmax",
    "masked",
    "num_batches",
    "num_layers",
    "numerical_grads",
    "one_cycle",
    "per_class_accuracy",
    "predict",
    "predict_proba",
    "read_digit",
    "read_image",
    "recipes",
    "relative_error",
    "rng_for",
    "samples",
    "save_model",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_pixels",
    "sgd_init",
    "sgd_step",
    "shuffle",
    "softmax",
    "softmax_cross_entropy",
    "split_validation",
    "stateless",
    "step_decay",
    "to_grey",
    "to_mnist",
    "trace",
    "train_epoch",
    "warmup",
    "with_average",
]
