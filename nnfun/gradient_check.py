"""Numerical gradient check: compare backprop with central differences, element by element."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import checks
from .errors import ConfigError
from .losses import mean_cross_entropy
from .network import Masks, check_batch, forward, grads
from .params import Params, cast
from .recipes.settings import MAX_SEED

TINY = 1e-12
MAX_PARAMETERS = 20_000
"""Central differences take two forward passes per parameter: the test network stays small."""


def check_options(
    sizes: Sequence[int], batch: int, eps: float, tolerance: float, dropout: float, seed: int
) -> None:
    """ConfigError, naming the argument, for a gradient check that cannot give a meaningful verdict."""
    parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    problems = [
        (len(sizes) < 2 or min(sizes) < 1, "sizes", "needs at least two widths >= 1"),
        (
            parameters > MAX_PARAMETERS,
            "sizes",
            f"{','.join(map(str, sizes))} has {parameters:,} parameters; "
            f"a gradient check takes at most {MAX_PARAMETERS:,}",
        ),
        (not 1 <= batch <= 10_000, "batch", "must be between 1 and 10,000"),
        (
            not (math.isfinite(tolerance) and tolerance >= 0),
            "tolerance",
            f"must be a number >= 0 (got {tolerance})",
        ),
        (not 0 <= dropout < 1, "dropout", f"must be in [0, 1) (got {dropout})"),
        (not 0 <= seed <= MAX_SEED, "seed", f"must be between 0 and 2^63 - 1 (got {seed})"),
    ]
    for bad, name, problem in problems:
        if bad:
            raise ConfigError(f"{name} {problem}", setting=name)
    finite_difference_step(eps)


def finite_difference_step(eps: Any) -> float:
    """`eps` as a float in (0, 1]: a step of 0 divides by zero, and past 1 it measures nothing."""
    return checks.number("eps", eps, 0.0, 1.0, above=True)


def extended_precision() -> bool:
    """Whether `np.longdouble` is wider than float64 here (80-bit on x86 Linux)."""
    return bool(np.finfo(np.longdouble).eps < np.finfo(np.float64).eps)


def relative_error(analytic: np.ndarray, numeric: np.ndarray, tiny: float = TINY) -> np.ndarray:
    """`|a - n| / max(|a| + |n|, tiny)`: 0 when they agree, 1 when one is zero and the other not."""
    analytic, numeric = _numbers("analytic", analytic), _numbers("numeric", numeric)
    if analytic.shape != numeric.shape:
        raise ValueError(f"analytic {analytic.shape} and numeric {numeric.shape} differ in shape")
    tiny = checks.number("tiny", tiny, 0.0, above=True)
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), tiny)


def numerical_grads(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    eps: float = 1e-6,
    masks: Masks | None = None,
    label_smoothing: float = 0.0,
) -> dict[str, np.ndarray]:
    """Central differences `dL/dw ~ (L(w + eps) - L(w - eps)) / (2 eps)` for every parameter element."""
    eps = finite_difference_step(eps)
    check_batch(params, x, y, masks, label_smoothing)

    def loss(p: Params) -> np.floating:
        return mean_cross_entropy(forward(p, x, masks), y, label_smoothing)

    work = {k: np.array(v) for k, v in params.items()}  # a private, writable copy
    numeric: dict[str, np.ndarray] = {}
    for k, w in work.items():
        g = np.empty_like(w)
        for i in np.ndindex(w.shape):
            saved = w[i]
            w[i] = saved + eps
            up = loss(work)
            w[i] = saved - eps
            down = loss(work)
            w[i] = saved
            g[i] = (up - down) / (2 * eps)
        numeric[k] = g
    return numeric


def gradcheck(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    eps: float = 1e-6,
    masks: Masks | None = None,
    label_smoothing: float = 0.0,
) -> dict[str, float]:
    """Max relative error between backprop and central differences, per parameter array.

    Use float64 parameters: backprop runs in their precision, while the differences are taken in
    extended precision (`np.longdouble`, 80-bit on x86) so that rounding in `L(w +- eps)`, about
    1e-16 * L / eps in float64, cannot hide a wrong gradient behind a 1e-7 tolerance. Where
    `np.longdouble` is only float64 (MSVC, Apple silicon; see `extended_precision`), expect
    errors around 1e-5 on small gradient entries even for a correct backprop.
    """
    eps = finite_difference_step(eps)
    analytic = grads(params, x, y, masks, label_smoothing)[1]
    wide = cast(params, np.longdouble)
    wide_masks = (
        None if masks is None else [m if m is None else m.astype(np.longdouble) for m in masks]
    )
    numeric = numerical_grads(
        wide, np.asarray(x, dtype=np.longdouble), y, eps, wide_masks, label_smoothing
    )
    return {k: float(relative_error(analytic[k], numeric[k]).max()) for k in params}


def _numbers(name: str, value: np.ndarray) -> np.ndarray:
    """An array of real numbers, or TypeError naming it."""
    array = np.asarray(value) if isinstance(value, np.ndarray | float | int) else None
    if array is None or array.dtype.kind not in "iuf" or isinstance(value, bool):
        raise TypeError(f"{name} must be an array of numbers, got {checks.show(value)}")
    return array
