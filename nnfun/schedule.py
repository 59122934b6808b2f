"""Learning-rate schedules: plain functions `t -> lr` of the (fractional) epoch `t`, starting at 0.

The training loop asks for `schedule(epoch + batch / batches)`, so step-wise schedules change at
epoch boundaries and smooth ones change every batch. Anyone can write their own in one line:
`lambda t: 0.1 / (1 + t)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from . import checks, scalars
from .errors import ConfigError

Schedule = Callable[[float], float]


def constant(lr: float) -> Schedule:
    """`lr(t) = lr`."""
    lr = checks.number("lr", lr, 0.0)

    @scalars.checked
    def rate(t: float) -> float:
        return lr

    return rate


def step_decay(lr: float, milestones: Sequence[int] = (30, 50, 65), gamma: float = 0.1) -> Schedule:
    """`lr(t) = lr * gamma^(number of milestones <= t)`: epochs 0-29 at lr, 30-49 at lr/10, ..."""
    lr = checks.number("lr", lr, 0.0)
    gamma = checks.number("gamma", gamma, 0.0)
    if isinstance(milestones, str | bytes) or not isinstance(milestones, Sequence):
        raise ConfigError(f"milestones must be a list of epochs, got {checks.show(milestones)}")
    points = tuple(sorted(checks.number("milestones", m, 0.0) for m in milestones))

    @scalars.checked
    def rate(t: float) -> float:
        return lr * gamma ** sum(t >= m for m in points)

    return rate


def cosine(lr: float, epochs: float, final_lr: float = 0.0) -> Schedule:
    """`lr(t) = final + (lr - final) (1 + cos(pi t / epochs)) / 2`: a half cosine from lr down to final."""
    lr = checks.number("lr", lr, 0.0)
    epochs = checks.number("epochs", epochs, 0.0, above=True)
    final_lr = checks.number("final_lr", final_lr, 0.0)

    @scalars.checked
    def rate(t: float) -> float:
        return final_lr + (lr - final_lr) * (1 + math.cos(math.pi * min(t, epochs) / epochs)) / 2

    return rate


def warmup(schedule: Schedule, epochs: float, start: float = 0.01) -> Schedule:
    """Linear warm-up: `lr(t) = schedule(t) * (start + (1 - start) * min(1, t / epochs))`.

    Starting small lets momentum and Adam's statistics settle before the full step size; `start`
    keeps the very first step from being zero.
    """
    schedule = checks.checked_schedule(schedule)
    epochs = checks.number("epochs", epochs, 0.0)
    start = checks.number("start", start, 0.0, 1.0)
    if epochs == 0:
        return schedule

    @scalars.checked
    def rate(t: float) -> float:
        return schedule(t) * (start + (1 - start) * min(1.0, max(t, 0.0) / epochs))

    return rate


def one_cycle(
    max_lr: float, epochs: float, peak: float = 0.3, div: float = 25.0, final_div: float = 1e4
) -> Schedule:
    """One-cycle (Smith, 2018), cosine variant as in PyTorch's OneCycleLR.

    Rises from `max_lr / div` to `max_lr` over the first `peak` of the epochs, then falls to
    `max_lr / (div * final_div)` by the end.
    """
    max_lr = checks.number("max_lr", max_lr, 0.0)
    epochs = checks.number("epochs", epochs, 0.0, above=True)
    div = checks.number("div", div, 0.0, above=True)
    final_div = checks.number("final_div", final_div, 0.0, above=True)
    peak = checks.number("peak", peak, 0.0, 1.0, above=True, below=True)
    start, top = max_lr / div, peak * epochs
    end = start / final_div

    @scalars.checked
    def lr(t: float) -> float:
        if t < top:
            return start + (max_lr - start) * (1 - math.cos(math.pi * t / top)) / 2
        frac = min((t - top) / (epochs - top), 1.0)
        return end + (max_lr - end) * (1 + math.cos(math.pi * frac)) / 2

    return lr
