"""The training loop, composed from the public pieces: batches -> grads -> optimizer step, per epoch.

`fit` is a generator that yields a `TrainState` after every epoch, so the caller decides what to
print, plot or save; the loop itself knows nothing about files or terminals. Randomness is keyed on
`(seed, purpose, epoch)`, so epoch `e` draws the same numbers whether or not the run was resumed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from . import schedule as schedules
from .augment import augment
from .batching import SCALE, batches, num_batches, shuffle
from .errors import ConfigError, DivergedError
from .metrics import evaluate
from .network import dropout_masks, forward_backward
from .optim import Optimizer, OptState, adam_init, adam_step, sgd_init, sgd_step
from .params import Params, init_params, layer_sizes

# What each random stream is for: rng_for(seed, INIT) draws the initial weights, and so on.
INIT, SPLIT, EPOCH = 0, 1, 2


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent generator for one purpose, e.g. `rng_for(seed, EPOCH, 7)` for epoch 7."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass(frozen=True)
class Config:
    """Every hyper-parameter of a run. The defaults are the seed recipe (784-1024-10, SGD, 80 epochs)."""

    hidden: tuple[int, ...] = (1024,)
    epochs: int = 80
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd | nesterov | adam | adamw
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    clip: float | None = 5.0
    schedule: str = "step"  # step | cosine | onecycle | constant
    milestones: tuple[int, ...] = (30, 50, 65)
    gamma: float = 0.1
    warmup: float = 0.0
    dropout: float = 0.0
    input_dropout: float = 0.0
    label_smoothing: float = 0.0
    shift: float = 0.0
    rotate: float = 0.0
    scale: float = 0.0
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    keep_best: bool = False
    val_size: int = 5000
    seed: int = 0
    dataset: str = "mnist"

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise ConfigError(problem)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Config:
        """The inverse of `to_dict`; unknown keys are an error, missing ones take the defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        fixed: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in values.items()
        }
        return cls(**fixed)


def _problems(c: Config) -> Iterator[str]:
    """Each out-of-range hyper-parameter, as a sentence that says what would be valid."""
    if not c.hidden or min(c.hidden) < 1:
        yield f"hidden sizes must be positive whole numbers, e.g. 1024 or 1024,512 (got {c.hidden})"
    checks = [
        (c.epochs >= 1, f"epochs must be at least 1 (got {c.epochs})"),
        (c.batch_size >= 1, f"batch size must be at least 1 (got {c.batch_size})"),
        (c.lr > 0 and np.isfinite(c.lr), f"learning rate must be a positive number (got {c.lr})"),
        (0 <= c.momentum < 1, f"momentum must be in [0, 1) (got {c.momentum})"),
        (c.weight_decay >= 0, f"weight decay must be >= 0 (got {c.weight_decay})"),
        (c.clip is None or c.clip > 0, f"clip must be > 0, or 0 for no clipping (got {c.clip})"),
        (c.gamma > 0, f"gamma must be > 0 (got {c.gamma})"),
        (c.warmup >= 0, f"warm-up epochs must be >= 0 (got {c.warmup})"),
        (0 <= c.dropout < 1 and 0 <= c.input_dropout < 1, "dropout rates must be in [0, 1)"),
        (
            0 <= c.label_smoothing < 1,
            f"label smoothing must be in [0, 1) (got {c.label_smoothing})",
        ),
        (
            min(c.shift, c.rotate, c.scale, c.elastic_alpha) >= 0,
            "augmentation strengths must be >= 0",
        ),
        (c.elastic_sigma > 0, f"elastic sigma must be > 0 (got {c.elastic_sigma})"),
        (c.val_size >= 0, f"validation size must be >= 0 (got {c.val_size})"),
        (
            c.optimizer in OPTIMIZERS,
            f"optimizer must be one of {', '.join(OPTIMIZERS)} (got {c.optimizer!r})",
        ),
        (
            c.schedule in SCHEDULES,
            f"schedule must be one of {', '.join(SCHEDULES)} (got {c.schedule!r})",
        ),
    ]
    yield from (message for ok, message in checks if not ok)


OPTIMIZERS = ("sgd", "nesterov", "adam", "adamw")
SCHEDULES = ("step", "cosine", "onecycle", "constant")


def make_optimizer(c: Config) -> Optimizer:
    """The optimizer a config asks for, with its hyper-parameters bound."""
    if c.optimizer in ("sgd", "nesterov"):
        step = partial(
            sgd_step,
            momentum=c.momentum,
            weight_decay=c.weight_decay,
            clip=c.clip,
            nesterov=c.optimizer == "nesterov",
        )
        return Optimizer(sgd_init, step)
    if c.optimizer == "adamw":
        return Optimizer(adam_init, partial(adam_step, weight_decay=c.weight_decay, clip=c.clip))
    return Optimizer(adam_init, partial(adam_step, l2=c.weight_decay, clip=c.clip))


def make_schedule(c: Config) -> schedules.Schedule:
    """The learning-rate schedule a config asks for, wrapped in a linear warm-up if it has one."""
    base = {
        "step": lambda: schedules.step_decay(c.lr, c.milestones, c.gamma),
        "cosine": lambda: schedules.cosine(c.lr, c.epochs),
        "onecycle": lambda: schedules.one_cycle(c.lr, c.epochs),
        "constant": lambda: schedules.constant(c.lr),
    }[c.schedule]()
    return schedules.warmup(base, c.warmup)


@dataclass(frozen=True)
class EpochRecord:
    """One line of `history.json`: accuracies are fractions in [0, 1], `lr` the epoch's starting rate."""

    epoch: int
    lr: float
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass(frozen=True)
class TrainState:
    """Everything needed to continue a run: `epoch` epochs are done."""

    epoch: int
    params: Params
    opt_state: OptState
    history: tuple[EpochRecord, ...] = ()
    best_params: Params | None = field(default=None)


def init_state(c: Config, inputs: int = 784, classes: int = 10) -> TrainState:
    """Epoch 0: He-initialised weights drawn from `rng_for(seed, INIT)` and a fresh optimizer state."""
    params = init_params((inputs, *c.hidden, classes), rng_for(c.seed, INIT))
    return TrainState(0, params, make_optimizer(c).init(params))


BatchCallback = Callable[[int, int, float], None]


def train_epoch(
    params: Params,
    opt_state: OptState,
    x: np.ndarray,
    y: np.ndarray,
    *,
    c: Config,
    epoch: int,
    rng: np.random.Generator,
    on_batch: BatchCallback | None = None,
) -> tuple[Params, OptState, float, float]:
    """One pass over shuffled data; returns the new params and state, mean loss and accuracy.

    `x` may be uint8 pixels (scaled to [0, 1] batch by batch, which keeps memory small) or floats.
    """
    step, lr_at = make_optimizer(c).step, make_schedule(c)
    sizes, total = layer_sizes(params), num_batches(len(x), c.batch_size)
    x, y = shuffle(x, y, rng)
    loss_sum, correct = 0.0, 0
    for i, (xb, yb) in enumerate(batches(x, y, c.batch_size)):
        xb = np.multiply(xb, SCALE, dtype=np.float32) if xb.dtype == np.uint8 else xb
        if c.shift or c.rotate or c.scale or c.elastic_alpha:
            xb = augment(
                xb,
                rng,
                shift=c.shift,
                rotate=c.rotate,
                scale=c.scale,
                elastic_alpha=c.elastic_alpha,
                elastic_sigma=c.elastic_sigma,
            )
        masks = dropout_masks(sizes, len(xb), rng, rate=c.dropout, input_rate=c.input_dropout)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported just below
            loss, g, logits = forward_backward(params, xb, yb, masks, c.label_smoothing)
        lr = lr_at(epoch + i / total)
        if not np.isfinite(loss):
            raise DivergedError(
                f"the loss became {loss} at epoch {epoch + 1}, batch {i + 1}: the learning rate "
                f"{lr:g} is too large here; try a smaller one, e.g. --lr {lr / 10:g}"
            )
        params, opt_state = step(params, g, opt_state, lr=lr)
        loss_sum += loss * len(xb)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == yb))
        if on_batch is not None:
            on_batch(i + 1, total, loss)
    return params, opt_state, loss_sum / len(x), correct / len(x)


def fit(
    c: Config,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    state: TrainState | None = None,
    *,
    on_batch: BatchCallback | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[TrainState]:
    """Train for `c.epochs` epochs (continuing from `state` if given), yielding the state after each."""
    state = state or init_state(c, x.shape[1], int(max(y.max(), y_val.max(initial=0))) + 1)
    best = max((r.val_accuracy for r in state.history), default=-1.0)
    for epoch in range(state.epoch, c.epochs):
        start = clock()
        params, opt_state, loss, acc = train_epoch(
            state.params,
            state.opt_state,
            x,
            y,
            c=c,
            epoch=epoch,
            rng=rng_for(c.seed, EPOCH, epoch),
            on_batch=on_batch,
        )
        val_loss, val_acc, _ = (
            evaluate(params, x_val, y_val) if len(x_val) else (float("nan"), float("nan"), None)
        )
        record = EpochRecord(
            epoch + 1, make_schedule(c)(epoch), loss, acc, val_loss, val_acc, clock() - start
        )
        best_params = state.best_params
        if c.keep_best and val_acc > best:
            best, best_params = val_acc, params
        state = TrainState(epoch + 1, params, opt_state, (*state.history, record), best_params)
        yield state


def final_params(c: Config, state: TrainState) -> Params:
    """The weights a run delivers: the best validation epoch's with `keep_best`, else the last."""
    return state.best_params if c.keep_best and state.best_params is not None else state.params
