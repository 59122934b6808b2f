"""Before a run starts: will this recipe train on this data, on this machine?

Everything that would stop a run is found here, before any file is written: a validation split
that leaves nothing to train on, test labels the network has no output for, a saved state that
does not fit the data, and a network too big for a model file or for the machine's memory.
"""

from __future__ import annotations

import math
import os

from ..errors import ConfigError, DataError
from ..inference import check_fits
from ..recipes import Config
from ..recipes.builders import build_augmentation
from ..train import TrainState
from .datasets import Dataset
from .models import MAX_MODEL_BYTES


def training_bytes(c: Config, inputs: int, classes: int, rows: int) -> int:
    """Rough peak memory of training this config on `rows` images of `inputs` values.

    float32 weights times the copies a step holds (weights, gradients, new weights, optimizer
    state, best weights, averaged weights), the float64 draw of the largest layer at initialisation, and the
    activations of a batch forward and backward (and of a 10,000-image evaluation chunk).
    """
    sizes = (inputs, *c.hidden, classes)
    layers = list(zip(sizes[:-1], sizes[1:], strict=True))
    weights = sum(a * b + b for a, b in layers)
    copies = 3 + (1 if c.optimizer in ("sgd", "nesterov") else 2) + int(c.keep_best)
    copies += 2 if c.ema_decay else 0  # the average, and its new copy during a step
    rows_at_once = max(min(c.batch_size, rows), min(10_000, rows))
    activations = rows_at_once * sum(sizes) * 4 * 4  # z, relu(z), dropout mask, backward delta
    return 4 * weights * copies + 8 * max(a * b for a, b in layers) + activations


def check_trainable(
    config: Config, data: Dataset, start: TrainState | None = None, memory: int | None = None
) -> None:
    """Everything that would stop `config` training on `data`, found before any file is written.

    The validation split must leave training images; every test label must occur in the
    training file (the network gets one output per label it trains on); a saved `start` must
    read the data's images and have an output per label; and the network must
    fit: its model file under the size nnfun reads back, its training in `memory` bytes (by
    default this machine's).
    """
    n = len(data.train_x)
    if config.val_size >= n:
        raise ConfigError(
            f"val_size {config.val_size} leaves no training images (the set has {n:,})",
            setting="val_size",
        )
    top, test_top = int(data.train_y.max()), int(data.test_y.max())
    if test_top > top:
        raise DataError(
            f"the test set has label {test_top}, but the training images stop at {top}: "
            f"the network would have no output for it"
        )
    pixels = data.train_x.shape[1]
    augmentation = build_augmentation(config)
    if augmentation is not None and augmentation.active and math.isqrt(pixels) ** 2 != pixels:
        raise ConfigError(
            f"augmentation moves square images; these have {pixels} pixels each",
            setting="shift",
        )
    if start is not None:
        check_fits(start.params, data.train_x.shape[1], top + 1)
    sizes = (data.train_x.shape[1], *config.hidden, top + 1)
    network = "-".join(map(str, sizes))
    weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if 4 * weights > MAX_MODEL_BYTES:
        raise ConfigError(
            f"a {network} network has {weights:,} weights ({_size(4 * weights)} as float32), "
            f"more than the {_size(MAX_MODEL_BYTES)} a model file may hold; choose smaller hidden sizes",
            setting="hidden",
        )
    need = training_bytes(config, sizes[0], sizes[-1], n - config.val_size)
    memory = memory or _memory()
    if memory and need > 0.8 * memory:
        raise ConfigError(
            f"training a {network} network with batches of {config.batch_size} needs about "
            f"{_size(need)} of memory, more than this machine's {_size(memory)}; "
            "choose smaller hidden sizes or batches",
            setting="hidden",
        )


def _memory() -> int | None:
    """This machine's physical memory in bytes, where the OS says (POSIX)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _size(n: float) -> str:
    """`1.6 GB`: bytes for people."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:,.0f} TB"
