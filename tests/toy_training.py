"""Small training runs for the tests of the loop: blobs of pixels, a tiny recipe, a fake clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

import nnfun as nf

CONFIG = nf.Config(hidden=(32, 16), epochs=4, batch_size=32, lr=0.05, milestones=(3,), val_size=0)


def fake_clock() -> Callable[[], float]:
    """A clock that ticks one second per reading, so `seconds` in a history is reproducible."""
    ticks = itertools.count()
    return lambda: float(next(ticks))


def blobs(noise: float) -> tuple[np.ndarray, ...]:
    """A Gaussian blob per class in 36 dimensions (6x6 images) as uint8 'pixels', `noise` its
    spread: `(x, y, x_val, y_val)` with 700 images to train on and 200 to validate on."""
    rng = np.random.default_rng(0)
    centres = rng.integers(40, 216, (10, 36))
    y = rng.integers(0, 10, 900)
    x = np.clip(centres[y] + rng.normal(0, noise, (900, 36)), 0, 255).astype(np.uint8)
    return x[:700], y[:700], x[700:], y[700:]


def run(
    config: nf.Config, data: tuple[np.ndarray, ...], state: nf.TrainState | None = None
) -> nf.TrainState:
    """The last state of `config` trained on `data` (continuing `state` if given)."""
    *_, last = nf.recipes.fit_config(config, *data, start=state, clock=fake_clock())
    return last
