"""Compiled kernels (numba): the optimizer updates, the hidden layers' elementwise steps and the
augmentation's resampling, one pass each.

Each kernel equals a NumPy reference **bit for bit** (`sgd_rows`: `optim.sgd_reference`,
`adam_rows`: `optim.adam_reference`, `average_pass`: `averaging.ema_reference`, `bias_relu` and
`relu_backward`: the NumPy lines of `network._activations` and `network.forward_backward_rows`,
`warp_images`: the NumPy path of `augment.warp`): it does the same float
operations, on scalars of the arrays' dtype, in the same order, only element by element in one
loop instead of one NumPy pass per operation (no fastmath, so nothing is reordered or fused into
an FMA). They write into output arrays the caller allocates, and never touch their inputs
(`bias_relu` and `relu_backward` overwrite the one array the caller made for them).

The gradient comes as rows: `grad[k]` is row `rows[k]` of the full gradient (`rows` sorted), and
every other row is zero (`0.0` is added, exactly as in the reference on the dense gradient). A
dense gradient is the case `rows = 0, 1, ..., n-1`; a sparse first layer passes only the rows of
the pixels its batch used, so nothing has to scatter them into a full-size zero array first.

This module imports numba, so it is imported only when an update first runs (see
`nnfun.backend`): `import nnfun` never pays for it. Compiled code is cached on disk where numba
finds a writable place, and compiled again in each process where it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

Array = np.ndarray
Scalar = Any  # a NumPy scalar of the arrays' dtype: np.float32 or np.float64


def _jit(fn: Callable[..., Any]) -> Any:
    """`numba.njit` with an on-disk cache, or without one where no folder for it is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(fn)


@_jit
def _regularised(
    w: Scalar, g: Scalar, wd: Scalar, lo: Scalar, hi: Scalar, decay: bool, clip: bool
) -> Scalar:
    """One element of `optim._regularised`: `clip(w * wd + g, lo, hi)`, each step only if on."""
    if decay:
        g = w * wd + g
    if clip:
        if g < lo:
            g = lo
        elif g > hi:
            g = hi
    return g


@_jit
def sgd_rows(
    w: Array, grad: Array, rows: Array, velocity: Array,
    lr: Scalar, momentum: Scalar, wd: Scalar, lo: Scalar, hi: Scalar, zero: Scalar,
    decay: bool, clip: bool, nesterov: bool,
    out_w: Array, out_v: Array,
) -> None:  # fmt: skip
    """SGD with momentum on a 2-D array: equals `optim.sgd_reference` bit for bit.

    Fuses, per element, `g = clip(wd * w + grad, lo, hi)`, `g = g * lr`, `v = momentum * v - g`
    and `w = w + v` (or, Nesterov, `w = w + (momentum * v - g)`): the reference's seven passes.
    `decay` and `clip` say whether the weight decay and the clipping apply at all.
    """
    k = 0
    for r in range(w.shape[0]):
        has_row = k < rows.shape[0] and rows[k] == r
        for c in range(w.shape[1]):
            g = _regularised(w[r, c], grad[k, c] if has_row else zero, wd, lo, hi, decay, clip)
            g = g * lr
            v = velocity[r, c] * momentum - g
            out_v[r, c] = v
            out_w[r, c] = w[r, c] + (v * momentum - g if nesterov else v)
        if has_row:
            k += 1


@_jit
def adam_rows(
    w: Array, grad: Array, rows: Array, m: Array, v: Array,
    b1: Scalar, b2: Scalar, rest_b1: Scalar, rest_b2: Scalar, c1: Scalar, c2: Scalar,
    eps: Scalar, l2: Scalar, wd: Scalar, minus_lr: Scalar, lo: Scalar, hi: Scalar, zero: Scalar,
    decay: bool, clip: bool, decoupled: bool,
    out_w: Array, out_m: Array, out_v: Array,
) -> None:  # fmt: skip
    """Adam / AdamW on a 2-D array: equals `optim.adam_reference` bit for bit.

    Fuses `g = clip(l2 * w + grad, lo, hi)`, `m = b1 m + (1 - b1) g`, `v = b2 v + g^2 (1 - b2)`,
    `u = m / (sqrt(v / c2) + eps) / c1`, `u = u + wd * w` (AdamW) and `w = u * -lr + w`, with
    `rest_b = 1 - b` and the bias corrections `c = 1 - b^t`. `decay`: the L2 term applies;
    `decoupled`: AdamW's decay applies; `clip`: the clipping does.
    """
    k = 0
    for r in range(w.shape[0]):
        has_row = k < rows.shape[0] and rows[k] == r
        for c in range(w.shape[1]):
            g = _regularised(w[r, c], grad[k, c] if has_row else zero, l2, lo, hi, decay, clip)
            new_m = m[r, c] * b1 + rest_b1 * g
            new_v = v[r, c] * b2 + g * g * rest_b2
            u = new_m / (np.sqrt(new_v / c2) + eps) / c1
            if decoupled:
                u = u + wd * w[r, c]
            out_m[r, c] = new_m
            out_v[r, c] = new_v
            out_w[r, c] = u * minus_lr + w[r, c]
        if has_row:
            k += 1


@_jit
def average_pass(ema: Array, w: Array, decay: Scalar, rest: Scalar, out: Array) -> None:
    """The weight average's update on flat arrays: equals `averaging.ema_reference` bit for bit.

    Fuses `out = ema * decay + w * rest` (`rest = 1 - decay`, rounded to the dtype as NumPy
    does): one read of each input and one write, where NumPy makes two products and a sum.
    """
    for i in range(ema.shape[0]):
        out[i] = ema[i] * decay + w[i] * rest


@_jit
def bias_relu(z: Array, b: Array) -> None:
    """A hidden layer's activation in place: `z = max(z + b, 0)` per element, with `b` per column.

    Equals NumPy's `z += b; np.maximum(z, 0, out=z)` bit for bit: a NaN stays NaN, and -0.0
    becomes +0.0 as `np.maximum(-0.0, 0)` gives. One pass over `z` where NumPy makes two.
    """
    zero = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            r = z[i, j] + b[j]
            if not r > 0 and r == r:
                r = zero
            z[i, j] = r


@_jit
def relu_backward(delta: Array, a: Array) -> None:
    """The gradient through a ReLU in place: `delta = delta * (a > 0)`, 1 or 0 as a float.

    Equals NumPy's `delta *= a > 0` bit for bit (the same product, so `-x * 0` stays -0.0 and a
    NaN or infinite `delta` gives NaN), without the boolean array NumPy builds first.
    """
    one, zero = delta.dtype.type(1.0), delta.dtype.type(0.0)
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            delta[i, j] = delta[i, j] * (one if a[i, j] > 0 else zero)


@_jit
def warp_images(
    images: Array, col_a: Array, row_b: Array, col_c: Array, row_d: Array,
    disp_rows: Array, disp_cols: Array, displaced: bool, out: Array,
) -> None:  # fmt: skip
    """The resampling of `augment.warp` (float32): equals its NumPy path bit for bit.

    Fuses the source coordinates `cols = a[c] - b[r]`, `rows = c[c] + d[r]` (plus the elastic
    displacement when `displaced`), their clipping to [-1, side], and the bilinear lerps of
    `augment._sample_clipped` on the image in a zero border, per output pixel of each image.
    """
    n, h, w = images.shape
    low, high_r, high_c = np.float32(-1.0), np.float32(h), np.float32(w)
    padded = np.zeros((h + 3, w + 3), dtype=np.float32)  # 0 outside: 1 row/col before, 2 after
    for i in range(n):
        for r in range(h):
            for c in range(w):
                padded[r + 1, c + 1] = images[i, r, c]
        for r in range(h):
            for c in range(w):
                src_c = col_a[i, c] - row_b[i, r]
                src_r = col_c[i, c] + row_d[i, r]
                if displaced:
                    src_r = src_r + disp_rows[i, r, c]
                    src_c = src_c + disp_cols[i, r, c]
                src_r = min(max(src_r, low), high_r)
                src_c = min(max(src_c, low), high_c)
                r0, c0 = np.floor(src_r), np.floor(src_c)
                fr, fc = src_r - r0, src_c - c0
                y, x = int(r0) + 1, int(c0) + 1
                top = padded[y, x]
                top = top + (padded[y, x + 1] - top) * fc
                bottom = padded[y + 1, x]
                bottom = bottom + (padded[y + 1, x + 1] - bottom) * fc
                out[i, r * w + c] = top + (bottom - top) * fr


def scalars(dtype: np.dtype[Any], *values: float) -> tuple[Any, ...]:
    """The hyper-parameters as scalars of the arrays' dtype, as NumPy rounds them in the reference."""
    return tuple(dtype.type(v) for v in values)
