"""Checks at the library's edges: each looks at one argument and, if it is unusable, says which.

Public functions call these on entry, once, before any arithmetic, so a wrong argument is one
sentence naming it (`batch_size must be a whole number >= 1, got -1`) instead of an IndexError
deep inside, or worse, a plausible wrong answer. Nothing O(size) runs once per training step:
`fit` checks the whole dataset before the first epoch, and the loop trusts it from then on;
the step's scalars, O(1), are checked on every call (`stepping`, `diagnosed`, `scalars`).

Pixels are decided by their values, never by their type alone: whole numbers are 0..255 (as
uint8 is), floats are already in [0, 1]; anything else is refused with the conversion to make.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any, TypeVar, cast

import numpy as np

from .errors import ConfigError, DataError, ModelError, NnfunError

PIXEL_SLACK = 1e-6
"""Float pixels may stray this far outside [0, 1] (rounding in an interpolation)."""


def show(value: Any) -> str:
    """A value for an error message: its repr on one short line (an array by its shape)."""
    if isinstance(value, np.ndarray) and value.ndim:
        return f"an array of shape {value.shape} ({value.dtype})"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def flag(name: str, value: Any) -> bool:
    """True or False (NumPy's bool too): an array or a string is not a yes/no answer."""
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(f"{name} must be True or False, got {show(value)}", setting=name)
    return bool(value)


def function(name: str, value: Any, what: str) -> Any:
    """A callable, or TypeError naming it and saying what it should be."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {show(value)}")
    return value


def arrays(
    name: str, value: Any, like: Mapping[str, np.ndarray] | None = None, of: str = "params"
) -> Mapping[str, np.ndarray]:
    """A mapping of NumPy number arrays (parameters, gradients, optimizer state).

    With `like`, it must hold an array of the same shape for each of `like`'s names.
    """
    if not isinstance(value, Mapping) or not all(
        isinstance(a, np.ndarray) and a.dtype.kind in "biuf" for a in value.values()
    ):
        raise ModelError(f"{name} must be a mapping of NumPy number arrays, got {show(value)}")
    for k, a in (like or {}).items():
        if k not in value:
            raise ModelError(f"{name} lacks {k}, which {of} has")
        if value[k].shape != a.shape:
            raise ModelError(f"{name}[{k!r}] has shape {value[k].shape}, but {of}[{k!r}] {a.shape}")
    return value


def whole(name: str, value: Any, low: int = 1, high: int | None = None) -> int:
    """`value` as an int in [low, high]; ConfigError naming `name` otherwise (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(f"{name} must be a whole number, got {show(value)}", setting=name)
    whole_value = int(value)
    if whole_value < low or (high is not None and whole_value > high):
        span = f">= {low:,}" if high is None else f"between {low:,} and {high:,}"
        raise ConfigError(f"{name} must be a whole number {span}, got {show(value)}", setting=name)
    return whole_value


def number(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    above: bool = False,
    below: bool = False,
) -> float:
    """`value` as a finite float in [low, high] (open at `low` with `above`, at `high` with `below`)."""
    real = type(value) is float or (isinstance(value, Real) and not isinstance(value, bool))
    ok = real and math.isfinite(value)  # a float is told apart first: it is the common case
    if (
        ok
        and (value > low if above else value >= low)
        and (value < high if below else value <= high)
    ):
        return float(value)
    left, right = "(" if above else "[", ")" if below else "]"
    if high == math.inf:
        span = f" > {low:g}" if above else f" >= {low:g}"
    else:
        span = f" in {left}{low:g}, {high:g}{right}"
    span = "" if (low, high) == (-math.inf, math.inf) else span
    raise ConfigError(f"{name} must be a finite number{span}, got {show(value)}", setting=name)


def rate(name: str, value: Any) -> float:
    """A dropout-like probability in [0, 1): a rate of 1 would drop everything (and divide by 0)."""
    return number(name, value, 0.0, 1.0, below=True)


def generator(name: str, rng: Any) -> np.random.Generator:
    """Randomness comes only from an explicit `np.random.Generator` (e.g. `rng_for(seed)`)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def network(params: Any, name: str = "params") -> tuple[int, ...]:
    """The layer widths of `params` after checking its structure (not its values): O(layers).

    A network is a mapping `W1, b1, ..., WL, bL` of float arrays, `W_i` of shape (in, out),
    `b_i` of shape (out,), each layer reading what the one before gives.
    """
    if not isinstance(params, Mapping):
        raise ModelError(
            f"{name} must be a mapping of arrays W1, b1, ..., got {type(params).__name__}"
        )
    layers = sum(1 for k in params if isinstance(k, str) and k[:1] == "W" and k[1:].isdigit())
    expected = {f"{p}{i}" for i in range(1, layers + 1) for p in "Wb"}
    if layers == 0 or set(params) != expected:
        found = ", ".join(sorted(map(str, params))) or "nothing"
        raise ModelError(
            f"{name} must hold W1, b1, ... W{max(layers, 1)}, b{max(layers, 1)}; found {found}"
        )
    sizes: list[int] = []
    for i in range(1, layers + 1):
        w, b = params[f"W{i}"], params[f"b{i}"]
        if not isinstance(w, np.ndarray) or not isinstance(b, np.ndarray):
            raise ModelError(f"{name}: W{i} and b{i} must be NumPy arrays")
        if w.dtype.kind != "f" or b.dtype.kind != "f":
            raise ModelError(f"{name}: layer {i} holds {w.dtype}/{b.dtype}, expected floats")
        fan_in = sizes[-1] if sizes else (w.shape[0] if w.ndim == 2 else -1)
        if w.ndim != 2 or w.shape[0] != fan_in or b.shape != (w.shape[1],) or not w.size:
            raise ModelError(
                f"{name}: layer {i} is misshapen: W{i} {w.shape}, b{i} {b.shape} "
                f"after {fan_in} inputs"
            )
        sizes += [fan_in] if not sizes else []
        sizes.append(w.shape[1])
    return tuple(sizes)


def finite_network(params: Any, name: str = "params") -> tuple[int, ...]:
    """`network`, and every weight finite (what a model file must hold to load back)."""
    sizes = network(params, name)
    for k, a in params.items():
        if not np.isfinite(a).all():
            raise ModelError(f"{name}: {k} holds NaN or infinite weights")
    return sizes


def _array(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise DataError(f"{name} must be an array of numbers (rows of equal length)") from None
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name} must hold numbers, got {array.dtype}")
    return array


def labels(
    name: str, y: Any, n: int | None = None, classes: int | None = None, of: str = "x"
) -> np.ndarray:
    """Digit labels: one whole number per image, shape `(n,)`, each in `0..classes-1`."""
    y = _array(name, y)
    if y.ndim == 2 and y.shape[1] > 1:
        raise DataError(
            f"{name} must be one label per image, shape (n,); got {y.shape} "
            f"(one-hot? use {name}.argmax(axis=1))"
        )
    if y.ndim != 1:
        raise DataError(f"{name} must be one label per image, shape (n,); got {y.shape}")
    if y.dtype.kind not in "iu":
        raise DataError(f"{name} must hold whole numbers (an integer array), got {y.dtype}")
    if n is not None and len(y) != n:
        raise DataError(f"{name} has {len(y):,} labels for the {n:,} images of {of}")
    if len(y):
        low, top = int(y.min()), int(y.max())
        if low < 0 or (classes is not None and top >= classes):
            bad = low if low < 0 else top
            span = "0 or more" if classes is None else f"0..{classes - 1} ({classes} classes)"
            raise DataError(f"{name} holds the label {bad}; labels must be {span}")
    return y


def pixels(name: str, x: Any, inputs: int) -> np.ndarray:
    """Images as rows `(n, inputs)` of uint8 (0..255) or floats in [0, 1], decided by value.

    Takes one image `(side, side)` or `(inputs,)`, a stack `(n, side, side)` or rows. Whole
    numbers of any integer type must lie in 0..255 and come back as uint8; floats must be
    finite and in [0, 1] (a float image in 0..255 is refused: divide it by 255 first).
    """
    x = _array(name, x)
    shape = x.shape
    if x.ndim == 1 or (x.ndim == 2 and x.size == inputs and x.shape[1] != inputs):
        x = x.reshape(1, -1)  # one flat image, or one square image
    elif x.ndim == 3:
        x = x.reshape(len(x), x.shape[1] * x.shape[2])
    if x.ndim != 2 or x.shape[1] != inputs:
        raise DataError(
            f"{name}: this network reads images of {inputs} pixels; got an array of shape {shape}"
        )
    if x.dtype == np.uint8 or not x.size:
        return x
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    low, top = x.min(), x.max()
    if x.dtype.kind in "iu":
        if low < 0 or top > 255:
            raise DataError(f"{name}: whole-number pixels must be 0..255, got {low}..{top}")
        return x.astype(np.uint8)
    if not (math.isfinite(low) and math.isfinite(top)):
        raise DataError(f"{name} holds NaN or infinite pixels")
    if low < -PIXEL_SLACK or top > 1 + PIXEL_SLACK:
        hint = ": divide 0..255 pixels by 255 (or pass uint8)" if 1 < top <= 255 else ""
        raise DataError(f"{name}: float pixels must be in [0, 1], got {low:g}..{top:g}{hint}")
    return x


def learning_rate(lr: Any, where: str) -> float:
    """A learning rate a step can use: a finite number >= 0 (0 is allowed: a pause)."""
    if type(lr) is float and 0.0 <= lr < math.inf:  # NaN fails both comparisons
        return lr
    ok = isinstance(lr, Real) and not isinstance(lr, bool) and math.isfinite(lr) and float(lr) >= 0
    if not ok:
        raise ConfigError(
            f"{where} = {show(lr)}: a learning rate must be a finite number >= 0",
            setting="schedule",
        )
    return lr


def checked_schedule(schedule: Any) -> Callable[[float], float]:
    """`schedule` with each rate it returns checked: a float comparison per step, no more."""
    if not callable(schedule):
        raise ConfigError(
            f"schedule must be a function epoch -> learning rate (e.g. constant(0.1)), "
            f"got {type(schedule).__name__}",
            setting="schedule",
        )

    if getattr(schedule, "checked", False):
        return cast(Callable[[float], float], schedule)

    def lr(t: float) -> float:
        try:
            value = schedule(t)
        except Exception as exc:
            raise ConfigError(
                f"schedule({t:g}) failed: {type(exc).__name__}: {exc}", setting="schedule"
            ) from None
        return learning_rate(value, f"schedule({t:g})")

    lr.checked = True  # type: ignore[attr-defined]
    return lr


def regularisation(augmentation: Any) -> None:
    """`augmentation` is None or an `Augmentation` (a dict of strengths is not: wrap it)."""
    from .augment import Augmentation

    if augmentation is not None and not isinstance(augmentation, Augmentation):
        hint = " (write Augmentation(**strengths))" if isinstance(augmentation, Mapping) else ""
        raise ConfigError(
            f"augmentation must be an Augmentation or None, got {type(augmentation).__name__}{hint}",
            setting="augmentation",
        )


def optimizer_type(opt: Any) -> None:
    """`opt` is an `Optimizer` (init, step); a chain must first go through `as_optimizer`."""
    from .gradient_transforms import GradientTransformation
    from .optim import Optimizer

    if isinstance(opt, GradientTransformation):
        raise ConfigError(
            "optimizer is a gradient transformation (a chain): pass as_optimizer(chain(...))",
            setting="optimizer",
        )
    if not isinstance(opt, Optimizer) or not (callable(opt.init) and callable(opt.step)):
        raise ConfigError(
            f"optimizer must be an Optimizer (init, step), e.g. as_optimizer(chain(...)), "
            f"got {type(opt).__name__}",
            setting="optimizer",
        )


def optimizer(opt: Any, params: Any) -> None:
    """`opt` is an `Optimizer` whose step goes down the gradient and follows the learning rate.

    One trial step from `params` along a gradient of ones, at two rates, tells: the weights
    must move down (a chain without `scale_by_learning_rate()` adds the gradient and climbs)
    and by an amount that depends on the rate. Run once, before training, never per step.
    """
    from .params import freeze

    optimizer_type(opt)
    ones = freeze({k: np.ones_like(w) for k, w in params.items()})
    try:
        state = opt.init(params)
        moves = [_moved(params, opt.step(params, ones, state, lr=lr)[0]) for lr in (1e-3, 2e-3)]
    except Exception as exc:
        raise ConfigError(
            f"optimizer failed a trial step: {type(exc).__name__}: {exc}", setting="optimizer"
        ) from None
    if not moves[0] < 0:
        raise ConfigError(
            "optimizer does not step down the gradient: a chain needs scale_by_learning_rate()",
            setting="optimizer",
        )
    if moves[0] == moves[1]:
        raise ConfigError(
            "optimizer ignores the learning rate: a chain needs scale_by_learning_rate()",
            setting="optimizer",
        )


def _moved(before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]) -> float:
    """The sum of every weight's change, in float64 (negative: the weights went down)."""
    return sum(float(np.sum(np.subtract(after[k], w, dtype=np.float64))) for k, w in before.items())


Step = TypeVar("Step", bound=Callable[..., Any])


def stepping(step: Step) -> Step:
    """An optimizer step that checks its scalar arguments on every call (`scalars.SCALARS`:
    a NaN momentum is refused, not spread into the weights) and its arrays only if it fails,
    naming the one that is wrong. Scalars cost < 1 us a step in all; arrays, O(size), nothing."""
    from .scalars import checker

    check_scalars = checker(step)

    @functools.wraps(step)
    def checked(params: Any, grads: Any, state: Any, *, lr: Any, **hyper: Any) -> Any:
        learning_rate(lr, "lr")
        check_scalars((), hyper)
        try:
            return step(params, grads, state, lr=lr, **hyper)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            floats(params)
            arrays("grads", grads, params)
            arrays("state", state)
            raise ConfigError(f"state does not fit this optimizer ({exc!r})") from None

    return cast(Step, checked)


def floats(params: Any, name: str = "params") -> Mapping[str, np.ndarray]:
    """A mapping of float arrays (weights an optimizer may change), of any names and shapes."""
    arrays(name, params)
    for k, a in params.items():
        if a.dtype.kind != "f":
            raise ModelError(f"{name}[{k!r}] holds {a.dtype}, expected floats")
    return cast(Mapping[str, np.ndarray], params)


def diagnosed(check: Callable[..., Any]) -> Callable[[Step], Step]:
    """Run a per-step function with its scalar arguments checked (`scalars.checker`, O(1)) and
    its arrays not; only if it raises, `check` (given the same arguments) names the argument
    that was wrong. The happy path pays a comparison or two per scalar, nothing O(size)."""

    def wrap(fn: Step) -> Step:
        from .scalars import checker

        check_scalars = checker(fn)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            check_scalars(args, kwargs)
            try:
                return fn(*args, **kwargs)
            except (IndexError, KeyError, ValueError, TypeError, AttributeError, ArithmeticError,
                    NnfunError):  # fmt: skip
                check(*args, **kwargs)
                raise

        return cast(Step, run)

    return wrap
