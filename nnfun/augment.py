"""Data augmentation for batches of MNIST images: random affine maps and elastic distortions.

Every function is pure: it returns a new float32 array of the input's shape `(n, 784)` and
never mutates its arguments; randomness comes only from the `rng` passed in.

Geometry. A pixel `(r, c)` has row `r` (growing downwards) and column `c` (growing to the
right); the centre of a 28x28 image is `(13.5, 13.5)`. Each output pixel `p` *pulls* its value
from a source point `q = A^-1 (p - t) + d(p)` of the input, by bilinear interpolation, with 0
outside the image (backward warping, so there are no holes). Here `A = s R(theta)` acts about
the centre, `t` is the translation and `d` an optional displacement field. In words:

- a positive `shift_rows` moves the content *down*, a positive `shift_cols` to the *right*;
- a positive `angle` (degrees) turns the content *counter-clockwise* as seen on screen,
  so `angle=90` equals `np.rot90(image)`;
- a `scale` above 1 *enlarges* the content.

Affine map and elastic field are summed into one displacement and resampled once, so a
composed augmentation blurs the image no more than a single one (Simard et al. 2003).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnfun import backend, checks
from nnfun.errors import ConfigError

F32 = NDArray[np.float32]

__all__ = ["Augmentation", "affine", "augment", "bilinear_sample", "elastic", "warp"]


def _side(x: NDArray[np.floating]) -> int:
    """Side length of the square images in a batch of shape (n, side*side)."""
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "biuf":
        raise ValueError(f"x must be a NumPy array of images (n, 784), got {checks.show(x)}")
    if x.ndim != 2:
        raise ValueError(f"expected a batch of flattened images (n, 784), got shape {x.shape}")
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ValueError(f"images of {x.shape[1]} pixels are not square")
    return side


@functools.lru_cache(maxsize=4)
def _centred(side: int) -> F32:
    """Pixel coordinates relative to the image centre: 0..side-1 minus (side-1)/2 (read-only)."""
    grid = np.arange(side, dtype=np.float32) - np.float32((side - 1) / 2)
    grid.flags.writeable = False
    return grid


@functools.lru_cache(maxsize=8)
def _blur_matrix(sigma: float, side: int) -> F32:
    """Matrix G with (G @ u) = u convolved with a normalised Gaussian of std `sigma` (read-only).

    G[i, j] = w(j - i) with w the Gaussian weights summed to 1 over |k| <= 4 sigma; values
    beyond the border count as 0 (as for `mode="constant"` filters), which damps the
    displacement near the edge instead of smearing strokes into the corners. G is symmetric,
    so blurring an image `u` along both axes is `G @ u @ G`. sigma = 0 gives the identity.
    """
    if sigma == 0:
        eye = np.eye(side, dtype=np.float32)
        eye.flags.writeable = False
        return eye
    radius = math.ceil(4 * sigma)  # the weights beyond 4 sigma are < 3.4e-4 of the peak
    offsets = np.arange(-radius, radius + 1)
    with np.errstate(over="ignore"):  # a tiny sigma: every weight but the centre's is 0
        weights = np.exp(-0.5 * (offsets / sigma) ** 2)  # float64 here: a one-off constant
    weights /= weights.sum()
    distance = np.abs(np.arange(side)[None, :] - np.arange(side)[:, None])
    blur = np.where(distance <= radius, weights[np.minimum(distance, radius) + radius], 0.0)
    blur = blur.astype(np.float32)
    blur.flags.writeable = False
    return blur


def bilinear_sample(images: F32, rows: F32, cols: F32) -> F32:
    """Sample each image `k` at the points `(rows[k], cols[k])`, bilinearly, 0 outside.

    With r0 = floor(r), fr = r - r0 (likewise c0, fc) the value is the lerp
    `(1-fr) * ((1-fc) v[r0,c0] + fc v[r0,c0+1]) + fr * ((1-fc) v[r0+1,c0] + fc v[r0+1,c0+1])`.
    `images` is (n, h, w); `rows`, `cols` are float32 (n, h', w'); returns float32 (n, h', w').
    Integer coordinates reproduce the pixels exactly.
    """
    _, h, w = images.shape
    r = np.clip(rows, -1, h).astype(np.float32, copy=False)  # new arrays, ours to overwrite
    c = np.clip(cols, -1, w).astype(np.float32, copy=False)
    return _sample_clipped(images, r, c)


def _sample_clipped(images: F32, r: F32, c: F32) -> F32:
    """`bilinear_sample` for coordinates already clipped to [-1, h] x [-1, w]; consumes r, c.

    A zero border (1 before, 2 after) turns every neighbour of a clipped point into a valid
    index that reads 0 outside the image, and clipping to [-1, h] changes no interpolated
    value. Work happens in place: fresh pages cost more than the arithmetic at this size.
    """
    n, h, w = images.shape
    hp, wp = h + 3, w + 3
    padded = np.zeros((n, hp, wp), dtype=np.float32)
    padded[:, 1 : h + 1, 1 : w + 1] = images
    flat = padded.ravel()
    r0 = np.floor(r)
    c0 = np.floor(c)
    r -= r0  # fractional parts fr, fc
    c -= c0
    r0 *= wp
    r0 += c0  # r0*wp + c0 < hp*wp: an exact integer in float32
    index = r0.astype(np.intp)
    index += (np.arange(n, dtype=np.intp) * (hp * wp) + (wp + 1))[:, None, None]
    # Shifted views of `flat` read the right, lower and lower-right neighbours; mode="clip"
    # (a no-op here, all indices are valid) lets np.take write straight into `out`.
    top: F32 = np.take(flat, index, mode="clip")
    tmp = np.take(flat[1:], index, out=c0, mode="clip")
    tmp -= top
    tmp *= c
    top += tmp  # lerp along the row: top + fc * (top_right - top)
    bottom = np.take(flat[wp:], index, out=r0, mode="clip")
    tmp = np.take(flat[wp + 1 :], index, out=c0, mode="clip")
    tmp -= bottom
    tmp *= c
    bottom += tmp
    bottom -= top
    bottom *= r
    top += bottom  # lerp along the column: top + fr * (bottom - top)
    return top


def warp(
    x: NDArray[np.floating],
    *,
    shift_rows: ArrayLike = 0.0,
    shift_cols: ArrayLike = 0.0,
    angle: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    disp_rows: F32 | None = None,
    disp_cols: F32 | None = None,
) -> F32:
    """Deterministic warp of a batch (n, 784) with explicit per-image parameters.

    Parameters are scalars or arrays of shape (n,): translation in pixels, rotation in degrees
    (counter-clockwise), scale factor (> 1 enlarges); `disp_*` are optional (n, 28, 28)
    displacement fields in pixels, added to the source coordinates `q = A^-1 (p - t) + d(p)`.
    """
    side = _side(x)
    n = x.shape[0]
    images = np.asarray(x, dtype=np.float32).reshape(n, side, side)

    def per_image(value: ArrayLike) -> F32:
        return np.broadcast_to(np.asarray(value, dtype=np.float32), (n,))

    factor = per_image(scale)
    if not np.all(factor > 0):
        raise ConfigError("warp scale factors must be positive")
    theta = np.deg2rad(per_image(angle))
    inv_scale = np.float32(1) / factor
    cos = (np.cos(theta) * inv_scale)[:, None]  # A^-1 = R(-theta) / s = [[cos, -sin], [sin, cos]]
    sin = (np.sin(theta) * inv_scale)[:, None]
    centre = np.float32((side - 1) / 2)
    grid = _centred(side)
    col_t = grid - per_image(shift_cols)[:, None]  # (n, side): p - t along each axis
    row_t = grid - per_image(shift_rows)[:, None]
    # q_col = cos*(x - tx) - sin*(y - ty); q_row = sin*(x - tx) + cos*(y - ty); x: col, y: row
    col_a, row_b = cos * col_t + centre, sin * row_t
    col_c, row_d = sin * col_t + centre, cos * row_t
    fused = _fused_warp(images, (col_a, row_b, col_c, row_d), disp_rows, disp_cols)
    if fused is not None:
        return fused
    src_cols = col_a[:, None, :] - row_b[:, :, None]
    src_rows = col_c[:, None, :] + row_d[:, :, None]
    if disp_rows is not None:
        src_rows += disp_rows
    if disp_cols is not None:
        src_cols += disp_cols
    np.clip(src_rows, -1, side, out=src_rows)
    np.clip(src_cols, -1, side, out=src_cols)
    return _sample_clipped(images, src_rows, src_cols).reshape(n, side * side)


def _fused_warp(
    images: F32, parts: tuple[F32, ...], disp_rows: F32 | None, disp_cols: F32 | None
) -> F32 | None:
    """`warp`'s resampling by the compiled kernel, the same arithmetic in one pass per image;
    None where there is no kernel or the displacement is not a pair of float32 fields."""
    fast = backend.kernels()
    fields = [d for d in (disp_rows, disp_cols) if d is not None]
    if fast is None or len(fields) == 1:
        return None
    if any(d.dtype != np.float32 or d.shape != images.shape for d in fields):
        return None
    n, side, _ = images.shape
    out = np.empty((n, side * side), dtype=np.float32)
    none = np.zeros((1, 1, 1), dtype=np.float32)
    disp = fields if fields else [none, none]
    fast.warp_images(images, *parts, *disp, bool(fields), out)
    return out


def _elastic_fields(
    rng: np.random.Generator, n: int, side: int, alpha: float, sigma: float
) -> tuple[F32, F32]:
    """Two smooth random fields alpha * G u G with u uniform in [-1, 1], each (n, side, side).

    `G @ u @ G` is a stack of 28x28 matrix products: NumPy hands each to BLAS, and one so small
    runs on a single thread. (A single (28, 28) @ (28, 2n*28) product is multi-threaded by
    OpenBLAS and stalls for milliseconds whenever another process holds a core.)
    """
    blur = _blur_matrix(sigma, side)
    noise = rng.random((2, n, side, side), dtype=np.float32)
    noise *= 2
    noise -= 1  # U[-1, 1)
    smooth = np.matmul(blur @ noise, blur * np.float32(alpha), out=noise)
    return smooth[0], smooth[1]


def _check(name: str, value: float, upper: float = math.inf) -> float:
    """Return `value` as a Python float if 0 <= value < upper, else raise ConfigError."""
    # A Python float: a NumPy float64 scalar would upcast float32 arrays; a float does not.
    return checks.number(f"augmentation {name}", value, 0.0, upper, below=True)


def augment(
    x: NDArray[np.floating],
    rng: np.random.Generator,
    *,
    shift: float = 0.0,
    rotate: float = 0.0,
    scale: float = 0.0,
    elastic_alpha: float = 0.0,
    elastic_sigma: float = 4.0,
) -> F32:
    """Random affine map plus elastic distortion of each image, resampled once.

    Per image: shift ~ U[-shift, shift] px on each axis, angle ~ U[-rotate, rotate] degrees,
    scale factor ~ U[1 - scale, 1 + scale]; elastic displacement alpha * (G_sigma * U[-1, 1])
    per pixel and axis. The two displacements are summed into one sampling grid.

    Draws from `rng`: a (4, n) uniform array if any of shift/rotate/scale is non-zero, then a
    (2, n, 28, 28) one if `elastic_alpha` is non-zero; nothing at all if every strength is 0,
    in which case the result is an exact copy of `x` (as float32).
    """
    shift = _check("shift", shift)
    rotate = _check("rotate", rotate)
    scale = _check("scale", scale, upper=1.0)
    alpha = _check("elastic_alpha", elastic_alpha)
    sigma = _check("elastic_sigma", elastic_sigma, upper=100.0)
    checks.generator("rng", rng)
    side = _side(x)
    n = x.shape[0]
    if shift == rotate == scale == alpha == 0:
        return np.array(x, dtype=np.float32, copy=True)
    u = np.zeros((4, n), dtype=np.float32)
    if shift or rotate or scale:
        u = rng.random((4, n), dtype=np.float32) * 2 - 1  # U[-1, 1), float32
    disp_rows = disp_cols = None
    if alpha:
        disp_rows, disp_cols = _elastic_fields(rng, n, side, alpha, sigma)
    return warp(
        x,
        shift_rows=shift * u[0],
        shift_cols=shift * u[1],
        angle=rotate * u[2],
        scale=1 + scale * u[3],
        disp_rows=disp_rows,
        disp_cols=disp_cols,
    )


def affine(
    x: NDArray[np.floating],
    rng: np.random.Generator,
    *,
    shift: float = 2.0,
    rotate: float = 0.0,
    scale: float = 0.0,
) -> F32:
    """Random translation, rotation and scaling about the centre: `augment` without elastic.

    Same draws as `augment(x, rng, shift=..., rotate=..., scale=...)`, hence the same result.
    """
    return augment(x, rng, shift=shift, rotate=rotate, scale=scale)


def elastic(
    x: NDArray[np.floating],
    rng: np.random.Generator,
    *,
    alpha: float = 34.0,
    sigma: float = 4.0,
) -> F32:
    """Simard-style elastic distortion: a smooth random displacement field, resampled once.

    dx, dy ~ U[-1, 1] per pixel are blurred by a Gaussian of std `sigma` px and scaled by
    `alpha`. Blurring white noise of variance 1/3 over two axes divides its std by about
    2 sqrt(pi) sigma, so away from the border the displacement has a std of about
    0.16 alpha / sigma px (Simard's alpha=34, sigma=4: 1.4 px), smooth over ~sigma px.
    Same result as `augment(x, rng, elastic_alpha=alpha, elastic_sigma=sigma)`.
    """
    return augment(x, rng, elastic_alpha=alpha, elastic_sigma=sigma)


@dataclass(frozen=True)
class Augmentation:
    """Augmentation strengths as one value (for `Regularisation`): the arguments of `augment`.

    `Augmentation(shift=2, rotate=10)(x, rng)` equals `augment(x, rng, shift=2, rotate=10)`;
    every strength is checked when the value is made, before any training starts.
    """

    shift: float = 0.0
    rotate: float = 0.0
    scale: float = 0.0
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0

    def __post_init__(self) -> None:
        _check("shift", self.shift)
        _check("rotate", self.rotate)
        _check("scale", self.scale, upper=1.0)
        _check("elastic_alpha", self.elastic_alpha)
        _check("elastic_sigma", self.elastic_sigma, upper=100.0)
        if self.elastic_sigma <= 0:
            raise ConfigError(f"augmentation elastic_sigma must be > 0, got {self.elastic_sigma}")

    @property
    def active(self) -> bool:
        """Whether any strength is non-zero (an inactive augmentation draws no random numbers)."""
        return bool(self.shift or self.rotate or self.scale or self.elastic_alpha)

    def __call__(self, x: NDArray[np.floating], rng: np.random.Generator) -> F32:
        """The augmented batch: `augment(x, rng, **strengths)`."""
        return augment(
            x,
            rng,
            shift=self.shift,
            rotate=self.rotate,
            scale=self.scale,
            elastic_alpha=self.elastic_alpha,
            elastic_sigma=self.elastic_sigma,
        )
