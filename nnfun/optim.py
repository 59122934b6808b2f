"""Optimizers as pairs of pure functions, `init(params) -> state` and `step(...) -> (params, state)`.

Optimizer state is a flat mapping of arrays (e.g. `"velocity.W1"`), so a checkpoint can store it
as it is. Every step returns new read-only arrays; the arguments are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

import numpy as np

from . import checks
from .params import Params, seal

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
    grads: Params,
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
    """
    new_params: dict[str, np.ndarray] = {}
    new_state: dict[str, np.ndarray] = {}
    for k, w in params.items():
        g = _regularised(w, grads[k], weight_decay, clip)
        g *= lr
        v = np.multiply(state[f"velocity.{k}"], momentum, dtype=w.dtype)
        v -= g
        if nesterov:
            np.subtract(np.multiply(v, momentum, dtype=w.dtype), g, out=g)
            new_params[k] = np.add(w, g, out=g)
        else:
            new_params[k] = w + v
        new_state[f"velocity.{k}"] = v
    return seal(new_params), seal(new_state)


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
    grads: Params,
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
    """
    t = int(state["step"]) + 1
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new_params: dict[str, np.ndarray] = {}
    new_state: dict[str, np.ndarray] = {"step": np.array(t, dtype=np.int64)}
    for k, w in params.items():
        g = _regularised(w, grads[k], l2, clip)
        m = np.multiply(state[f"m.{k}"], beta1, dtype=w.dtype)
        m += (1 - beta1) * g
        g *= g
        g *= 1 - beta2
        v = np.multiply(state[f"v.{k}"], beta2, dtype=w.dtype)
        v += g
        update = np.sqrt(v / c2, dtype=w.dtype)
        update += eps
        np.divide(m, update, out=update)
        update /= c1
        if weight_decay:
            update += weight_decay * w
        update *= -lr
        new_params[k] = update
        update += w
        new_state[f"m.{k}"], new_state[f"v.{k}"] = m, v
    return seal(new_params), seal(new_state)
