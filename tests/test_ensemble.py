"""Ensembles in the library: the mean of the members' probabilities, one member = the network."""

from __future__ import annotations

import numpy as np
import pytest

import nnfun as nf
from nnfun.ensemble import log_proba, members


def net(sizes: tuple[int, ...] = (36, 12, 10), seed: int = 0) -> nf.Params:
    return nf.init_params(sizes, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (300, 36), dtype=np.uint8), rng.integers(0, 10, 300)


def test_an_ensemble_of_one_is_the_network_exactly(data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    model = net()
    for one in ([model], (model,)):
        assert np.array_equal(nf.predict_proba(one, x), nf.predict_proba(model, x))
        assert nf.predict_proba(one, x).dtype == nf.predict_proba(model, x).dtype
        assert np.array_equal(nf.predict(one, x), nf.predict(model, x))
        loss, acc, predicted = nf.evaluate(one, x, y)
        alone = nf.evaluate(model, x, y)
        assert (loss, acc) == alone[:2] and np.array_equal(predicted, alone[2])
    logits = nf.forward(model, nf.scale_pixels(x))
    assert np.array_equal(log_proba([model], nf.scale_pixels(x)), nf.log_softmax(logits))


def test_probabilities_are_the_mean_of_the_members(data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    nets = [net(seed=0), net((36, 20, 8, 10), seed=1), net(seed=2)]
    each = [nf.predict_proba(n, x) for n in nets]
    mean = nf.predict_proba(nets, x)
    np.testing.assert_allclose(mean, (each[0] + each[1] + each[2]) / 3, rtol=1e-6)
    np.testing.assert_allclose(mean.sum(axis=1), 1, rtol=1e-5)
    assert np.array_equal(nf.predict(nets, x), mean.argmax(axis=1))
    assert not np.array_equal(mean, each[0])


def test_evaluate_scores_the_mean_probabilities(data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    nets = [net(seed=0), net(seed=3)]
    loss, acc, predicted = nf.evaluate(nets, x, y)
    mean = nf.predict_proba(nets, x).astype(np.float64)
    assert loss == pytest.approx(-np.log(mean[np.arange(len(y)), y]).mean(), rel=1e-5)
    assert acc == pytest.approx(np.mean(mean.argmax(axis=1) == y))
    assert np.array_equal(predicted, mean.argmax(axis=1))


def test_evaluate_is_stable_where_a_member_is_certain() -> None:
    """Huge logits: the log of the mean probability comes from logsumexp, never log(0)."""
    a = nf.freeze({"W1": np.array([[1000.0, -1000.0]], np.float32), "b1": np.zeros(2, np.float32)})
    b = nf.freeze({"W1": np.array([[-1000.0, 1000.0]], np.float32), "b1": np.zeros(2, np.float32)})
    loss, _, _ = nf.evaluate([a, b], np.ones((1, 1), np.float32), np.array([0]))
    assert loss == pytest.approx(np.log(2), rel=1e-5)


def test_models_that_disagree_are_refused_by_name() -> None:
    x = np.zeros((2, 36), np.float32)
    inputs, outputs = net((49, 12, 10)), net((36, 12, 8))
    with pytest.raises(
        nf.ModelError,
        match=r"^model 2 reads 49 values into 10 classes, but model 1 reads 36 into 10",
    ):
        nf.predict_proba([net(), inputs], x)
    with pytest.raises(nf.ModelError, match="model 3 reads 36 values into 8 classes"):
        nf.evaluate([net(), net(seed=1), outputs], x, np.zeros(2, int))
    with pytest.raises(nf.ModelError, match="b.npz reads 49 values"):
        members([net(), inputs], names=["a.npz", "b.npz"])
    for bad in ([], [net(), np.zeros(3)]):
        with pytest.raises(nf.ModelError, match="non-empty sequence of networks"):
            nf.predict(bad, x)  # type: ignore[arg-type]


def test_ensembles_are_pure(data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    nets = [net(seed=0), net(seed=1)]
    copies = [{k: v.copy() for k, v in n.items()} for n in nets]
    before = x.copy()
    nf.predict_proba(nets, x)
    nf.evaluate(nets, x, y)
    assert np.array_equal(x, before)
    assert all(np.array_equal(n[k], c[k]) for n, c in zip(nets, copies, strict=True) for k in n)


def test_read_digit_and_check_fits_take_an_ensemble() -> None:
    nets = [net((784, 16, 10), seed=0), net((784, 8, 10), seed=1)]
    picture = np.zeros((28, 28), np.float32)
    picture[6:22, 12:16] = 1
    reading = nf.read_digit(nets, picture)
    alone = [nf.read_digit(n, picture).probabilities for n in nets]
    np.testing.assert_allclose(reading.probabilities, (alone[0] + alone[1]) / 2, rtol=1e-6)  # type: ignore[operator]
    assert np.array_equal(nf.read_digit(nets[:1], picture).probabilities, alone[0])  # type: ignore[arg-type]
    nf.check_fits(nets, 784, 10)
    with pytest.raises(nf.DataError, match="400"):
        nf.check_fits(nets, 400)
