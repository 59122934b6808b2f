"""Using a trained network (or an ensemble): digits and probabilities for one image, a stack, or rows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import checks
from .batching import scale_pixels
from .ensemble import Model, members
from .errors import DataError
from .losses import log_softmax
from .network import forward
from .params import Params, layer_sizes

DIGITS = 10
"""Labels are digits 0-9, so a network has at most ten outputs (one per digit it can tell)."""


def check_fits(model: Model, inputs: int, classes: int | None = None) -> None:
    """DataError unless the network reads `inputs` values per image and has an output per label.

    `classes` is the number of labels the data can hold (its top label + 1); the network needs
    at least that many outputs, and at most `DIGITS`. Eval, predict, resume and training all ask
    this once, before any arithmetic, so a mismatch is one sentence instead of a failed matmul.
    An ensemble's members agree on both (see `members`), so the first one speaks for all.
    """
    sizes = layer_sizes(members(model)[0])
    checks.whole("inputs", inputs)
    if classes is not None:
        checks.whole("classes", classes, 0)
    if sizes[0] != inputs:
        raise DataError(
            f"the model reads images of {_pixels(sizes[0])}, but the data has {_pixels(inputs)}"
        )
    outputs = sizes[-1]
    if outputs > DIGITS:
        raise DataError(f"the model has {outputs} outputs; a digit model has at most {DIGITS}")
    if classes is not None and outputs < classes:
        raise DataError(
            f"the model has {outputs} outputs (digits 0-{outputs - 1}), "
            f"but the data has labels up to {classes - 1}"
        )


def _pixels(n: int) -> str:
    """`784 pixels (28x28)`, or `100 values` when not a square image."""
    side = int(round(n**0.5))
    return f"{n} pixels ({side}x{side})" if side * side == n else f"{n} values"


def as_rows(params: Params, images: npt.ArrayLike) -> np.ndarray:
    """Images as the `(n, inputs)` float rows the network reads.

    Takes one image `(28, 28)`, a stack `(n, 28, 28)` or rows `(n, 784)` (any square size the
    network was trained on). Whole-number pixels (any integer type) must be 0..255 and are
    scaled to [0, 1]; float pixels must already be in [0, 1] (see `checks.pixels`).
    """
    x = checks.pixels("images", images, checks.network(params)[0])
    if x.dtype == np.uint8:
        return scale_pixels(x)
    return x.astype(params["W1"].dtype, copy=False)


def predict_proba(model: Model, images: npt.ArrayLike, batch_size: int = 10_000) -> np.ndarray:
    """Softmax probabilities `(n, classes)`, `softmax(forward(x))`, `batch_size` rows at a time.

    An ensemble's are the mean of its members' probabilities (an ensemble of one: the network's).
    """
    checks.whole("batch_size", batch_size)
    nets = members(model)
    for net in nets:
        checks.finite_network(net, "model")
    rows = checks.pixels("images", images, layer_sizes(nets[0])[0])
    return np.mean([_proba(net, rows, batch_size) for net in nets], axis=0)


def _proba(params: Params, rows: np.ndarray, batch_size: int) -> np.ndarray:
    """One network's probabilities for checked rows (uint8 rows are scaled chunk by chunk, so
    a whole dataset is never copied to floats), `batch_size` rows at a time."""
    classes = layer_sizes(params)[-1]
    chunks = [np.zeros((0, classes), dtype=params["W1"].dtype)]
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        chunk = scale_pixels(chunk) if chunk.dtype == np.uint8 else chunk
        chunks.append(np.exp(log_softmax(forward(params, chunk))))
    return np.concatenate(chunks)


def predict(model: Model, images: npt.ArrayLike) -> np.ndarray:
    """The most probable digit of each image, `argmax_k p(k | x)`, as an int array `(n,)`."""
    return predict_proba(model, images).argmax(axis=1)
