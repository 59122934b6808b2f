"""The core is pure: arguments are never changed, returned parameters are read-only."""

from __future__ import annotations

import numpy as np
import pytest

import nnfun as nf


@pytest.fixture
def setup() -> tuple[nf.Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    params = nf.init_params((20, 16, 10), rng)
    return params, rng.random((8, 20), dtype=np.float32), rng.integers(0, 10, 8)


def snapshot(mapping: nf.Params) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in mapping.items()}


def assert_unchanged(before: dict[str, np.ndarray], after: nf.Params) -> None:
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def assert_read_only(mapping: nf.Params) -> None:
    for value in mapping.values():
        with pytest.raises(ValueError, match="read-only"):
            value[...] = 0
    with pytest.raises(TypeError):
        mapping["W1"] = np.zeros(1)  # type: ignore[index]


def test_init_params_returns_read_only_arrays(setup) -> None:  # type: ignore[no-untyped-def]
    assert_read_only(setup[0])


def test_grads_leave_inputs_untouched_and_return_read_only(setup) -> None:  # type: ignore[no-untyped-def]
    params, x, y = setup
    before, x0, y0 = snapshot(params), x.copy(), y.copy()
    loss, g = nf.grads(params, x, y)
    assert_unchanged(before, params)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    assert_read_only(g)
    assert {k: v.shape for k, v in g.items()} == {k: v.shape for k, v in params.items()}
    assert all(g[k].dtype == params[k].dtype for k in params)


@pytest.mark.parametrize(
    "init, step, kwargs",
    [
        (nf.sgd_init, nf.sgd_step, {}),
        (nf.sgd_init, nf.sgd_step, {"nesterov": True}),
        (nf.adam_init, nf.adam_step, {"weight_decay": 0.01}),
    ],
)
def test_optimizer_steps_are_pure(setup, init, step, kwargs) -> None:  # type: ignore[no-untyped-def]
    params, x, y = setup
    _, g = nf.grads(params, x, y)
    state = init(params)
    before_p, before_g, before_s = snapshot(params), snapshot(g), snapshot(state)
    new_params, new_state = step(params, g, state, lr=0.1, **kwargs)
    new_params2, _ = step(params, g, state, lr=0.1, **kwargs)
    assert_unchanged(before_p, params)
    assert_unchanged(before_g, g)
    assert_unchanged(before_s, state)
    assert_read_only(new_params)
    assert all(new_state[k].flags.writeable is False for k in new_state)
    assert_unchanged(snapshot(new_params), new_params2)  # same inputs, same outputs
    assert not np.array_equal(new_params["W1"], params["W1"])


def test_forward_does_not_touch_input(setup) -> None:  # type: ignore[no-untyped-def]
    params, x, _ = setup
    x0 = x.copy()
    nf.forward(
        params,
        x,
        nf.dropout_masks((20, 16, 10), 8, np.random.default_rng(1), rate=0.5, input_rate=0.5),
    )
    np.testing.assert_array_equal(x, x0)


def test_freeze_leaves_its_argument_alone() -> None:
    mine = {"W1": np.ones((2, 2)), "b1": np.zeros(2)}
    frozen = nf.freeze(mine)
    assert all(a.flags.writeable for a in mine.values())  # the caller's arrays stay writable
    mine["W1"][0, 0] = 5.0  # and writing to them does not reach the frozen copy
    assert frozen["W1"][0, 0] == 1.0
    with pytest.raises(ValueError):
        frozen["b1"][0] = 1.0
    again = nf.freeze(frozen)  # read-only arrays are shared, not copied
    assert again["W1"] is frozen["W1"]
