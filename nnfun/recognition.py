"""Read the digit in one user's picture: MNIST-style preprocessing, then the network's answer.

This is the one path from a picture to a prediction; `nnfun predict` and `nnfun serve` both
take it.  A blank picture has no digit in it, and the network would still name one (its
softmax always sums to 1), so blankness is checked before the network is asked.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from . import checks
from .ensemble import Model, members
from .errors import ModelError, NnfunError
from .grey import FloatImage, to_grey
from .inference import predict_proba
from .preprocess import has_ink, to_mnist


class Reading(NamedTuple):
    """What the network made of a picture.

    `seen` is the 28×28 image it was shown (floats in [0, 1], white ink on black);
    `digit` and `probabilities` (shape (10,)) are None when `seen` holds no ink.
    """

    seen: FloatImage
    digit: int | None
    probabilities: npt.NDArray[np.floating] | None


def read_digit(model: Model, picture: npt.ArrayLike, *, raw: bool = False) -> Reading:
    """The digit in `picture` (any size, grey or colour; see `to_mnist`), or no digit if blank.

    `raw=True` skips the preprocessing for input that is already a 28×28 MNIST-style image.
    Blank means `has_ink(seen)` is False: nothing was written. `model` may be an ensemble.
    """
    inputs = checks.network(members(model)[0], "model")[0]
    if inputs != 28 * 28:
        raise ModelError(
            f"model: read_digit needs a model of 28x28 (784) inputs; it reads {inputs}"
        )
    seen = _as_network_input(picture, checks.flag("raw", raw))
    if not has_ink(seen):
        return Reading(seen, None, None)
    probs = predict_proba(model, seen.reshape(1, -1))[0]
    return Reading(seen, int(np.argmax(probs)), probs)


def _as_network_input(picture: npt.ArrayLike, raw: bool) -> FloatImage:
    """28×28 floats in [0, 1]: MNIST-style preprocessing unless `raw`."""
    if not raw:
        return to_mnist(picture)
    grey = to_grey(picture)
    if grey.size != 784:
        raise NnfunError(
            f"raw input must be a 28x28 (784-pixel) image, got shape {np.shape(picture)}"
        )
    return grey.reshape(28, 28)
