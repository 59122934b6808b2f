"""Optimizers against steps computed by hand, and schedules against their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnfun as nf


def one(w: float) -> nf.Params:
    return nf.freeze({"W1": np.array([[w]]), "b1": np.array([0.0])})


def test_sgd_step_by_hand() -> None:
    params, grads = one(2.0), one(3.0)
    state = nf.freeze({"velocity.W1": np.array([[0.5]]), "velocity.b1": np.array([0.0])})
    new, new_state = nf.sgd_step(
        params, grads, state, lr=0.1, momentum=0.9, weight_decay=0.01, clip=5.0
    )
    g = 3.0 + 0.01 * 2.0  # gradient plus L2
    v = 0.9 * 0.5 - 0.1 * g  # 0.148
    assert new_state["velocity.W1"][0, 0] == pytest.approx(v)
    assert new["W1"][0, 0] == pytest.approx(2.0 + v)


def test_sgd_clips_the_regularised_gradient() -> None:
    params, grads = one(1.0), one(100.0)
    new, state = nf.sgd_step(
        params, grads, nf.sgd_init(params), lr=0.1, weight_decay=1e-4, clip=5.0
    )
    assert state["velocity.W1"][0, 0] == pytest.approx(-0.5)  # -lr * clip(100.0001) = -0.1 * 5
    assert new["W1"][0, 0] == pytest.approx(0.5)
    unclipped, _ = nf.sgd_step(
        params, grads, nf.sgd_init(params), lr=0.1, weight_decay=0.0, clip=None
    )
    assert unclipped["W1"][0, 0] == pytest.approx(1.0 - 10.0)


def test_nesterov_looks_ahead() -> None:
    params, grads = one(1.0), one(2.0)
    state = nf.freeze({"velocity.W1": np.array([[1.0]]), "velocity.b1": np.array([0.0])})
    new, new_state = nf.sgd_step(
        params, grads, state, lr=0.1, momentum=0.9, weight_decay=0.0, nesterov=True
    )
    v = 0.9 * 1.0 - 0.1 * 2.0
    assert new_state["velocity.W1"][0, 0] == pytest.approx(v)
    assert new["W1"][0, 0] == pytest.approx(1.0 + 0.9 * v - 0.1 * 2.0)


def test_adam_first_steps_by_hand() -> None:
    params, grads = one(1.0), one(0.5)
    state = nf.adam_init(params)
    new, state = nf.adam_step(params, grads, state, lr=0.01)
    # After one step the bias-corrected m^ = g and v^ = g^2, so the step is lr * sign(g).
    assert new["W1"][0, 0] == pytest.approx(1.0 - 0.01, abs=1e-7)
    assert int(state["step"]) == 1
    new2, state = nf.adam_step(new, one(-0.5), state, lr=0.01)
    m = (0.9 * 0.1 * 0.5 + 0.1 * -0.5) / (1 - 0.9**2)
    v = (0.999 * 0.001 * 0.25 + 0.001 * 0.25) / (1 - 0.999**2)
    assert new2["W1"][0, 0] == pytest.approx(0.99 - 0.01 * m / (math.sqrt(v) + 1e-8))


def test_adamw_decays_weights_decoupled_from_the_gradient() -> None:
    params = one(2.0)
    zero = one(0.0)
    new, _ = nf.adam_step(params, zero, nf.adam_init(params), lr=0.1, weight_decay=0.5)
    assert new["W1"][0, 0] == pytest.approx(2.0 - 0.1 * 0.5 * 2.0)


def test_step_decay_matches_the_seed_schedule() -> None:
    lr = nf.step_decay(0.01, (30, 50, 65), 0.1)
    assert [lr(e) for e in (0, 29, 29.99, 30, 49, 50, 64, 65, 79)] == pytest.approx(
        [0.01, 0.01, 0.01, 0.001, 0.001, 1e-4, 1e-4, 1e-5, 1e-5]
    )


def test_cosine_warmup_and_one_cycle() -> None:
    cos = nf.cosine(0.1, 100)
    assert (
        cos(0) == pytest.approx(0.1)
        and cos(50) == pytest.approx(0.05)
        and cos(100) == pytest.approx(0.0)
    )
    warm = nf.warmup(nf.constant(0.1), 5)
    assert warm(0) == pytest.approx(0.001) and warm(5) == pytest.approx(0.1)
    assert warm(2.5) == pytest.approx(0.1 * (0.01 + 0.99 * 0.5))
    cycle = nf.one_cycle(1.0, 100, peak=0.3)
    assert cycle(0) == pytest.approx(1 / 25) and cycle(30) == pytest.approx(1.0)
    assert cycle(100) == pytest.approx(1 / 25 / 1e4)
    assert all(cycle(t) >= cycle(t + 1) for t in range(30, 99))


@pytest.mark.parametrize("nesterov", [False, True])
def test_update_of_a_big_matrix_equals_the_plain_float32_formula_bit_for_bit(
    nesterov: bool,
) -> None:
    rng = np.random.default_rng(0)
    w, grad, v = (rng.standard_normal((784, 1024), dtype=np.float32) for _ in range(3))
    grad[0, :5] = 100.0  # some values get clipped
    f32 = np.float32
    g = np.clip(w * f32(1e-4) + grad, f32(-5), f32(5)) * f32(0.01)
    v_new = v * f32(0.9) - g
    w_new = w + (v_new * f32(0.9) - g) if nesterov else w + v_new
    params, state = nf.freeze({"W1": w}), nf.freeze({"velocity.W1": v})
    new, new_state = nf.sgd_step(params, nf.freeze({"W1": grad}), state, lr=0.01, nesterov=nesterov)
    assert np.array_equal(new_state["velocity.W1"], v_new)
    assert np.array_equal(new["W1"], w_new)
