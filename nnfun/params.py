"""Parameters as plain data: an immutable mapping `{"W1", "b1", "W2", "b2", ...}` of read-only arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from numpy.typing import DTypeLike

Params = Mapping[str, np.ndarray]


def freeze(arrays: Mapping[str, np.ndarray]) -> Params:
    """Read-only copies of the writable arrays (read-only ones are shared) in an immutable mapping.

    The caller's arrays are never changed: writes to the result raise ValueError, and writes to
    the caller's arrays do not reach it.
    """
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
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least an input and an output width >= 1, got {sizes}")
    arrays: dict[str, np.ndarray] = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        arrays[f"W{i}"] = w.astype(dtype)
        arrays[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
    return seal(arrays)


def num_layers(params: Params) -> int:
    """How many dense layers (weight matrices) the network has."""
    return sum(1 for k in params if k.startswith("W"))


def layer_sizes(params: Params) -> tuple[int, ...]:
    """The widths from input to output, read off the weight shapes: `(784, 1024, 10)`."""
    n = num_layers(params)
    return (params["W1"].shape[0], *(params[f"W{i}"].shape[1] for i in range(1, n + 1)))


def cast(params: Params, dtype: DTypeLike) -> Params:
    """The same network with every array converted to `dtype` (e.g. float64 for a gradient check)."""
    return seal({k: np.array(v, dtype=dtype) for k, v in params.items()})
