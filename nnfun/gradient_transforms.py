"""Gradient transformations: optimizers built from small pure pieces, in the manner of optax.

A transformation is a pair of pure functions, `init(params) -> state` and
`update(updates, state, params, *, lr) -> (updates, state)`. Each takes the updates the previous
one produced (the first one gets the gradients) and returns new ones; `chain` runs them in order
and `as_optimizer` applies the result, `w = w + u`. The seed recipe, for example, is

    chain(add_decayed_weights(1e-4), clip(5.0), scale_by_learning_rate(), trace(0.9))

that is `g = clip(grad + wd w, +-5)`, `v = mu v - lr g`, `w = w + v`, bit for bit what the fused
`sgd_step` computes. The learning rate of the current step is an argument, so schedules stay
plain `epoch -> lr` functions. State is a flat mapping of read-only arrays (`"3.velocity.W1"` is
the velocity of `W1` kept by the fourth transformation of a chain), so checkpoints store it as is.
Nothing is changed in place: every update returns fresh read-only arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

import numpy as np

from . import checks, scalars
from .errors import ConfigError, NnfunError
from .optim import Optimizer, OptState
from .params import Params, freeze, seal

Mask = Callable[[str], bool]


class UpdateFn(Protocol):
    """`(updates, state, params, *, lr) -> (updates, state)`: one step of a transformation."""

    def __call__(
        self, updates: Params, state: OptState, params: Params, *, lr: float
    ) -> tuple[Params, OptState]: ...


class GradientTransformation(NamedTuple):
    """A transformation of updates, as its two pure functions `init` and `update`."""

    init: Callable[[Params], OptState]
    update: UpdateFn


def _no_state(params: Params) -> OptState:
    return seal({})


def _shared(a: np.ndarray) -> np.ndarray:
    """An array passed through unchanged: kept if already read-only, else copied (so the caller's
    array never has its flags changed, nor can change ours later)."""
    return a if not a.flags.writeable else a.copy()


def stateless(
    fn: Callable[[Params, Params, float], Mapping[str, np.ndarray]],
) -> GradientTransformation:
    """A transformation without state from `fn(updates, params, lr) -> new updates`.

    `fn` returns new arrays (or arrays of its arguments that are already read-only); they are made
    read-only here. Sign-SGD's direction: `stateless(lambda u, w, lr: {k: np.sign(g) for k, g in u.items()})`.
    """
    checks.function("fn", fn, "a function (updates, params, lr) -> new updates")

    @scalars.checked
    def update(
        updates: Params, state: OptState, params: Params, *, lr: float
    ) -> tuple[Params, OptState]:
        try:
            return seal(dict(fn(updates, params, lr))), state
        except Exception as exc:  # the caller's own function: say whose it is
            raise ConfigError(f"stateless fn failed: {type(exc).__name__}: {exc}") from None

    return GradientTransformation(_no_state, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Run the transformations in order, each on the updates of the one before.

    The state of the i-th transformation (from 0) is kept under keys prefixed with `"i."`.
    An empty chain leaves the updates as they are.
    """
    for i, t in enumerate(transforms):
        _transformation(f"chain's transforms[{i}]", t)
    if not transforms:
        return stateless(lambda u, w, lr: {k: _shared(a) for k, a in u.items()})  # `u = u`

    def init(params: Params) -> OptState:
        state: dict[str, np.ndarray] = {}
        for i, t in enumerate(transforms):
            state |= {f"{i}.{k}": _shared(a) for k, a in t.init(params).items()}
        return seal(state)

    def update(
        updates: Params, state: OptState, params: Params, *, lr: float
    ) -> tuple[Params, OptState]:
        new_state: dict[str, np.ndarray] = {}
        for i, t in enumerate(transforms):
            prefix = f"{i}."
            own = {k.removeprefix(prefix): a for k, a in state.items() if k.startswith(prefix)}
            updates, inner = t.update(updates, freeze(own), params, lr=lr)
            new_state |= {prefix + k: _shared(a) for k, a in inner.items()}
        return updates, seal(new_state)

    return GradientTransformation(init, update)


def masked(inner: GradientTransformation, mask: Mask) -> GradientTransformation:
    """Apply `inner` only to the parameters whose name `mask(name)` accepts; pass the rest through.

    E.g. `masked(add_decayed_weights(1e-4), is_weight)` decays weight matrices but not biases.
    """
    _transformation("inner", inner)
    checks.function("mask", mask, "a function name -> bool, such as is_weight")

    def select(arrays: Params) -> Params:
        return freeze({k: a for k, a in arrays.items() if mask(k)})

    def init(params: Params) -> OptState:
        return inner.init(select(params))

    def update(
        updates: Params, state: OptState, params: Params, *, lr: float
    ) -> tuple[Params, OptState]:
        chosen, new_state = inner.update(select(updates), state, select(params), lr=lr)
        out = {k: chosen[k] if mask(k) else _shared(u) for k, u in updates.items()}
        return seal(out), new_state

    return GradientTransformation(init, update)


def is_weight(name: str) -> bool:
    """True for weight matrices (`W1`, `W2`, ...), false for biases: a mask for weight decay."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a parameter name such as 'W1', got {checks.show(name)}")
    return name.startswith("W")


def add_decayed_weights(weight_decay: float, mask: Mask | None = None) -> GradientTransformation:
    """`u = u + wd w`: the gradient of the L2 penalty `wd/2 |w|^2`, for the parameters `mask` accepts.

    Placed before a rescaling (clipping, Adam) this is L2 regularisation; placed after Adam and
    before the learning rate it is decoupled weight decay (AdamW): `w = w - lr (adam + wd w)`.
    """
    wd = checks.number("weight_decay", weight_decay, 0.0)
    if mask is not None:
        checks.function("mask", mask, "a function name -> bool, such as is_weight")

    def decay(updates: Params, params: Params, lr: float) -> dict[str, np.ndarray]:
        out = {}
        for k, u in updates.items():
            w = params[k]
            if wd:
                d = np.multiply(w, wd, dtype=w.dtype)
                d += u
            else:
                d = _shared(u)
            out[k] = d
        return out

    plain = stateless(decay)
    return plain if mask is None else masked(plain, mask)


def clip(max_abs: float) -> GradientTransformation:
    """`u = clip(u, -max_abs, max_abs)`, element by element."""
    c = checks.number("max_abs", max_abs, 0.0, above=True)
    return stateless(
        lambda updates, w, lr: {
            k: np.clip(u, -c, c, out=np.empty_like(u)) for k, u in updates.items()
        }
    )


def global_norm(arrays: Params) -> float:
    """`|u| = sqrt(sum of u^2 over every element of every array)`, accumulated in float64."""
    total = 0.0
    for a in checks.arrays("arrays", arrays).values():
        a64 = np.asarray(a, dtype=np.float64).ravel()
        total += float(a64 @ a64)
    return float(np.sqrt(total))


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """`u = u * max_norm / |u|` when the norm `|u|` of all updates together exceeds `max_norm`.

    Unlike value clipping this keeps the direction of the whole step and only shortens it.
    """
    max_norm = checks.number("max_norm", max_norm, 0.0, above=True)

    def shorten(updates: Params, params: Params, lr: float) -> dict[str, np.ndarray]:
        norm = global_norm(updates)
        if norm <= max_norm:
            return {k: _shared(u) for k, u in updates.items()}
        factor = max_norm / norm
        return {k: np.multiply(u, factor, dtype=u.dtype) for k, u in updates.items()}

    return stateless(shorten)


def scale_by_learning_rate() -> GradientTransformation:
    """`u = -lr u`: turns a direction into a step down the gradient, with the current rate."""
    return stateless(
        lambda updates, w, lr: {
            k: np.multiply(u, -lr, out=np.empty_like(u)) for k, u in updates.items()
        }
    )


def trace(momentum: float = 0.9, nesterov: bool = False) -> GradientTransformation:
    """Momentum: `v = mu v + u`, then `u = v`, or with Nesterov's look-ahead `u = u + mu v`.

    Placed after `scale_by_learning_rate` the rate is inside the velocity (`v = mu v - lr g`, as
    the seed recipe has it): after a drop of the rate, the speed gathered at the old rate fades
    out over some `1 / (1 - mu)` steps. Placed before it, the velocity sums raw gradients and the
    whole step shrinks with the rate at once.
    """
    mu = checks.rate("momentum", momentum)
    nesterov = checks.flag("nesterov", nesterov)

    def init(params: Params) -> OptState:
        return seal({f"velocity.{k}": np.zeros_like(w) for k, w in params.items()})

    @scalars.checked
    def update(
        updates: Params, state: OptState, params: Params, *, lr: float
    ) -> tuple[Params, OptState]:
        out, velocity = {}, {}
        for k, u in updates.items():
            v = np.multiply(state[f"velocity.{k}"], mu, dtype=u.dtype)
            v += u
            velocity[f"velocity.{k}"] = v
            if nesterov:
                ahead = np.multiply(v, mu, dtype=u.dtype)
                ahead += u
                out[k] = ahead
            else:
                out[k] = v
        return seal(out), seal(velocity)

    return GradientTransformation(init, update)


def scale_by_adam(
    beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Adam's direction (Kingma & Ba, 2015): `u = m^ / (sqrt(v^) + eps)`.

    `m = b1 m + (1 - b1) u`, `v = b2 v + (1 - b2) u^2` are running means of the update and its
    square; `m^ = m / (1 - b1^t)`, `v^ = v / (1 - b2^t)` undo their zero start at step `t`.
    Rounded in the same order as the fused `adam_step`, so the two agree bit for bit.
    """
    b1, b2 = checks.rate("beta1", beta1), checks.rate("beta2", beta2)
    e = checks.number("eps", eps, 0.0, above=True)

    def init(params: Params) -> OptState:
        state = {f"m.{k}": np.zeros_like(w) for k, w in params.items()}
        state |= {f"v.{k}": np.zeros_like(w) for k, w in params.items()}
        state["step"] = np.zeros((), dtype=np.int64)
        return seal(state)

    @scalars.checked
    def update(
        updates: Params, state: OptState, params: Params, *, lr: float
    ) -> tuple[Params, OptState]:
        t = int(state["step"]) + 1
        c1, c2 = 1 - b1**t, 1 - b2**t
        out: dict[str, np.ndarray] = {}
        new_state: dict[str, np.ndarray] = {"step": np.array(t, dtype=np.int64)}
        for k, u in updates.items():
            m = np.multiply(state[f"m.{k}"], b1, dtype=u.dtype)
            m += (1 - b1) * u
            sq = np.multiply(u, u)
            sq *= 1 - b2
            v = np.multiply(state[f"v.{k}"], b2, dtype=u.dtype)
            v += sq
            step = np.sqrt(v / c2, dtype=u.dtype)
            step += e
            np.divide(m, step, out=step)
            step /= c1
            out[k] = step
            new_state[f"m.{k}"], new_state[f"v.{k}"] = m, v
        return seal(out), seal(new_state)

    return GradientTransformation(init, update)


def apply_updates(params: Params, updates: Params) -> Params:
    """`w = w + u` for every parameter, as new read-only arrays."""
    try:
        return seal({k: w + updates[k] for k, w in params.items()})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):  # checked when it fails
        checks.arrays("updates", updates, checks.floats(params))
        raise


def as_optimizer(transform: GradientTransformation) -> Optimizer:
    """The `(init, step)` pair a training loop uses: `step` transforms the gradients, then
    `w = w + u`, so the chain must turn gradients into steps (`scale_by_learning_rate()`)."""
    if isinstance(transform, Optimizer):
        raise TypeError("transform is already an Optimizer: pass it to fit as it is")
    _transformation("transform", transform)

    @scalars.checked
    def step(
        params: Params, grads: Params, state: OptState, *, lr: float
    ) -> tuple[Params, OptState]:
        try:
            updates, new_state = transform.update(grads, state, params, lr=lr)
        except NnfunError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # checked when it fails
            checks.arrays("grads", grads, checks.floats(params))
            checks.arrays("state", state)
            raise ConfigError(
                f"state does not fit this optimizer ({exc!r}): start from its init"
            ) from None
        return apply_updates(params, updates), new_state

    return Optimizer(transform.init, step)


def _transformation(name: str, value: object) -> GradientTransformation:
    """A `GradientTransformation` (made by chain, trace, clip...), or TypeError naming it."""
    if not isinstance(value, GradientTransformation):
        raise TypeError(
            f"{name} must be a gradient transformation (chain, trace...), got {checks.show(value)}"
        )
    return value
