"""Scalar arguments checked on every call: one rule per parameter name, the same everywhere.

The functions a training step runs (optimizer steps, gradient transformations, backprop and its
loss, schedules, the weight average) check their arrays only when something fails: that costs
O(size) per step. A scalar costs a comparison or two, so it is checked on every call, on entry:
a NaN momentum is refused by name instead of silently filling the weights with NaN.

`checked(fn)` reads `fn`'s signature once, when `fn` is defined: each parameter annotated
`float`, `int` or `bool` (or `... | None`) gets the rule kept here under its name, and one
without a rule stops the import, so a new scalar parameter cannot go unchecked. Arguments left
at their defaults are the library's own and are not checked again.

The price, measured with timeit around a step that does nothing (min of 5 runs, alternating
with the code before these checks): `sgd_step` with the five scalars a recipe binds pays 0.6 us
more per call (the whole wrapper: 1.0 us), one positional scalar (`checks.diagnosed`) 0.15 us.
`sgd_step` on the seed network (784-1024-10, compiled kernels) takes ~200 us.
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from . import checks

Rule = Callable[[str, Any], None]
"""`rule(name, value)` returns if `value` is usable, else raises ConfigError naming `name`."""

Fn = TypeVar("Fn", bound=Callable[..., Any])


def within(
    low: float,
    high: float = math.inf,
    *,
    above: bool = False,
    below: bool = False,
    off: bool = False,
) -> Rule:
    """A finite number in [low, high], open at `low` with `above` and at `high` with `below`;
    with `off`, None too (the setting is off).

    A float strictly inside, or at a closed end, passes with two comparisons (NaN and the
    infinities fail both); anything else goes to `checks.number`, which accepts or names it.
    """
    ends = tuple(
        e for e, shut in ((low, not above), (high, not below)) if shut and math.isfinite(e)
    )

    def rule(name: str, value: Any) -> None:
        if type(value) is float and (low < value < high or value in ends):
            return
        if value is not None or not off:
            checks.number(name, value, low, high, above=above, below=below)

    return rule


def _count(name: str, value: Any) -> None:
    if type(value) is not int or value < 0:
        checks.whole(name, value, 0)


def _learning_rate(name: str, value: Any) -> None:
    checks.learning_rate(value, name)


def _flag(name: str, value: Any) -> None:
    if value is not True and value is not False:
        checks.flag(name, value)


FRACTION = within(0.0, 1.0, below=True)

SCALARS: dict[str, Rule] = {
    "lr": _learning_rate,
    "t": within(-math.inf),  # a schedule's fractional epoch
    "momentum": FRACTION,
    "beta1": FRACTION,
    "beta2": FRACTION,
    "label_smoothing": FRACTION,
    "smoothing": FRACTION,
    "eps": within(0.0, above=True),
    "weight_decay": within(0.0),
    "l2": within(0.0),
    "clip": within(0.0, above=True, off=True),
    "nesterov": _flag,
    "decay": within(0.0, 1.0),
    "step": _count,
}
"""The rule of each scalar parameter a per-step function may have, by its name."""

SCALAR_TYPES = (float, int, bool, float | None, int | None, bool | None)


def plan(fn: Callable[..., Any]) -> tuple[tuple[int, str, Rule], ...]:
    """`(position, name, rule)` for each scalar parameter of `fn` (position -1: keyword-only).

    TypeError if one has no rule in `SCALARS`: the mistake shows when `fn` is defined.
    """
    hints = typing.get_type_hints(fn)
    steps = []
    for i, p in enumerate(inspect.signature(fn).parameters.values()):
        if hints.get(p.name) not in SCALAR_TYPES:
            continue
        if p.name not in SCALARS:
            raise TypeError(f"{fn.__qualname__}: no rule for its scalar {p.name!r} in SCALARS")
        keyword_only = p.kind is inspect.Parameter.KEYWORD_ONLY
        steps.append((-1 if keyword_only else i, p.name, SCALARS[p.name]))
    return tuple(steps)


def checker(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], None]:
    """A function `(args, kwargs) -> None` that applies `fn`'s scalar rules to one call of it."""
    steps = plan(fn)

    positional = tuple((i, name, rule) for i, name, rule in steps if i >= 0)
    rules = {name: rule for _, name, rule in steps}

    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for i, name, rule in positional:
            if i < len(args):
                rule(name, args[i])
        for name, value in kwargs.items():
            rules.get(name, _other)(name, value)

    return check


def _other(name: str, value: Any) -> None:
    """Not a scalar parameter: an array, or a name the function itself will refuse."""


def checked(fn: Fn) -> Fn:
    """`fn`, checking its scalar arguments on every call before it runs (a few comparisons)."""
    check = checker(fn)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        check(args, kwargs)
        return fn(*args, **kwargs)

    return typing.cast(Fn, run)
