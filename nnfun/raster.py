"""Building blocks on 2-D float images: blur, dilation, borders, bounding box, resampling, fits.

The building blocks of `preprocess.to_mnist`, in pure NumPy (no SciPy): each returns a new array
and never modifies its argument.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatImage = npt.NDArray[np.float32]


def odd(n: int) -> int:
    """The odd number n or n + 1 (at least 1): a window with a middle pixel."""
    return max(1, n | 1)


def box_blur(image: FloatImage, size: int) -> FloatImage:
    """Mean over a size×size window around each pixel (size odd), via running sums."""
    radius = size // 2
    out = image.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius + 1, radius)
        sums = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis)
        n = out.shape[axis]
        out = (sums.take(range(size, size + n), axis=axis) - sums.take(range(n), axis=axis)) / size
    return out.astype(np.float32)


def bbox(mask: npt.NDArray[np.bool_]) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the True pixels, ends exclusive; None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def stroke_width(mask: npt.NDArray[np.bool_]) -> float:
    """Mean stroke width of the True shape, in pixels: 2 × area / perimeter, corrected.

    A stroke of width w and length L has area w·L and perimeter about 2·L.  The perimeter
    is counted along pixel edges, which overcounts a slanted edge by |cos| + |sin| of its
    angle: 4/π on average over all directions, hence the factor π/4.
    """
    padded = np.pad(mask, 1)
    edges = np.count_nonzero(padded[1:] != padded[:-1])
    edges += np.count_nonzero(padded[:, 1:] != padded[:, :-1])
    area = np.count_nonzero(mask)
    return 2.0 * area / (edges * math.pi / 4.0) if edges else 0.0


def max_filter(image: FloatImage, size: int) -> FloatImage:
    """Maximum over a size×size square around each pixel: a grey-level dilation.

    Per axis, the maximum over windows of 1, 2, 4, ... pixels is built by doubling, and a
    window of `size` is the maximum of two overlapping power-of-two windows: O(log size)
    whole-array passes instead of `size`.
    """
    out = image
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (before, after)
        run = np.pad(out, pad)
        width = 1
        while 2 * width <= size:
            m = run.shape[axis]
            run = np.maximum(
                run.take(range(m - width), axis=axis), run.take(range(width, m), axis=axis)
            )
            width *= 2
        out = np.maximum(
            run.take(range(n), axis=axis),
            run.take(range(size - width, size - width + n), axis=axis),
        )
    return out


def area_resample(
    line: npt.NDArray[np.float64], n_out: int, start: float, step: float, axis: int
) -> npt.NDArray[np.float64]:
    """Box-filter `line` along `axis` into `n_out` pixels: each the mean of what it covers.

    Input pixel j covers [j, j+1); output pixel i covers [start + i·step, start + (i+1)·step)
    of the same axis, and gets the mean of the input over that interval (zero outside the
    input).  This is area-averaging, the anti-aliased way to shrink; when enlarging (step
    < 1) it is nearest-pixel with a linear blend where an output pixel straddles two inputs.

    The trick is the running sum: with S(t) the integral of the input from 0 to t (a
    cumulative sum, plus a fraction of the next pixel), an output pixel is just
    (S(end) - S(start)) / step.  One pass over the input, whatever the scale factor.
    """
    n_in = line.shape[axis]
    edges = np.clip(start + step * np.arange(n_out + 1), 0.0, float(n_in))
    whole = np.minimum(np.floor(edges).astype(np.intp), n_in - 1)
    frac = edges - whole  # in [0, 1]; 1 only at the far end, where it takes the last pixel
    total = np.cumsum(line, axis=axis)
    before = np.take(total, whole, axis=axis) - np.take(line, whole, axis=axis)
    shape = [1, 1]
    shape[axis] = n_out + 1
    integral = before + frac.reshape(shape) * np.take(line, whole, axis=axis)
    lo = np.take(integral, np.arange(n_out), axis=axis)
    hi = np.take(integral, np.arange(1, n_out + 1), axis=axis)
    out: npt.NDArray[np.float64] = (hi - lo) / step
    return out


def ring(shape: tuple[int, ...], width: int) -> npt.NDArray[np.bool_]:
    """Mask of the pixels within `width` of the edge (all of them if the image is small)."""
    ring = np.ones(shape[:2], dtype=bool)
    if 2 * width < min(shape[:2]):
        ring[width:-width, width:-width] = False
    return ring


def border(grey: FloatImage, width: int) -> FloatImage:
    """The pixels within `width` of the edge, flattened."""
    border: FloatImage = grey[ring(grey.shape, width)]
    return border


def least_squares(
    design: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Coefficients c minimising |design·c - values|², via the normal equations.

    (AᵀA) c = Aᵀb is a 6×6 system here: tiny, and solved without the multi-threaded BLAS
    calls `np.linalg.lstsq` makes, which cost more than the arithmetic on a busy machine.
    A whisper of ridge regularisation keeps it solvable when the kept pixels all lie on one
    line (the coefficients that line cannot pin down stay near zero).
    """
    gram = np.einsum("ij,ik->jk", design, design)
    rhs = np.einsum("ij,i->j", design, values)
    ridge = 1e-9 * max(float(np.trace(gram)), 1.0)
    coef: npt.NDArray[np.float64] = np.linalg.solve(gram + ridge * np.eye(len(gram)), rhs)
    return coef
