"""Weight averaging (Polyak): an exponential moving average of the weights along the run.

SGD's last weights jitter around the minimum they are descending to; the running mean of the
recent weights sits closer to it, and usually generalises a little better (Polyak & Juditsky,
1992). After each step, `ema = d * ema + (1 - d) * w`, where the decay `d` warms up as
`min(decay, (1 + t) / (10 + t))` for the `t`-th update (t = 0, 1, ...): the first steps forget
the random initial weights quickly instead of averaging them in for thousands of steps (the
warm-up of TensorFlow's ExponentialMovingAverage). With `decay = 0.999` the average covers about
the last 1,000 steps once `t` passes ~9,000 (about 21 epochs of MNIST at batch size 128).

`with_average(optimizer, decay)` is an optimizer that does its own step and then this update,
keeping the average in its state (`average.W1`, ..., and the count `average.step`), so a
checkpoint stores and resumes it like any other optimizer state; `average_of(state)` reads it.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from . import backend, checks
from .errors import ConfigError
from .optim import Optimizer, OptState
from .params import Params, seal

PREFIX = "average."
STEP = PREFIX + "step"


def _check_decay_at(decay: float, step: int) -> None:
    checks.number("decay", decay, 0.0, 1.0)
    checks.whole("step", step, 0)


@checks.diagnosed(_check_decay_at)
def ema_decay_at(decay: float, step: int) -> float:
    """The decay of update number `step` (from 0): `min(decay, (1 + step) / (10 + step))`."""
    return min(decay, (1 + step) / (10 + step))


def ema_init(params: Params) -> Params:
    """The average before any step: a read-only copy of the weights."""
    checks.floats(params)
    return seal({k: np.array(w) for k, w in params.items()})


def _check_update(ema: Params, params: Params, decay: float) -> None:
    checks.arrays("params", params, checks.floats(ema, "ema"), of="ema")
    checks.number("decay", decay, 0.0, 1.0)


@checks.diagnosed(_check_update)
def ema_update(ema: Params, params: Params, decay: float) -> Params:
    """`d * ema + (1 - d) * params` for every array, as new read-only arrays (dtype kept).

    `decay` is the `d` of this step (see `ema_decay_at`); the arguments are not touched. Runs
    the compiled kernel when `nnfun.backend` has one, else `ema_reference`: the same bits.
    """
    fast = backend.kernels()
    new = {}
    for k, a in ema.items():
        w = params[k]
        if fast is not None and a.dtype == w.dtype in backend.FLOATS and a.shape == w.shape:
            new[k] = np.empty_like(a, order="C")
            d, rest = fast.scalars(a.dtype, decay, 1 - decay)
            fast.average_pass(a.reshape(-1), w.reshape(-1), d, rest, new[k].reshape(-1))
        else:
            new[k] = ema_reference(a, w, decay)
    return seal(new)


def ema_reference(ema: np.ndarray, w: np.ndarray, decay: float) -> np.ndarray:
    """`ema_update` on one array in NumPy, one pass per operation: `ema * d + w * (1 - d)`."""
    m = np.multiply(ema, decay, dtype=ema.dtype)
    m += np.multiply(w, 1 - decay, dtype=ema.dtype)
    return m


def with_average(optimizer: Optimizer, decay: float) -> Optimizer:
    """`optimizer`, plus an exponential moving average of the weights it produces.

    The state holds the inner optimizer's arrays unchanged and `average.<name>` per parameter
    and `average.step`, the number of updates so far. `decay` must be in (0, 1).
    """
    checks.optimizer_type(optimizer)
    checks.number("ema_decay", decay, 0.0, 1.0, above=True, below=True)

    def init(params: Params) -> OptState:
        state = dict(optimizer.init(params))
        if any(k.startswith(PREFIX) for k in state):
            raise ConfigError("this optimizer keeps an average already: wrap it only once")
        state |= {PREFIX + k: w for k, w in ema_init(params).items()}
        state[STEP] = np.zeros((), dtype=np.int64)
        return seal(state)

    def step(
        params: Params, grads: Params, state: OptState, *, lr: float
    ) -> tuple[Params, OptState]:
        inner = {k: v for k, v in state.items() if not k.startswith(PREFIX)}
        new_params, new_inner = optimizer.step(params, grads, MappingProxyType(inner), lr=lr)
        t = int(state[STEP])
        average = ema_update(_averaged(state), new_params, ema_decay_at(decay, t))
        new_state = dict(new_inner) | {PREFIX + k: a for k, a in average.items()}
        new_state[STEP] = np.array(t + 1, dtype=np.int64)
        return new_params, seal(new_state)

    return Optimizer(init, step, takes_rows=optimizer.takes_rows)  # grads pass straight through


def average_of(state: OptState) -> Params | None:
    """The averaged weights kept in an optimizer state by `with_average`, or None if none are."""
    checks.arrays("state", state)
    return _averaged(state) if STEP in state else None


def _averaged(state: OptState) -> Params:
    """A read-only view of the `average.` arrays of a state, under the parameters' names."""
    names = (k for k in state if k.startswith(PREFIX) and k != STEP)
    return MappingProxyType({k.removeprefix(PREFIX): state[k] for k in names})
