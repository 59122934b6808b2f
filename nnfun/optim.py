"""Optimizers as pairs of pure functions, `init(params) -> state` and `step(...) -> (params, state)`.

Optimizer state is a flat mapping of arrays (e.g. `"velocity.W1"`), so a checkpoint can store it
as it is. Every step returns new read-only arrays; the arguments are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import NamedTuple, Protocol

import numpy as np

from . import backend, checks
from .params import Params, seal
from .sparse import Gradient, Gradients, RowSparse, dense

OptState = Params


class StepFn(Protocol):
    """An optimizer step with its hyper-parameters bound: `(params, grads, state, lr) -> (params, state)`."""

    def __call__(
        self, params: Params, grads: Params, state: OptState, *, lr: float
    ) -> tuple[Params, OptState]: ...


class Optimizer(NamedTuple):
    """An optimizer with its hyper-parameters bound: what a training loop needs."""

    init: Callable[[Params], OptState]
    step: StepFn
    takes_rows: bool = False
    """Whether `step` accepts `RowSparse` gradients: then `fit` hands it only the rows of the
    first layer's gradient that the batch's pixels reach (`sgd_step` and `adam_step` do)."""


def _regularised(
    w: np.ndarray, grad: np.ndarray, weight_decay: float, clip: float | None
) -> np.ndarray:
    """`g = clip(grad + weight_decay * w, -clip, clip)`, as a fresh array."""
    g = np.multiply(w, weight_decay, dtype=w.dtype) if weight_decay else grad.copy()
    if weight_decay:
        g += grad
    if clip is not None:
        np.clip(g, -clip, clip, out=g)
    return g


def sgd_init(params: Params) -> OptState:
    """Momentum SGD starts with zero velocity for every parameter."""
    checks.floats(params)
    return seal({f"velocity.{k}": np.zeros_like(w) for k, w in params.items()})


@checks.stepping
def sgd_step(
    params: Params,
    grads: Gradients,
    state: OptState,
    *,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    clip: float | None = 5.0,
    nesterov: bool = False,
) -> tuple[Params, OptState]:
    """One step of momentum SGD with L2 weight decay and value clipping.

    `g = clip(grad + weight_decay * w, -clip, clip)`, `v = momentum * v - lr * g`, `w = w + v`.
    Nesterov momentum looks ahead instead: `w = w + (momentum * v - lr * g)`, rounded in that
    order so that it equals `chain(..., scale_by_learning_rate(), trace(momentum, nesterov=True))`.
    A gradient may be a `RowSparse` (zero outside its rows). Runs the compiled kernel when
    `nnfun.backend` has one, else `sgd_reference`; the two agree bit for bit.
    """
    fast = backend.kernels()
    new_params: dict[str, np.ndarray] = {}
    new_state: dict[str, np.ndarray] = {}
    for k, w in params.items():
        v = state[f"velocity.{k}"]
        hyper = (lr, momentum, weight_decay, clip, nesterov)
        if fast is not None and _fits(w, grads[k], v):
            new_params[k], new_state[f"velocity.{k}"] = _sgd_fused(fast, w, grads[k], v, *hyper)
        else:
            new_params[k], new_state[f"velocity.{k}"] = sgd_reference(w, dense(grads[k]), v, *hyper)
    return seal(new_params), seal(new_state)


def sgd_reference(
    w: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    lr: float,
    momentum: float,
    weight_decay: float,
    clip: float | None,
    nesterov: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """`sgd_step` on one array in NumPy, one pass per operation: the new `(w, velocity)`."""
    g = _regularised(w, grad, weight_decay, clip)
    g *= lr
    v = np.multiply(velocity, momentum, dtype=w.dtype)
    v -= g
    if nesterov:
        np.subtract(np.multiply(v, momentum, dtype=w.dtype), g, out=g)
        return np.add(w, g, out=g), v
    return w + v, v


def adam_init(params: Params) -> OptState:
    """Adam keeps running means of the gradient (`m`) and its square (`v`), and a step count."""
    checks.floats(params)
    state = {f"m.{k}": np.zeros_like(w) for k, w in params.items()}
    state |= {f"v.{k}": np.zeros_like(w) for k, w in params.items()}
    state["step"] = np.zeros((), dtype=np.int64)
    return seal(state)


@checks.stepping
def adam_step(
    params: Params,
    grads: Gradients,
    state: OptState,
    *,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    clip: float | None = None,
) -> tuple[Params, OptState]:
    """Adam (Kingma & Ba, 2015); `weight_decay` is decoupled (AdamW, Loshchilov & Hutter, 2019).

    `l2` instead adds `l2 * w` to the gradient, as plain Adam with L2 regularisation does; Adam then
    rescales it with everything else, which is why AdamW decouples it.

    `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`, `w = w - lr (m^ / (sqrt(v^) + eps) + wd w)`
    where `m^ = m / (1 - b1^t)` and `v^ = v / (1 - b2^t)` undo the zero initialisation.
    Compiled kernel or `adam_reference`, as for `sgd_step`.
    """
    t = int(state["step"]) + 1
    hyper = AdamHyper(lr, beta1, beta2, eps, weight_decay, l2, clip, 1 - beta1**t, 1 - beta2**t)
    fast = backend.kernels()
    new_params: dict[str, np.ndarray] = {}
    new_state: dict[str, np.ndarray] = {"step": np.array(t, dtype=np.int64)}
    for k, w in params.items():
        m, v = state[f"m.{k}"], state[f"v.{k}"]
        if fast is not None and _fits(w, grads[k], m, v):
            new_params[k], m, v = _adam_fused(fast, w, grads[k], m, v, hyper)
        else:
            new_params[k], m, v = adam_reference(w, dense(grads[k]), m, v, hyper)
        new_state[f"m.{k}"], new_state[f"v.{k}"] = m, v
    return seal(new_params), seal(new_state)


class AdamHyper(NamedTuple):
    """Adam's hyper-parameters for step `t`, with the bias corrections `c = 1 - b^t`."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    l2: float
    clip: float | None
    c1: float
    c2: float


def adam_reference(
    w: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, h: AdamHyper
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`adam_step` on one array in NumPy, one pass per operation: the new `(w, m, v)`."""
    g = _regularised(w, grad, h.l2, h.clip)
    m = np.multiply(m, h.beta1, dtype=w.dtype)
    m += (1 - h.beta1) * g
    g *= g
    g *= 1 - h.beta2
    v = np.multiply(v, h.beta2, dtype=w.dtype)
    v += g
    update = np.sqrt(v / h.c2, dtype=w.dtype)
    update += h.eps
    np.divide(m, update, out=update)
    update /= h.c1
    if h.weight_decay:
        update += h.weight_decay * w
    update *= -h.lr
    update += w
    return update, m, v


# --- the compiled path: `nnfun.kernels` on 2-D views, into fresh arrays -------------------------


def _fits(w: np.ndarray, grad: Gradient, *state: np.ndarray) -> bool:
    """Whether the kernels apply: every array float32 or float64, of `w`'s dtype and shape."""
    values = grad.values if isinstance(grad, RowSparse) else grad
    shape = grad.shape if isinstance(grad, RowSparse) else values.shape
    same = all(a.dtype == w.dtype and a.shape == w.shape for a in state)
    if isinstance(grad, RowSparse):  # the kernels walk the rows in order, each once
        rows = grad.rows
        same = same and values.shape == (len(rows), *w.shape[1:]) and w.ndim == 2
        same = same and (len(rows) == 0 or (rows[0] >= 0 and rows[-1] < len(w)))
        same = same and bool(np.all(rows[1:] > rows[:-1]))
    return w.dtype in backend.FLOATS and values.dtype == w.dtype and shape == w.shape and same


def _rows(w: np.ndarray, grad: Gradient) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`w` as a 2-D array, and the gradient's rows with their indices (all rows when dense)."""
    w2 = w.reshape(w.shape[0], -1) if w.ndim >= 2 else w.reshape(1, -1)
    if isinstance(grad, RowSparse):
        return w2, np.ascontiguousarray(grad.values), grad.rows.astype(np.intp, copy=False)
    return w2, grad.reshape(w2.shape), np.arange(w2.shape[0], dtype=np.intp)


def _fresh(w2: np.ndarray) -> np.ndarray:
    """A new C-ordered array of `w2`'s 2-D shape, for a kernel to fill."""
    return np.empty(w2.shape, dtype=w2.dtype)


def _sgd_fused(
    fast: ModuleType,
    w: np.ndarray,
    grad: Gradient,
    velocity: np.ndarray,
    lr: float,
    momentum: float,
    weight_decay: float,
    clip: float | None,
    nesterov: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """`sgd_reference` as one kernel pass: the new `(w, velocity)`."""
    w2, g, rows = _rows(w, grad)
    out_w, out_v = _fresh(w2), _fresh(w2)
    bound = 0.0 if clip is None else clip
    scalars = fast.scalars(w.dtype, lr, momentum, weight_decay, -bound, bound, 0.0)
    flags = (bool(weight_decay), clip is not None, nesterov)
    fast.sgd_rows(w2, g, rows, velocity.reshape(w2.shape), *scalars, *flags, out_w, out_v)
    return out_w.reshape(w.shape), out_v.reshape(w.shape)


def _adam_fused(
    fast: ModuleType, w: np.ndarray, grad: Gradient, m: np.ndarray, v: np.ndarray, h: AdamHyper
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`adam_reference` as one kernel pass: the new `(w, m, v)`."""
    w2, g, rows = _rows(w, grad)
    out_w, out_m, out_v = _fresh(w2), _fresh(w2), _fresh(w2)
    bound = 0.0 if h.clip is None else h.clip
    scalars = fast.scalars(
        w.dtype, h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2, h.c1, h.c2, h.eps, h.l2,
        h.weight_decay, -h.lr, -bound, bound, 0.0,
    )  # fmt: skip
    flags = (bool(h.l2), h.clip is not None, bool(h.weight_decay))
    shaped = (m.reshape(w2.shape), v.reshape(w2.shape))
    fast.adam_rows(w2, g, rows, *shaped, *scalars, *flags, out_w, out_m, out_v)
    return out_w.reshape(w.shape), out_m.reshape(w.shape), out_v.reshape(w.shape)
