"""The training loop, composed from the public pieces: batches -> grads -> optimizer step, per epoch.

`fit` takes its parts as values (an optimizer, a schedule, a `Regularisation`) and is a
generator that yields a `TrainState` after every epoch, so the caller decides what to print, plot
or save; the loop itself knows nothing about files or terminals. Randomness is keyed on
`(seed, purpose, epoch)`, so epoch `e` draws the same numbers whether or not the run was resumed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import checks
from .averaging import average_of
from .batching import SCALE, Ahead, batches, num_batches, shuffle
from .errors import ConfigError, DataError, DivergedError
from .inference import check_fits
from .metrics import evaluate
from .network import dropout_masks, forward_backward, forward_backward_rows
from .optim import Optimizer, OptState
from .params import Params, layer_sizes
from .regularisation import Regularisation
from .schedule import Schedule

# What each random stream is for: rng_for(seed, INIT) draws the initial weights, and so on.
INIT, SPLIT, EPOCH = 0, 1, 2


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent generator for one purpose, e.g. `rng_for(seed, EPOCH, 7)` for epoch 7."""
    checks.whole("seed", seed, 0)
    for k in key:
        checks.whole("key", k, 0)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


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
    """Everything needed to continue a run: `epoch` epochs are done.

    `best_params` holds the weights of the best validation epoch when `fit(keep_best=True)`.
    An optimizer made by `with_average` keeps the weights' moving average in `opt_state`.
    """

    epoch: int
    params: Params
    opt_state: OptState
    history: tuple[EpochRecord, ...] = ()
    best_params: Params | None = field(default=None)


BatchCallback = Callable[[int, int, float], None]


def train_epoch(
    params: Params,
    opt_state: OptState,
    x: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Optimizer,
    schedule: Schedule,
    batch_size: int,
    epoch: int,
    rng: np.random.Generator,
    regularisation: Regularisation = Regularisation(),
    on_batch: BatchCallback | None = None,
) -> tuple[Params, OptState, float, float]:
    """One pass over shuffled data; returns the new params and state, mean loss and accuracy.

    Batch `i` of `total` steps with `lr = schedule(epoch + i / total)`. `x` may be uint8 pixels
    (scaled to [0, 1] batch by batch, which keeps memory small) or floats in [0, 1]. Raises
    DivergedError as soon as the loss is not finite. (`fit` checks its data once and then
    runs its epochs without these checks.)
    """
    x = _check_epoch(params, opt_state, x, y, optimizer, batch_size, epoch, rng, regularisation)
    if on_batch is not None:
        checks.function("on_batch", on_batch, "a function (batch, batches, loss)")
    return _epoch(
        params,
        opt_state,
        x,
        y,
        optimizer=optimizer,
        schedule=checks.checked_schedule(schedule),
        batch_size=batch_size,
        epoch=epoch,
        rng=rng,
        regularisation=regularisation,
        on_batch=on_batch,
    )


def _epoch(
    params: Params,
    opt_state: OptState,
    x: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Optimizer,
    schedule: Schedule,
    batch_size: int,
    epoch: int,
    rng: np.random.Generator,
    regularisation: Regularisation = Regularisation(),
    on_batch: BatchCallback | None = None,
) -> tuple[Params, OptState, float, float]:
    """`train_epoch` on arguments already checked: the loop itself pays for no checks."""
    sizes, total = layer_sizes(params), num_batches(len(x), batch_size)
    x, y = shuffle(x, y, rng)
    prepared = _prepared(x, y, batch_size, sizes, rng, regularisation)
    threaded = regularisation.augments is not None  # ~1 ms a batch: worth a second core
    # An optimizer that takes RowSparse gradients gets only the rows of dW1 the batch reaches.
    backprop = forward_backward_rows if optimizer.takes_rows else forward_backward
    loss_sum, correct, i = 0.0, 0, 0
    with Ahead(prepared, threaded=threaded) as ahead:
        while (batch := ahead.take()) is not None:
            xb, yb, masks = batch
            with np.errstate(over="ignore", invalid="ignore"):  # a divergence is reported below
                loss, g, logits = backprop(params, xb, yb, masks, regularisation.label_smoothing)
            lr = schedule(epoch + i / total)
            if not np.isfinite(loss):
                raise DivergedError(
                    f"the loss became {loss} at epoch {epoch + 1}, batch {i + 1} "
                    f"(learning rate {lr:g})",
                    lr=lr,
                )
            ahead.ask()  # the next batch is made while the update below runs on one core
            params, opt_state = optimizer.step(params, g, opt_state, lr=lr)  # type: ignore[arg-type]
            loss_sum += loss * len(xb)
            correct += int(np.count_nonzero(logits.argmax(axis=1) == yb))
            i += 1
            if on_batch is not None:
                on_batch(i, total, loss)
    return params, opt_state, loss_sum / len(x), correct / len(x)


def _prepared(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    sizes: Sequence[int],
    rng: np.random.Generator,
    reg: Regularisation,
) -> Iterator[tuple[np.ndarray, np.ndarray, list[np.ndarray | None]]]:
    """Each batch as the network gets it: pixels scaled, augmented, and its dropout masks.

    None of it depends on the weights. The random draws come in a fixed order, batch by batch:
    the augmentation's, then the masks'.
    """
    augmentation = reg.augments
    for xb, yb in batches(x, y, batch_size):
        xb = np.multiply(xb, SCALE, dtype=np.float32) if xb.dtype == np.uint8 else xb
        if augmentation is not None:
            xb = augmentation(xb, rng)
        masks = dropout_masks(sizes, len(xb), rng, rate=reg.dropout, input_rate=reg.input_dropout)
        yield xb, yb, masks


def _check_epoch(
    params: Params,
    opt_state: OptState,
    x: np.ndarray,
    y: np.ndarray,
    optimizer: Optimizer,
    batch_size: int,
    epoch: int,
    rng: np.random.Generator,
    regularisation: Regularisation,
) -> np.ndarray:
    """`train_epoch`'s arguments, checked: the images come back as rows of pixels."""
    sizes = checks.finite_network(params)
    checks.arrays("opt_state", opt_state)
    x = checks.pixels("x", x, sizes[0])
    if not len(x):
        raise DataError("x holds no images")
    checks.labels("y", y, len(x), sizes[-1])
    checks.optimizer_type(optimizer)
    checks.whole("batch_size", batch_size)
    checks.whole("epoch", epoch, 0)
    checks.generator("rng", rng)
    _checked_regularisation(regularisation)
    return x


def _checked_regularisation(reg: Any) -> Regularisation:
    """`reg` is a `Regularisation` (its fields were checked when it was made)."""
    if not isinstance(reg, Regularisation):
        hint = " (write Regularisation(dropout=..., ...))" if isinstance(reg, Mapping) else ""
        raise ConfigError(
            f"regularisation must be a Regularisation, got {checks.show(reg)}{hint}",
            setting="regularisation",
        )
    return reg


def _check_fit(
    params: Params,
    epochs: int,
    batch_size: int,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Everything `fit` is given, checked once: the data comes back as rows of pixels."""
    sizes = checks.finite_network(params, "start")
    checks.whole("epochs", epochs)
    checks.whole("batch_size", batch_size)
    x = checks.pixels("x", x, sizes[0])
    x_val = checks.pixels("x_val", x_val, sizes[0])
    if not len(x):
        raise DataError("x holds no images: fit needs at least one")
    y = checks.labels("y", y, len(x))
    y_val = checks.labels("y_val", y_val, len(x_val), of="x_val")
    check_fits(params, x.shape[1], int(y.max()) + 1)
    checks.labels("y_val", y_val, len(x_val), sizes[-1], of="x_val")
    return x, y, x_val, y_val


BLOWN_UP = 3.0
"""An epoch whose mean loss is this many times an untrained network's `ln(classes)` diverged."""
STUCK_EPOCHS = 3
"""Epochs in a row at chance level (loss ~ ln(classes), accuracy ~ 1/classes) that mean a dead run,"""
STUCK_STEPS = 1000
"""once it has taken this many steps: a tiny dataset's first few steps prove nothing."""


def divergence(
    history: Sequence[EpochRecord], classes: int, steps_per_epoch: int = STUCK_STEPS
) -> str | None:
    """Why the run is lost after its last epoch, or None while it is learning.

    An untrained network guesses: its loss is about `ln(classes)` (2.30 for digits) and its
    accuracy `1/classes`. A loss far above that has blown up, even while finite (a learning
    rate of 1e6 reaches 1e19 with clipping on); a loss that stays at `ln(classes)` with chance
    accuracy for `STUCK_EPOCHS` epochs and `STUCK_STEPS` steps means dead units that will not
    recover.
    """
    if classes < 2:
        return None  # one class: nothing to learn, nothing to lose
    chance = math.log(classes)
    last = history[-1]
    if not math.isfinite(last.train_loss) or last.train_loss > BLOWN_UP * chance:
        return (
            f"the mean training loss of epoch {last.epoch} is {last.train_loss:.3g}, far above "
            f"the {chance:.2f} of an untrained network"
        )
    recent = history[-STUCK_EPOCHS:]
    stuck = len(recent) == STUCK_EPOCHS and last.epoch * steps_per_epoch >= STUCK_STEPS
    if stuck and all(
        r.train_accuracy <= 1.5 / classes and r.train_loss >= 0.95 * chance for r in recent
    ):
        return (
            f"training is stuck at chance level: accuracy {last.train_accuracy:.1%} and loss "
            f"{last.train_loss:.2f} (an untrained network's) for {STUCK_EPOCHS} epochs "
            f"up to epoch {last.epoch}"
        )
    return None


def fit(
    start: Params | TrainState,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    optimizer: Optimizer,
    schedule: Schedule,
    epochs: int,
    batch_size: int = 128,
    seed: int = 0,
    regularisation: Regularisation = Regularisation(),
    keep_best: bool = False,
    on_batch: BatchCallback | None = None,
    clock: Callable[[], float] = time.perf_counter,
    stop_diverged: bool = True,
) -> Iterator[TrainState]:
    """Train up to `epochs` epochs from `start`, yielding the state after each one.

    `start` is a network (a fresh run: `optimizer.init` makes its state) or a `TrainState` (a
    resumed run continues at `start.epoch`). Epoch `e` shuffles, augments and drops out (as
    `regularisation` asks; none by default) with `rng_for(seed, EPOCH, e)`; the learning rate of each step is `schedule(fractional epoch)`.
    An optimizer that averages the weights (`with_average`) has its averaged weights validated,
    kept as the best and delivered instead of the raw ones.
    With `keep_best`, `best_params` follows the best validation accuracy (see `final_params`).
    An empty validation set is allowed: its loss and accuracy are NaN. DivergedError stops a
    run whose loss is not finite or that `divergence` finds lost (unless `stop_diverged=False`),
    before the state of that epoch is yielded.
    """
    params = start.params if isinstance(start, TrainState) else start
    x, y, x_val, y_val = _check_fit(params, epochs, batch_size, x, y, x_val, y_val)
    checks.whole("seed", seed, 0)
    keep_best, stop_diverged = (
        checks.flag("keep_best", keep_best),
        checks.flag("stop_diverged", stop_diverged),
    )
    for name, fn in (("on_batch", on_batch), ("clock", clock)):
        if fn is not None:
            checks.function(name, fn, "a function")
    checks.optimizer(optimizer, params)
    schedule = checks.checked_schedule(schedule)
    reg = _checked_regularisation(regularisation)
    if reg.augments is not None:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ConfigError(
                f"augmentation moves square images; these have {x.shape[1]} pixels each",
                setting="augmentation",
            )
    state = start if isinstance(start, TrainState) else TrainState(0, start, optimizer.init(start))
    classes = layer_sizes(state.params)[-1]
    best = max((r.val_accuracy for r in state.history), default=-1.0)
    for epoch in range(state.epoch, epochs):
        began = clock()
        params, opt_state, loss, acc = _epoch(
            state.params,
            state.opt_state,
            x,
            y,
            optimizer=optimizer,
            schedule=schedule,
            batch_size=batch_size,
            epoch=epoch,
            rng=rng_for(seed, EPOCH, epoch),
            regularisation=reg,
            on_batch=on_batch,
        )
        weights = _delivered(params, opt_state)
        val_loss, val_acc = (
            evaluate(weights, x_val, y_val)[:2] if len(x_val) else (math.nan, math.nan)
        )
        record = EpochRecord(
            epoch + 1, schedule(epoch), loss, acc, val_loss, val_acc, clock() - began
        )
        history = (*state.history, record)
        steps = num_batches(len(x), batch_size)
        problem = divergence(history, classes, steps) if stop_diverged else None
        if problem is not None:
            raise DivergedError(problem, lr=record.lr)
        best_params = state.best_params
        if keep_best and val_acc > best:
            best, best_params = val_acc, weights
        state = TrainState(epoch + 1, params, opt_state, history, best_params)
        yield state


def _delivered(params: Params, opt_state: OptState) -> Params:
    """The weights to validate and deliver: the optimizer's average if it keeps one, else `params`."""
    average = average_of(opt_state)
    return params if average is None else average


def final_params(state: TrainState) -> Params:
    """The weights a run delivers: the best validation epoch's if it kept them, else the last
    (averaged, if the optimizer keeps an average)."""
    if not isinstance(state, TrainState):
        raise TypeError(f"state must be a TrainState (what fit yields), got {checks.show(state)}")
    if state.best_params is not None:
        return state.best_params
    return _delivered(state.params, state.opt_state)
