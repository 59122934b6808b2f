"""Gradient transformations: chains equal the fused optimizers bit for bit, and every piece is pure."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

import nnfun as nf

STEPS, DROP = 50, 25  # the learning rate drops tenfold at step 25


def network(seed: int = 0) -> nf.Params:
    return nf.init_params((784, 64, 10), np.random.default_rng(seed))


def random_grads(params: nf.Params, rng: np.random.Generator, spread: float) -> nf.Params:
    """Gradients wide enough that some values exceed the clipping bounds used below."""
    return nf.freeze(
        {k: rng.standard_normal(w.shape, dtype=np.float32) * spread for k, w in params.items()}
    )


def assert_same_bits(a: nf.Params, b: nf.Params) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), k
        assert a[k].tobytes() == b[k].tobytes(), k  # also tells -0.0 from 0.0


def run_both(
    fused: nf.Optimizer, chained: nf.Optimizer, lr: float, spread: float
) -> tuple[nf.Params, nf.Params, nf.OptState, nf.OptState]:
    """Both optimizers on the same gradients for STEPS steps, the rate dropping at DROP."""
    params_a = params_b = network()
    state_a, state_b = fused.init(params_a), chained.init(params_b)
    rng = np.random.default_rng(1)
    for i in range(STEPS):
        g = random_grads(params_a, rng, spread)
        rate = lr if i < DROP else lr / 10
        params_a, state_a = fused.step(params_a, g, state_a, lr=rate)
        params_b, state_b = chained.step(params_b, g, state_b, lr=rate)
        assert_same_bits(params_a, params_b)
    return params_a, params_b, state_a, state_b


def fused_sgd(**kwargs: Any) -> nf.Optimizer:
    return nf.Optimizer(nf.sgd_init, partial(nf.sgd_step, **kwargs))


def fused_adam(**kwargs: Any) -> nf.Optimizer:
    return nf.Optimizer(nf.adam_init, partial(nf.adam_step, **kwargs))


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("clip", [5.0, None])
def test_sgd_chain_equals_fused_sgd_step_bit_for_bit(nesterov: bool, clip: float | None) -> None:
    parts = [nf.add_decayed_weights(1e-4)]
    parts += [nf.clip(clip)] if clip is not None else []
    parts += [nf.scale_by_learning_rate(), nf.trace(0.9, nesterov=nesterov)]
    fused = fused_sgd(momentum=0.9, weight_decay=1e-4, clip=clip, nesterov=nesterov)
    _, _, state_a, state_b = run_both(fused, nf.as_optimizer(nf.chain(*parts)), 0.01, 3.0)
    last = len(parts) - 1
    velocity = {k: state_b[f"{last}.{k}"] for k in state_a}
    assert state_b.keys() == {f"{last}.{k}" for k in state_a}
    assert_same_bits(state_a, nf.freeze(velocity))


def test_the_seed_rule_as_written_in_the_issue() -> None:
    seed = nf.chain(
        nf.add_decayed_weights(1e-4), nf.clip(5), nf.scale_by_learning_rate(), nf.trace(0.9)
    )
    run_both(fused_sgd(), nf.as_optimizer(seed), 0.01, 3.0)


@pytest.mark.parametrize("clip", [1.0, None])
def test_adam_with_l2_chain_equals_fused_adam_step(clip: float | None) -> None:
    parts = [nf.add_decayed_weights(1e-3)]
    parts += [nf.clip(clip)] if clip is not None else []
    parts += [nf.scale_by_adam(0.9, 0.999, 1e-8), nf.scale_by_learning_rate()]
    fused = fused_adam(l2=1e-3, clip=clip)
    _, _, state_a, state_b = run_both(fused, nf.as_optimizer(nf.chain(*parts)), 1e-3, 0.5)
    adam = len(parts) - 2
    assert_same_bits(state_a, nf.freeze({k: state_b[f"{adam}.{k}"] for k in state_a}))


@pytest.mark.parametrize("clip", [1.0, None])
def test_adamw_chain_equals_fused_adam_step_with_decoupled_decay(clip: float | None) -> None:
    parts = [nf.clip(clip)] if clip is not None else []
    parts += [nf.scale_by_adam(), nf.add_decayed_weights(1e-2), nf.scale_by_learning_rate()]
    fused = fused_adam(weight_decay=1e-2, clip=clip)
    run_both(fused, nf.as_optimizer(nf.chain(*parts)), 1e-3, 0.5)


def test_the_rate_inside_the_velocity_matters_when_it_drops() -> None:
    """`v = mu v - lr g` keeps the old rate's momentum; `v = mu v + g, u = -lr v` drops at once."""
    inside = nf.as_optimizer(nf.chain(nf.scale_by_learning_rate(), nf.trace(0.9)))
    outside = nf.as_optimizer(nf.chain(nf.trace(0.9), nf.scale_by_learning_rate()))
    params = nf.freeze({"W1": np.zeros((1, 1))})
    g = nf.freeze({"W1": np.ones((1, 1))})
    a, b = params, params
    sa, sb = inside.init(params), outside.init(params)
    for _ in range(20):
        a, sa = inside.step(a, g, sa, lr=1.0)
        b, sb = outside.step(b, g, sb, lr=1.0)
    assert a["W1"][0, 0] == pytest.approx(b["W1"][0, 0])  # the same while the rate is constant
    a2, _ = inside.step(a, g, sa, lr=0.01)
    b2, _ = outside.step(b, g, sb, lr=0.01)
    v = (1 - 0.9**20) / (1 - 0.9)  # the speed both reached at rate 1
    assert a2["W1"][0, 0] - a["W1"][0, 0] == pytest.approx(-(0.9 * v + 0.01))  # about -7.9
    assert b2["W1"][0, 0] - b["W1"][0, 0] == pytest.approx(-0.01 * (0.9 * v + 1))  # about -0.09


ALL = {
    "decay": lambda: nf.add_decayed_weights(0.1),
    "masked decay": lambda: nf.add_decayed_weights(0.1, mask=nf.is_weight),
    "clip": lambda: nf.clip(0.5),
    "global norm": lambda: nf.clip_by_global_norm(1.0),
    "learning rate": nf.scale_by_learning_rate,
    "momentum": lambda: nf.trace(0.9),
    "nesterov": lambda: nf.trace(0.9, nesterov=True),
    "adam": nf.scale_by_adam,
    "empty chain": nf.chain,
    "chain": lambda: nf.chain(nf.clip(1.0), nf.scale_by_adam(), nf.scale_by_learning_rate()),
}


@pytest.mark.parametrize("make", ALL.values(), ids=ALL.keys())
def test_transforms_leave_inputs_untouched_and_return_read_only_arrays(
    make: Callable[[], nf.GradientTransformation],
) -> None:
    rng = np.random.default_rng(2)
    # Plain writable dicts as inputs: their arrays must keep their values and their flags.
    params = {"W1": rng.standard_normal((5, 4)), "b1": rng.standard_normal(4)}
    grads = {k: rng.standard_normal(w.shape) for k, w in params.items()}
    before = {k: v.copy() for k, v in (params | {f"g{k}": g for k, g in grads.items()}).items()}
    t = make()
    state = t.init(nf.freeze({k: w.copy() for k, w in params.items()}))
    for _ in range(2):
        updates, state = t.update(grads, state, params, lr=0.1)
        for mapping in (updates, state):
            for value in mapping.values():
                with pytest.raises(ValueError, match="read-only"):
                    value[...] = 0
            with pytest.raises(TypeError):
                mapping["W1"] = np.zeros(1)  # type: ignore[index]
        assert updates.keys() == params.keys()
        assert all(updates[k].dtype == params[k].dtype for k in params)
    for k, w in params.items():
        assert w.flags.writeable and grads[k].flags.writeable
        assert np.array_equal(w, before[k]) and np.array_equal(grads[k], before[f"g{k}"])


def test_as_optimizer_leaves_params_and_state_untouched() -> None:
    opt = nf.as_optimizer(nf.chain(nf.scale_by_learning_rate(), nf.trace(0.9)))
    params = network()
    grads = random_grads(params, np.random.default_rng(3), 1.0)
    _, state = opt.step(params, grads, opt.init(params), lr=0.1)  # a velocity that is not zero
    p0, s0 = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in state.items()}
    new, new_state = opt.step(params, grads, state, lr=0.1)
    assert_same_bits(params, nf.freeze(p0))
    assert_same_bits(state, nf.freeze(s0))
    assert not any(v.flags.writeable for v in (*new.values(), *new_state.values()))


def test_global_norm_clipping_shortens_the_step_but_keeps_its_direction() -> None:
    params = network()
    grads = random_grads(params, np.random.default_rng(4), 1.0)
    norm = nf.global_norm(grads)
    assert norm == pytest.approx(
        np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values()))
    )
    t = nf.clip_by_global_norm(norm / 3)
    clipped, _ = t.update(grads, t.init(params), params, lr=0.1)
    assert nf.global_norm(clipped) <= norm / 3 * (1 + 1e-6)
    assert nf.global_norm(clipped) == pytest.approx(norm / 3, rel=1e-6)
    for k, g in grads.items():  # the same direction: every array shrinks by the same factor
        np.testing.assert_allclose(clipped[k], g / 3, rtol=1e-5, atol=1e-9)
    below, _ = nf.clip_by_global_norm(norm * 1.01).update(grads, t.init(params), params, lr=0.1)
    assert_same_bits(below, grads)  # below the bound nothing changes


def test_value_clipping_bounds_every_element() -> None:
    u = nf.freeze({"W1": np.array([[-7.0, -0.5, 0.0, 0.5, 7.0]])})
    t = nf.clip(1.0)
    out, _ = t.update(u, t.init(u), u, lr=0.1)
    assert out["W1"].tolist() == [[-1.0, -0.5, 0.0, 0.5, 1.0]]


def test_masked_decay_leaves_biases_untouched() -> None:
    params = network()
    grads = random_grads(params, np.random.default_rng(5), 1.0)
    t = nf.add_decayed_weights(0.1, mask=nf.is_weight)
    out, state = t.update(grads, t.init(params), params, lr=0.1)
    assert len(state) == 0
    for k in params:
        if k.startswith("b"):
            assert_same_bits(nf.freeze({k: out[k]}), nf.freeze({k: grads[k]}))
        else:
            np.testing.assert_allclose(out[k], grads[k] + 0.1 * params[k], rtol=1e-6)


def test_masked_keeps_state_only_for_the_chosen_parameters() -> None:
    params = network()
    t = nf.chain(nf.masked(nf.trace(0.9), nf.is_weight), nf.scale_by_learning_rate())
    assert set(t.init(params)) == {"0.velocity.W1", "0.velocity.W2"}
    grads = random_grads(params, np.random.default_rng(6), 1.0)
    out, _ = t.update(grads, t.init(params), params, lr=0.5)
    np.testing.assert_array_equal(out["b1"], grads["b1"] * np.float32(-0.5))


def test_chain_state_is_flat_and_survives_an_npz_round_trip() -> None:
    opt = nf.as_optimizer(
        nf.chain(nf.clip(1.0), nf.chain(nf.scale_by_adam(), nf.scale_by_learning_rate()))
    )
    params = network()
    grads = random_grads(params, np.random.default_rng(7), 1.0)
    _, state = opt.step(params, grads, opt.init(params), lr=1e-3)
    assert {k for k in state if not k.startswith("1.0.m.")} >= {"1.0.step", "1.0.v.W1"}
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as z:
        loaded = nf.freeze({k: z[k] for k in z.files})
    new_a, _ = opt.step(params, grads, state, lr=1e-3)
    new_b, _ = opt.step(params, grads, loaded, lr=1e-3)
    assert_same_bits(new_a, new_b)


def sign() -> nf.GradientTransformation:
    """A custom transformation without state, in one line: sign-SGD's direction."""
    return nf.stateless(lambda u, w, lr: {k: np.sign(g) for k, g in u.items()})


def scale_by_rms(decay: float = 0.9, eps: float = 1e-8) -> nf.GradientTransformation:
    """A custom transformation with state, RMSprop: `s = d s + (1 - d) u^2`, `u = u / (sqrt(s) + eps)`."""

    def init(params: nf.Params) -> nf.OptState:
        return nf.freeze({f"s.{k}": np.zeros_like(w) for k, w in params.items()})

    def update(
        updates: nf.Params, state: nf.OptState, params: nf.Params, *, lr: float
    ) -> tuple[nf.Params, nf.OptState]:
        s = {k: decay * state[f"s.{k}"] + (1 - decay) * u**2 for k, u in updates.items()}
        out = {k: u / (np.sqrt(s[k]) + eps) for k, u in updates.items()}
        return nf.freeze(out), nf.freeze({f"s.{k}": v for k, v in s.items()})

    return nf.GradientTransformation(init, update)


def test_custom_transforms_compose_with_the_built_in_ones() -> None:
    params = nf.freeze({"W1": np.array([[1.0, 2.0]]), "b1": np.array([0.0])})
    grads = nf.freeze({"W1": np.array([[3.0, -0.5]]), "b1": np.array([0.0])})
    signed = nf.as_optimizer(nf.chain(sign(), nf.scale_by_learning_rate()))
    new, _ = signed.step(params, grads, signed.init(params), lr=0.1)
    np.testing.assert_allclose(new["W1"], [[0.9, 2.1]])
    rms = nf.as_optimizer(nf.chain(nf.clip(1.0), scale_by_rms(0.9), nf.scale_by_learning_rate()))
    state = rms.init(params)
    assert set(state) == {"1.s.W1", "1.s.b1"}
    new, state = rms.step(params, grads, state, lr=0.1)
    s = 0.1 * np.array([[1.0, 0.25]])  # clipped to (1, -0.5), squared, (1 - 0.9) of it
    np.testing.assert_allclose(state["1.s.W1"], s)
    np.testing.assert_allclose(new["W1"], params["W1"] - 0.1 * np.array([[1.0, -0.5]]) / np.sqrt(s))


def test_an_empty_chain_changes_nothing() -> None:
    params = network()
    grads = random_grads(params, np.random.default_rng(8), 1.0)
    t = nf.chain()
    out, state = t.update(grads, t.init(params), params, lr=0.1)
    assert_same_bits(out, grads)
    assert len(state) == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: nf.clip(0.0),
        lambda: nf.clip_by_global_norm(-1.0),
        lambda: nf.trace(1.0),
        lambda: nf.scale_by_adam(beta1=1.0),
        lambda: nf.scale_by_adam(eps=0.0),
    ],
)
def test_bad_hyper_parameters_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()


def test_fit_with_the_seed_chain_trains_the_same_weights_as_the_fused_step() -> None:
    rng = np.random.default_rng(9)
    x = rng.integers(0, 256, (300, 20), dtype=np.uint8)
    y = rng.integers(0, 10, 300)
    seed_chain = nf.chain(
        nf.add_decayed_weights(1e-4), nf.clip(5.0), nf.scale_by_learning_rate(), nf.trace(0.9)
    )
    finals = []
    for optimizer in (nf.Optimizer(nf.sgd_init, nf.sgd_step), nf.as_optimizer(seed_chain)):
        *_, last = nf.fit(
            nf.init_params((20, 16, 10), np.random.default_rng(0)),
            x[:250],
            y[:250],
            x[250:],
            y[250:],
            optimizer=optimizer,
            schedule=nf.step_decay(0.05, (2,), 0.1),  # the rate drops after two epochs
            epochs=4,
            batch_size=32,
        )
        finals.append(last)
    assert_same_bits(finals[0].params, finals[1].params)
    assert [r.train_loss for r in finals[0].history] == [r.train_loss for r in finals[1].history]
