"""Per-step functions refuse a bad scalar on every call, by name: never a warning, never NaN weights.

A training step runs functions that check their arrays only when something fails (`checks.stepping`,
`checks.diagnosed`), but their scalars on every call (`nnfun.scalars`). The corpus here is built by
introspection, so a new step function or a new scalar parameter is in it without a line written:

- every public function of `nnfun.__all__` with a scalar parameter (annotated `float`, `int`,
  `bool`, or `... | None`) whose name has a per-step rule in `scalars.SCALARS`;
- every per-step function a public maker returns, found by the maker's return annotation: a
  `Schedule`, a `GradientTransformation`'s `update`, an `Optimizer`'s `step`.

Each scalar gets NaN, inf, -inf, a string, a bool, None (unless it may be None) and -1 (where its
rule refuses it), and must raise one line of NnfunError naming it, with NumPy warnings as errors.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_api_boundaries import CALLS, PARAMS, XF, Y

import nnfun as nf
from nnfun import scalars
from nnfun.network import forward_backward_rows

SCALAR_TYPES = scalars.SCALAR_TYPES
NOTHING = inspect.Parameter.empty


def scalar_parameters(fn: Callable[..., Any]) -> dict[str, Any]:
    """`{name: annotation}` for each scalar parameter of `fn` (through any wrapper)."""
    hints = typing.get_type_hints(fn)
    return {n: hints[n] for n in inspect.signature(fn).parameters if hints.get(n) in SCALAR_TYPES}


def spoilers(name: str, annotation: Any) -> list[Any]:
    """The values `name` must refuse: non-finite, wrong types, and -1 where its rule says so."""
    may_be_none = type(None) in typing.get_args(annotation)
    if annotation in (bool, bool | None):
        values: list[Any] = ["yes", 1, math.nan]
    else:
        values = [math.nan, math.inf, -math.inf, "0.1", True, np.float64(math.nan)]
        values += [-1.0] if refuses(name, -1.0) else []
    return values + ([] if may_be_none else [None])


def refuses(name: str, value: Any) -> bool:
    """Whether the per-step rule for `name` refuses `value` (False for a maker's own setting)."""
    try:
        scalars.SCALARS.get(name, lambda *_: None)(name, value)
    except nf.ConfigError:
        return True
    return False


# --------------------------------------------------------------------------- the corpus

Call = Callable[..., Any]


NOT_STEPS = {"gradcheck", "numerical_grads"}
"""Checks of the maths, run once, never in a step (their `eps` is a finite-difference step)."""


def _public() -> dict[str, tuple[Call, dict[str, Any]]]:
    """Public functions with a per-step scalar: `name -> (call, good keywords)` from CALLS."""
    found = {}
    for name in nf.__all__:
        fn = getattr(nf, name)
        if not inspect.isfunction(fn) or name in NOT_STEPS:
            continue
        if set(scalar_parameters(fn)) & set(scalars.SCALARS):
            assert name in CALLS, f"{name}: add good arguments to CALLS in test_api_boundaries.py"
            found[name] = CALLS[name]
    return found


EXTRA_MAKERS: dict[str, Callable[[], Any]] = {
    "chain": lambda: nf.chain(nf.add_decayed_weights(1e-4), nf.scale_by_learning_rate()),
    "masked": lambda: nf.masked(nf.scale_by_adam(), nf.is_weight),
}
"""Makers CALLS cannot express (variadic, or skipped there)."""


def _made(name: str, fn: Call) -> tuple[Call, dict[str, Any]] | None:
    """The per-step function a public maker returns, with good keywords for it; None if none."""
    returns = typing.get_type_hints(fn).get("return")
    if returns not in (nf.Schedule, nf.GradientTransformation, nf.Optimizer):
        return None
    made = EXTRA_MAKERS[name]() if name in EXTRA_MAKERS else fn(**CALLS[name][1])
    if isinstance(made, nf.GradientTransformation):
        return made.update, {"updates": PARAMS, "state": made.init(PARAMS), "params": PARAMS}
    if isinstance(made, nf.Optimizer):
        return made.step, {"params": PARAMS, "grads": PARAMS, "state": made.init(PARAMS)}
    return made, {}


def _returned() -> dict[str, tuple[Call, dict[str, Any]]]:
    found = {}
    for name in nf.__all__:
        fn = getattr(nf, name)
        if inspect.isfunction(fn) and (made := _made(name, fn)) is not None:
            found[f"{name}(...)"] = made
    return found


GOOD = {"lr": 0.1, "t": 0.5}
"""Values for the returned functions' own scalars (the makers' are in CALLS)."""

FUNCTIONS = _public() | _returned()
FUNCTIONS["forward_backward_rows"] = (forward_backward_rows, CALLS["forward_backward"][1])
"""What the corpus calls: public functions by name, what makers return as `maker(...)`, and the
training loop's own backprop (not public: `forward_backward` is its door)."""


def _cases() -> list[tuple[str, str, Any]]:
    cases = []
    for label, (call, good) in FUNCTIONS.items():
        target = getattr(nf, label, call) if label in CALLS else call
        for arg, annotation in scalar_parameters(target).items():
            assert arg in good or arg in GOOD or arg in _defaults(target), (label, arg)
            cases += [(label, arg, value) for value in spoilers(arg, annotation)]
    return cases


def _defaults(fn: Call) -> set[str]:
    return {n for n, p in inspect.signature(fn).parameters.items() if p.default is not NOTHING}


CASES = _cases()


def outcome(call: Call, good: dict[str, Any], arg: str, value: Any) -> str | None:
    """What is wrong with how `call` took `value` for `arg` (None: refused by name, one line)."""
    kwargs = {**{k: v for k, v in GOOD.items() if k in scalar_parameters(call)}, **good}
    kwargs[arg] = value
    try:
        with np.errstate(all="raise"):  # a NumPy warning is no answer
            call(**kwargs)
    except nf.NnfunError as exc:
        message = str(exc)
        if arg not in message or len(message.splitlines()) > 1:
            return f"{arg}={value!r}: the message does not name {arg} on one line: {message}"
        return None
    except Exception as exc:
        return f"{arg}={value!r} raised {type(exc).__name__}: {exc}"
    return f"{arg}={value!r} was taken silently"


@pytest.mark.parametrize("label, arg, value", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]!r}" for c in CASES])
def test_a_bad_scalar_is_refused_by_name(label: str, arg: str, value: Any) -> None:
    call, good = FUNCTIONS[label]
    problem = outcome(call, good, arg, value)
    assert problem is None, f"{label}: {problem}"


def test_the_corpus_covers_every_step_function() -> None:
    """Large, and over the functions a step runs: a rename or a lost annotation shows here."""
    assert len(CASES) >= 200, len(CASES)
    expected = {
        "sgd_step", "adam_step", "forward_backward", "forward_backward_rows", "grads",
        "softmax_cross_entropy", "ema_update", "ema_decay_at", "constant(...)", "cosine(...)",
        "step_decay(...)", "one_cycle(...)", "warmup(...)", "trace(...)", "scale_by_adam(...)",
        "clip(...)", "scale_by_learning_rate(...)", "chain(...)", "masked(...)",
        "as_optimizer(...)", "with_average(...)", "stateless(...)",
    }  # fmt: skip
    assert expected <= set(FUNCTIONS), expected - set(FUNCTIONS)
    hyper = {arg for label, arg, _ in CASES if label in ("sgd_step", "adam_step")}
    steps = {"lr", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay", "l2", "clip"}
    assert hyper == steps


def test_the_corpus_bites_without_the_checks() -> None:
    """The bodies without their decorators take NaN settings silently: the corpus says so."""
    sgd, good = nf.sgd_step.__wrapped__, CALLS["sgd_step"][1]  # type: ignore[attr-defined]
    problems = [outcome(sgd, good, "momentum", v) for v in spoilers("momentum", float)]
    assert sum(p is not None for p in problems) >= 4, problems
    assert any(p and "silently" in p for p in problems)
    ema = nf.ema_update.__wrapped__  # type: ignore[attr-defined]
    assert outcome(ema, CALLS["ema_update"][1], "decay", math.nan) is not None


def test_nan_momentum_no_longer_fills_the_weights_with_nan() -> None:
    """The listed member: `sgd_step(momentum=nan)` used to return NaN weights without a word."""
    state = nf.sgd_init(PARAMS)
    with pytest.raises(nf.ConfigError, match="momentum"):
        nf.sgd_step(PARAMS, PARAMS, state, lr=0.1, momentum=math.nan)


def test_a_rule_is_needed_for_every_scalar_of_a_checked_function() -> None:
    """A new scalar parameter without a rule stops its module's import, not a later run."""

    def step(params: Any, *, lr: float, shiny: float = 1.0) -> None: ...

    with pytest.raises(TypeError, match="shiny"):
        scalars.checked(step)


# --------------------------------------------------------------------------- labels

BACKPROP = {
    "forward_backward_rows": lambda y: forward_backward_rows(PARAMS, XF, y),
    "forward_backward": lambda y: nf.forward_backward(PARAMS, XF, y),
    "grads": lambda y: nf.grads(PARAMS, XF, y),
    "softmax_cross_entropy": lambda y: nf.softmax_cross_entropy(nf.forward(PARAMS, XF), y),
}


@pytest.mark.parametrize("name", BACKPROP)
@pytest.mark.parametrize("wrong", [-1, -10, 10, 2**40])
def test_a_label_outside_the_classes_is_refused(name: str, wrong: int) -> None:
    """A negative label used to index from the end of the logits and train the wrong class."""
    y = Y.copy()
    y[3] = wrong
    with pytest.raises(nf.DataError, match=f"label {wrong}; labels must be 0..9"):
        BACKPROP[name](y)


def test_labels_at_the_ends_of_the_range_are_taken() -> None:
    y = Y.copy()
    y[:2] = 0, 9
    loss, g, _ = nf.forward_backward(PARAMS, XF, y)
    assert math.isfinite(loss) and all(np.isfinite(a).all() for a in g.values())


BAD_STEPS = [
    math.nan,
    math.inf,
    -math.inf,
    0.0,
    -1e-6,
    1.5,
    "1e-6",
    True,
    None,
    np.float64(math.nan),
]
"""Finite-difference steps `gradcheck` and `numerical_grads` must refuse: their rule is (0, 1]."""


@pytest.mark.parametrize("name", sorted(NOT_STEPS))
@pytest.mark.parametrize("value", BAD_STEPS, ids=repr)
def test_a_gradient_check_refuses_a_bad_step_by_name(name: str, value: Any) -> None:
    problem = outcome(getattr(nf, name), {"params": PARAMS, "x": XF[:4], "y": Y[:4]}, "eps", value)
    assert problem is None, f"{name}: {problem}"


def test_every_scalar_of_a_gradient_check_is_covered() -> None:
    """`eps` has its own cases above, `label_smoothing` its per-step rule: nothing else is left."""
    for name in NOT_STEPS:
        assert set(scalar_parameters(getattr(nf, name))) == {"eps", "label_smoothing"}, name
        good = getattr(nf, name)(PARAMS, XF[:4], Y[:4], eps=0.5, label_smoothing=0.1)
        assert set(good) == set(PARAMS)
