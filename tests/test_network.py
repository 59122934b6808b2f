"""The network's math: initialisation, forward pass, backprop checked against numerical derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import nnfun as nf


def batch(
    rng: np.random.Generator, n: int, features: int, classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    return rng.random((n, features)), rng.integers(0, classes, n)


@pytest.mark.parametrize(
    "sizes",
    [(30, 16, 10), (30, 16, 12, 10), (30, 16, 12, 8, 10)],
    ids=["1 hidden", "2 hidden", "3 hidden"],
)
def test_backprop_matches_central_differences_in_float64(sizes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    params = nf.init_params(sizes, rng, np.float64)
    x, y = batch(rng, 8, sizes[0])
    errors = nf.gradcheck(params, x, y)
    assert set(errors) == set(params)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.slow  # 784 inputs: a few seconds of central differences
def test_gradcheck_on_mnist_sized_input() -> None:
    rng = np.random.default_rng(2)
    params = nf.init_params((784, 8, 10), rng, np.float64)
    x, y = batch(rng, 4, 784)
    assert max(nf.gradcheck(params, x, y).values()) < 1e-7


def test_gradcheck_with_dropout_masks_and_label_smoothing() -> None:
    rng = np.random.default_rng(3)
    sizes = (30, 16, 12, 10)
    params = nf.init_params(sizes, rng, np.float64)
    x, y = batch(rng, 8, 30)
    masks = nf.dropout_masks(sizes, 8, rng, rate=0.5, input_rate=0.2, dtype=np.float64)
    assert all(m is not None for m in masks)
    assert max(nf.gradcheck(params, x, y, masks=masks, label_smoothing=0.1).values()) < 1e-7


def test_gradcheck_catches_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check must be able to fail: halve one gradient and it has to notice."""
    import nnfun.gradient_check as gc

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        loss, g = nf.grads(*args, **kwargs)
        return loss, {**g, "b1": g["b1"] * 0.5}

    monkeypatch.setattr(gc, "grads", broken)
    rng = np.random.default_rng(4)
    params = nf.init_params((20, 8, 10), rng, np.float64)
    x, y = batch(rng, 4, 20)
    errors = gc.gradcheck(params, x, y)
    assert errors["b1"] > 0.1 and errors["W1"] < 1e-7


def test_he_init_shapes_scale_and_zero_biases() -> None:
    params = nf.init_params((784, 1024, 512, 10), np.random.default_rng(0))
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert params["W1"].shape == (784, 1024) and params["W3"].shape == (512, 10)
    assert all(p.dtype == np.float32 for p in params.values())
    assert params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.01)
    assert params["W2"].std() == pytest.approx(np.sqrt(2 / 1024), rel=0.01)
    assert not params["b2"].any()
    assert nf.layer_sizes(params) == (784, 1024, 512, 10)


def test_forward_shapes_and_relu() -> None:
    params = nf.freeze({"W1": -np.eye(3), "b1": np.zeros(3), "W2": np.eye(3), "b2": np.ones(3)})
    logits = nf.forward(params, np.array([[1.0, -2.0, 3.0]]))
    # relu(-x) keeps only the negative input (-2 -> 2); the output layer adds 1.
    np.testing.assert_array_equal(logits, [[1.0, 3.0, 1.0]])


def test_softmax_cross_entropy_is_stable_and_its_gradient_is_softmax_minus_onehot() -> None:
    logits = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    loss, grad = nf.softmax_cross_entropy(logits, np.array([0, 2]))
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert np.isfinite(loss)
    assert loss == pytest.approx((0.0 - np.log(p[2])) / 2)
    np.testing.assert_allclose(grad, np.array([[0, 0, 0], p - [0, 0, 1]]) / 2, atol=1e-12)


def test_dropout_masks_are_inverted_and_none_when_off() -> None:
    rng = np.random.default_rng(0)
    masks = nf.dropout_masks((784, 1024, 10), 2000, rng, rate=0.25)
    assert masks[0] is None
    values = np.unique(masks[1])
    np.testing.assert_allclose(values, [0, 1 / 0.75], rtol=1e-6)
    assert masks[1].mean() == pytest.approx(1.0, abs=0.01)  # expected activation unchanged
