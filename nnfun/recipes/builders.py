"""What a recipe builds: the optimizer, schedule, augmentation, first network and data split.

A `Config` only holds values; these functions turn it into the parts `nnfun.fit` takes, so a
script can swap any one of them for its own. Each draws its randomness from `rng_for(seed, ...)`
with its own purpose key, as the loop does.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any, TypedDict

import numpy as np

from ..augment import Augmentation
from ..averaging import with_average
from ..batching import split_validation
from ..errors import ConfigError, ModelError
from ..optim import Optimizer, adam_init, adam_step, sgd_init, sgd_step
from ..params import Params, init_params, layer_sizes
from ..regularisation import Regularisation
from ..schedule import Schedule, constant, cosine, one_cycle, step_decay, warmup
from ..train import INIT, SPLIT, TrainState, fit, rng_for
from .settings import Config


def build_optimizer(c: Config) -> Optimizer:
    """The optimizer a config asks for, averaging the weights it produces if `ema_decay > 0`."""
    base = _base_optimizer(c)
    return with_average(base, c.ema_decay) if c.ema_decay else base


def _base_optimizer(c: Config) -> Optimizer:
    """The optimizer a config asks for, with its hyper-parameters bound (the fused fast paths)."""
    if c.optimizer in ("sgd", "nesterov"):
        step = partial(
            sgd_step,
            momentum=c.momentum,
            weight_decay=c.weight_decay,
            clip=c.clip,
            nesterov=c.optimizer == "nesterov",
        )
        return Optimizer(sgd_init, step, takes_rows=True)
    if c.optimizer == "adamw":
        step = partial(adam_step, weight_decay=c.weight_decay, clip=c.clip)
        return Optimizer(adam_init, step, takes_rows=True)
    return Optimizer(adam_init, partial(adam_step, l2=c.weight_decay, clip=c.clip), takes_rows=True)


def build_schedule(c: Config) -> Schedule:
    """The learning-rate schedule a config asks for, wrapped in a linear warm-up if it has one."""
    base = {
        "step": lambda: step_decay(c.lr, c.milestones, c.gamma),
        "cosine": lambda: cosine(c.lr, c.epochs),
        "onecycle": lambda: one_cycle(c.lr, c.epochs),
        "constant": lambda: constant(c.lr),
    }[c.schedule]()
    return warmup(base, c.warmup)


def build_augmentation(c: Config) -> Augmentation | None:
    """The augmentation a config asks for, or None."""
    aug = Augmentation(c.shift, c.rotate, c.scale, c.elastic_alpha, c.elastic_sigma)
    return aug if aug.active else None


def build_regularisation(c: Config) -> Regularisation:
    """The augmentation, dropout and label smoothing a config asks for."""
    return Regularisation(build_augmentation(c), c.dropout, c.input_dropout, c.label_smoothing)


class FitOptions(TypedDict):
    """The keyword arguments of `nnfun.fit` that a config sets: `fit(start, ..., **options)`."""

    optimizer: Optimizer
    schedule: Schedule
    epochs: int
    batch_size: int
    seed: int
    regularisation: Regularisation
    keep_best: bool


def fit_options(c: Config) -> FitOptions:
    """The keyword arguments of `nnfun.fit` that this config sets."""
    return {
        "optimizer": build_optimizer(c),
        "schedule": build_schedule(c),
        "epochs": c.epochs,
        "batch_size": c.batch_size,
        "seed": c.seed,
        "regularisation": build_regularisation(c),
        "keep_best": c.keep_best,
    }


def init_network(c: Config, inputs: int = 784, classes: int = 10) -> Params:
    """He-initialised weights for `inputs-hidden...-classes`, drawn from `rng_for(seed, INIT)`."""
    return init_params((inputs, *c.hidden, classes), rng_for(c.seed, INIT))


def check_state(c: Config, state: TrainState) -> None:
    """ModelError unless a saved state can continue this config (a checkpoint read back).

    The network must have the config's hidden widths, the epoch must lie within the run, and
    the optimizer state must be exactly what this config's optimizer keeps for this network
    (same names, shapes and types, finite): a state edited by hand or saved under another
    optimizer would otherwise fail deep in a step, or silently train something else.
    """
    sizes = layer_sizes(state.params)
    if sizes[1:-1] != c.hidden:
        raise ModelError(
            f"its network is {'-'.join(map(str, sizes))}, but its settings say hidden {list(c.hidden)}"
        )
    if state.epoch > c.epochs:
        raise ModelError(f"it is at epoch {state.epoch} of a run of {c.epochs} epochs")
    expected, saved = build_optimizer(c).init(state.params), state.opt_state
    fits = set(saved) == set(expected) and all(
        saved[k].shape == v.shape and saved[k].dtype == v.dtype for k, v in expected.items()
    )
    if not fits:
        raise ModelError(
            f"its optimizer state is not what optimizer {c.optimizer} keeps for this network "
            "(saved by another optimizer, or edited)"
        )
    if not all(np.isfinite(v).all() for v in saved.values()):
        raise ModelError("its optimizer state holds NaN or infinite values")
    if any(v.dtype.kind == "i" and (v < 0).any() for v in saved.values()):
        raise ModelError("its optimizer state counts a negative number of steps")
    if state.best_params is not None and layer_sizes(state.best_params) != sizes:
        raise ModelError("its best weights do not have the network's shape")


def split_data(
    c: Config, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The seeded validation split `(x, y, x_val, y_val)`: the same on every run with this seed."""
    if c.val_size >= len(x):
        raise ConfigError(
            f"val_size {c.val_size} leaves no training images (the set has {len(x):,})"
        )
    return split_validation(x, y, c.val_size, rng_for(c.seed, SPLIT))


def fit_config(
    c: Config,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    start: TrainState | None = None,
    **hooks: Any,
) -> Iterator[TrainState]:
    """`fit` with every part built from the config, from a fresh network unless `start` is given."""
    classes = int(max(y.max(), y_val.max(initial=0))) + 1
    first = start if start is not None else init_network(c, x.shape[1], classes)
    return fit(first, x, y, x_val, y_val, **fit_options(c), **hooks)
