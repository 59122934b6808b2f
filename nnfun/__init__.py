"""nnfun: a neural network for handwritten digits, from first principles in NumPy.

The core is pure: parameters are an immutable mapping of read-only arrays, and every function
returns new values instead of changing its arguments. Compose them into a loop of your own, or
use `fit`, the loop the `nnfun` command runs.
"""

from .batching import batches, num_batches, scale_pixels, shuffle, split_validation
from .errors import ConfigError, DataError, DivergedError, ModelError, NnfunError
from .gradient_check import gradcheck, numerical_grads, relative_error
from .losses import cross_entropy, log_softmax, softmax, softmax_cross_entropy
from .metrics import accuracy, confusion_matrix, evaluate, per_class_accuracy, predict_proba
from .network import dropout_masks, forward, forward_backward, grads
from .optim import Optimizer, OptState, adam_init, adam_step, sgd_init, sgd_step
from .params import Params, cast, freeze, init_params, layer_sizes, num_layers
from .schedule import Schedule, constant, cosine, one_cycle, step_decay, warmup
from .train import (
    Config,
    EpochRecord,
    TrainState,
    final_params,
    fit,
    init_state,
    rng_for,
    train_epoch,
)
from .transforms import (
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

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "DivergedError",
    "EpochRecord",
    "GradientTransformation",
    "ModelError",
    "NnfunError",
    "OptState",
    "Optimizer",
    "Params",
    "Schedule",
    "TrainState",
    "accuracy",
    "adam_init",
    "adam_step",
    "add_decayed_weights",
    "apply_updates",
    "as_optimizer",
    "batches",
    "cast",
    "chain",
    "clip",
    "clip_by_global_norm",
    "confusion_matrix",
    "constant",
    "cosine",
    "cross_entropy",
    "dropout_masks",
    "evaluate",
    "final_params",
    "fit",
    "forward",
    "forward_backward",
    "freeze",
    "global_norm",
    "gradcheck",
    "grads",
    "init_params",
    "init_state",
    "is_weight",
    "layer_sizes",
    "log_softmax",
    "masked",
    "num_batches",
    "num_layers",
    "numerical_grads",
    "one_cycle",
    "per_class_accuracy",
    "predict_proba",
    "relative_error",
    "rng_for",
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
    "trace",
    "train_epoch",
    "warmup",
]
