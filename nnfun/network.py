"""The multilayer perceptron: `forward` and hand-written backprop in `grads`.

Layer i computes `a_i = relu(a_{i-1} W_i + b_i)` (optionally times a dropout mask), the last layer
gives the logits `z = a_{L-1} W_L + b_L` without an activation.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType, ModuleType

import numpy as np

from . import backend, checks
from .errors import DataError
from .losses import softmax_cross_entropy
from .params import Params, seal
from .sparse import Gradient, Gradients, RowSparse, dense, used_columns

# One mask per layer input: masks[0] multiplies the pixels, masks[i] the output of hidden layer i.
# None means "no dropout there". See `dropout_masks`.
Masks = Sequence[np.ndarray | None]


def dropout_masks(
    sizes: Sequence[int],
    n: int,
    rng: np.random.Generator,
    *,
    rate: float = 0.0,
    input_rate: float = 0.0,
    dtype: type[np.floating] = np.float32,
) -> list[np.ndarray | None]:
    """Inverted dropout: keep each unit with probability `1 - p` and scale it by `1 / (1 - p)`.

    Scaling at training time keeps the expected activation unchanged, so evaluation uses the plain
    network. Returns one mask per layer input, `None` where the rate is zero.
    """
    rate, input_rate = checks.rate("rate", rate), checks.rate("input_rate", input_rate)
    checks.whole("n", n, 0)
    checks.generator("rng", rng)
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise DataError(f"sizes must list at least two layer widths, got {checks.show(sizes)}")
    for width in sizes:
        checks.whole("sizes", width)
    rates = [input_rate] + [rate] * (len(sizes) - 2)
    masks: list[np.ndarray | None] = []
    for width, p in zip(sizes[:-1], rates, strict=True):
        if p <= 0:
            masks.append(None)
            continue
        keep = rng.random((n, width), dtype=np.float32) >= p
        masks.append(keep.astype(dtype) * dtype(1.0 / (1.0 - p)))
    return masks


def _activations(
    params: Params,
    x: np.ndarray,
    masks: Masks | None,
    sparse: bool = False,
    fast: ModuleType | None = None,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Run the network forward, keeping each layer's input `a_{i-1}` for backprop.

    With `sparse`, the first layer works on the pixels the batch uses (`used_columns`) when
    they are few enough to pay: `x W1 = x[:, used] W1[used]`, as the other pixels are 0. Then
    `inputs[0]` holds only those columns, and `used` (else None) is returned with them. With
    `fast` (`nnfun.kernels`), bias and ReLU are one compiled pass, equal bit for bit.
    """
    layers = len(params) // 2  # W1, b1, ... (checked at the boundary, not per step)
    masks = masks or [None] * layers
    a = np.asarray(x, dtype=params["W1"].dtype)
    if masks[0] is not None:
        a = a * masks[0]
    used = used_columns(a) if sparse else None
    w = params["W1"]
    if used is not None:
        a, w = np.take(a, used, axis=1), np.take(w, used, axis=0)
    inputs = [a]
    for i in range(1, layers):
        a = a @ w
        _bias_relu(a, params[f"b{i}"], fast)
        if masks[i] is not None:
            a *= masks[i]
        inputs.append(a)
        w = params[f"W{i + 1}"]
    logits = a @ w
    logits += params[f"b{layers}"]
    return inputs, logits, used


def _bias_relu(z: np.ndarray, b: np.ndarray, fast: ModuleType | None) -> None:
    """`z = relu(z + b)` in place, on the product `z` the caller just made."""
    if fast is not None and z.ndim == 2 and z.dtype == b.dtype and z.dtype in backend.FLOATS:
        fast.bias_relu(z, b)
    else:
        z += b
        np.maximum(z, 0, out=z)


def _relu_backward(delta: np.ndarray, a: np.ndarray, fast: ModuleType | None) -> None:
    """`delta *= relu'(z)` in place: 1 where the unit was active (`a > 0`), else 0."""
    if fast is not None and delta.dtype == a.dtype and delta.dtype in backend.FLOATS:
        fast.relu_backward(delta, a)
    else:
        delta *= a > 0


def forward(params: Params, x: np.ndarray, masks: Masks | None = None) -> np.ndarray:
    """Logits `z` of shape `(n, classes)` for inputs `x` of shape `(n, features)`."""
    check_batch(params, x)
    return _activations(params, x, masks)[1]


@checks.diagnosed(lambda *args, **kwargs: check_batch(*args, **kwargs))
def forward_backward_rows(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    masks: Masks | None = None,
    label_smoothing: float = 0.0,
) -> tuple[float, Gradients, np.ndarray]:
    """Loss, gradients and logits in one pass (the training loop wants all three).

    The gradient of `W1` is a `RowSparse` when the first layer skipped unused pixels: their rows
    are zero. `forward_backward` gives the same gradients as ordinary arrays. The training loop's
    own step: it trusts `fit`'s checks and pays for none of its own, unless something fails
    (then `check_batch` says which argument was wrong).
    """
    fast = backend.kernels()
    inputs, logits, used = _activations(params, x, masks, sparse=True, fast=fast)
    loss, delta = softmax_cross_entropy(logits, y, label_smoothing)
    g: dict[str, Gradient] = {}
    for i in range(len(inputs), 0, -1):
        a = inputs[i - 1]
        g[f"W{i}"] = a.T @ delta  # dL/dW_i = a_{i-1}^T dL/dz_i
        g[f"b{i}"] = delta.sum(axis=0)  # dL/db_i = sum over the batch of dL/dz_i
        if i > 1:
            delta = delta @ params[f"W{i}"].T  # dL/da_{i-1} = dL/dz_i W_i^T
            mask = masks[i - 1] if masks else None
            if mask is not None:
                delta *= mask  # a dropped unit passes no gradient back
            _relu_backward(delta, a, fast)  # relu'(z) = 1 where the unit was active, else 0
    if used is not None:  # the rows of dW1 for the used pixels; the others are zero
        g["W1"] = RowSparse(used, np.asarray(g["W1"]), params["W1"].shape)
    for grad in g.values():
        (grad.values if isinstance(grad, RowSparse) else grad).flags.writeable = False
    return loss, MappingProxyType({k: g[k] for k in params}), logits


def forward_backward(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    masks: Masks | None = None,
    label_smoothing: float = 0.0,
) -> tuple[float, Params, np.ndarray]:
    """Loss, gradients (ordinary full arrays) and logits in one pass."""
    loss, g, logits = forward_backward_rows(params, x, y, masks, label_smoothing)
    full = {k: dense(v) for k, v in g.items()}
    return loss, seal(full), logits


def grads(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    masks: Masks | None = None,
    label_smoothing: float = 0.0,
) -> tuple[float, Params]:
    """Mean softmax cross-entropy over the batch and its gradient for every parameter (backprop)."""
    check_batch(params, x, y, masks, label_smoothing)
    loss, g, _ = forward_backward(params, x, y, masks, label_smoothing)
    return loss, g


def check_batch(
    params: Params,
    x: np.ndarray,
    y: np.ndarray | None = None,
    masks: Masks | None = None,
    label_smoothing: float = 0.0,
) -> None:
    """The arguments of `forward` and `grads`, checked in O(layers + batch); errors name them."""
    sizes = checks.network(params)
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != sizes[0]:
        raise DataError(f"x must be an array of rows (n, {sizes[0]}), got shape {np.shape(x)}")
    if x.dtype.kind not in "biuf":
        raise DataError(f"x must hold numbers, got {x.dtype}")
    if y is not None:
        checks.labels("y", y, len(x), sizes[-1])
    checks.rate("label_smoothing", label_smoothing)
    if masks is not None:
        if len(masks) != len(sizes) - 1:
            raise DataError(f"masks must hold {len(sizes) - 1} masks (or None), got {len(masks)}")
        for i, (mask, width) in enumerate(zip(masks, sizes, strict=False)):
            if mask is not None and np.shape(mask) != (len(x), width):
                raise DataError(
                    f"masks[{i}] must have shape {(len(x), width)}, got {np.shape(mask)}"
                )
