"""Any picture's pixels as one grey channel in [0, 1]: pure NumPy, no I/O.

The first step of `nnfun.preprocess.to_mnist`, and useful on its own: whatever the dtype
(bool, uint8, uint16, other integers, floats) and channels (grey, grey + alpha, RGB, RGBA),
the result is float32 of shape (H, W), converted band by band so that memory follows the grey
result rather than every channel of a large photo in floats.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .errors import NnfunError

FloatImage = npt.NDArray[np.float32]


_LUMA = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights of red, green and blue in perceived brightness (as Pillow's "L")."""


def to_grey(image: npt.ArrayLike) -> FloatImage:
    """Return `image` as one float32 channel of shape (H, W) with values in [0, 1].

    Accepted shapes: (H, W) grey, (H, W, 1) grey, (H, W, 2) grey + alpha, (H, W, 3) RGB,
    (H, W, 4) RGBA.  Accepted values:

    * ``bool``: False is 0, True is 1.
    * ``uint8`` / ``uint16``: divided by 255 / 65535, the full scale of the type.
    * other integer types (e.g. the ``int64`` that ``np.array([[0, 255], ...])`` gives):
      dividing by 2**63 would make any real picture black, so the scale is the smallest of
      255, 65535 or the data's maximum that covers the data.  Negative values become 0.
    * floats: meant to be in [0, 1].  Floats above 1 are taken as a 0-255 image (divided by
      255), or, beyond 255, divided by their maximum.  Negatives and NaN become 0.

    Colour becomes brightness with the BT.601 weights.  Transparency is composited onto a
    background chosen to contrast with what is painted: a drawing of dark strokes on a
    transparent canvas (the usual case) lands on white, light strokes land on black.  Either
    way the strokes stay visible; `to_mnist` then sorts out which one is the ink.
    """
    array = np.asarray(image)
    if array.dtype.kind not in "biuf":
        raise NnfunError(f"an image must hold numbers, not {array.dtype}")
    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        channels = array.shape[2]
    elif array.ndim == 2:
        channels = 1
        array = array[:, :, np.newaxis]
    else:
        raise NnfunError(
            f"an image must have shape (H, W) or (H, W, C) with C = 1-4, not {array.shape}"
        )
    # Band by band, so memory follows the grey result (4 bytes a pixel), not every channel
    # of a 40-megapixel picture in floats at once.
    scale = _unit_scale(array)
    has_alpha = channels in (2, 4)
    grey = np.empty(array.shape[:2], dtype=np.float32)
    weight = painted = 0.0
    for band in _bands(array.shape):
        unit = _to_unit_range(array[band], scale)
        colour = unit[:, :, : channels - 1] if has_alpha else unit
        if colour.shape[2] == 3:
            c = colour
            grey[band] = _LUMA[0] * c[:, :, 0] + _LUMA[1] * c[:, :, 1] + _LUMA[2] * c[:, :, 2]
        else:
            grey[band] = colour[:, :, 0]
        if has_alpha:
            alpha = unit[:, :, channels - 1]
            weight += float(alpha.sum(dtype=np.float64))
            painted += float((grey[band] * alpha).sum(dtype=np.float64))
    if has_alpha:
        background = _background_for(painted / weight if weight > 0 else 0.0)
        for band in _bands(array.shape):
            alpha = _to_unit_range(array[band, :, channels - 1 :], scale)[:, :, 0]
            grey[band] = alpha * grey[band] + (1.0 - alpha) * background
    result: FloatImage = np.clip(grey, 0.0, 1.0, out=grey)
    return result


BAND_PIXELS = 1 << 20
"""`to_grey` converts this many pixels at a time (a few MB of floats), whatever the picture."""


def _bands(shape: tuple[int, ...]) -> list[slice]:
    """Row ranges of about `BAND_PIXELS` pixels covering an image of `shape`."""
    rows = max(1, BAND_PIXELS // max(shape[1], 1))
    return [slice(top, top + rows) for top in range(0, shape[0], rows)]


def _unit_scale(array: npt.NDArray[np.generic]) -> float:
    """What to divide by to bring `array` to [0, 1] (see `to_grey` for the rules); one pass."""
    if array.dtype.kind == "b" or not array.size:
        return 1.0
    if array.dtype == np.uint8:
        return 255.0
    if array.dtype == np.uint16:
        return 65535.0
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        top = float(array.max(where=finite, initial=0.0))
        return 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else top
    top = int(array.max())
    return float(next((s for s in (255, 65535) if top <= s), max(top, 1)))


def _to_unit_range(array: npt.NDArray[np.generic], scale: float) -> npt.NDArray[np.float32]:
    """`array / scale` as float32 in [0, 1]; NaN becomes 0, +inf 1, -inf 0."""
    if array.dtype.kind == "f":
        values = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=scale, neginf=0.0)
    else:
        values = array.astype(np.float64)
    return np.clip(values / scale, 0.0, 1.0).astype(np.float32)


def _background_for(painted: float) -> float:
    """Where transparency goes: dark paint (the usual pen on a transparent canvas) onto white,
    light paint onto black, judged by the alpha-weighted mean brightness `painted`.  A fully
    opaque image is unchanged; a fully transparent one becomes plain white (blank)."""
    return 0.0 if painted > 0.5 else 1.0
