"""Parameters as plain data: an immutable mapping `{"W1", "b1", "W2", "b2", ...}` of read-only arrays."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from numpy.typing import DTypeLike

from . import checks
from .errors import ConfigError, ModelError

Params = Mapping[str, np.ndarray]


def freeze(arrays: Mapping[str, np.ndarray]) -> Params:
    """Read-only copies of the writable arrays (read-only ones are shared) in an immutable mapping.

    The caller's arrays are never changed: writes to the result raise ValueError, and writes to
    the caller's arrays do not reach it.
    """
    if not isinstance(arrays, Mapping) or not all(
        isinstance(a, np.ndarray) for a in arrays.values()
    ):
        raise ModelError("freeze takes a mapping of NumPy arrays, e.g. {'W1': np.zeros((2, 2))}")
    return seal({k: np.array(a) if a.flags.writeable else a for k, a in arrays.items()})


def seal(fresh: Mapping[str, np.ndarray]) -> Params:
    """`freeze` without the copies, for arrays the caller has just made and no one else holds.

    The core's steps seal their new results this way (a copy per step would cost time); a
    caller's own arrays go through `freeze`.
    """
    for a in fresh.values():
        a.flags.writeable = False
    return MappingProxyType(dict(fresh))


def init_params(
    sizes: Sequence[int], rng: np.random.Generator, dtype: DTypeLike = np.float32
) -> Params:
    """He-normal init: `W_i ~ N(0, 2 / fan_in)` of shape `(fan_in, fan_out)`, `b_i = 0`.

    `sizes` lists the layer widths from input to output, e.g. `(784, 1024, 10)`. He et al. (2015)
    keep the variance of ReLU activations constant from layer to layer with this scale.
    """
    checks.generator("rng", rng)
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ConfigError(
            f"sizes must list at least an input and an output width, got {checks.show(sizes)}"
        )
    sizes = [checks.whole("sizes", s) for s in sizes]
    dtype = _float_type(dtype)
    arrays: dict[str, np.ndarray] = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        arrays[f"W{i}"] = w.astype(dtype)
        arrays[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
    return seal(arrays)


def num_layers(params: Params) -> int:
    """How many dense layers (weight matrices) the network has."""
    return len(checks.network(params)) - 1


def layer_sizes(params: Params) -> tuple[int, ...]:
    """The widths from input to output, read off the weight shapes: `(784, 1024, 10)`."""
    return checks.network(params)


def cast(params: Params, dtype: DTypeLike) -> Params:
    """The same network with every array converted to `dtype` (e.g. float64 for a gradient check)."""
    checks.network(params)
    dtype = _float_type(dtype)
    return seal({k: np.array(v, dtype=dtype) for k, v in params.items()})


def _float_type(dtype: DTypeLike) -> np.dtype[np.floating]:
    """The floating-point type a network may hold (float32, float64, longdouble...)."""
    try:
        kind = np.dtype(dtype)
    except (TypeError, ValueError):
        kind = None
    if kind is None or kind.kind != "f":
        raise ConfigError(
            f"dtype must be a floating-point type such as np.float32, got {checks.show(dtype)}"
        )
    return typing.cast("np.dtype[np.floating]", kind)
