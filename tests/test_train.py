"""The training loop: it learns, it is deterministic, and a resumed run equals one left alone."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from toy_training import CONFIG, blobs, fake_clock, run

import nnfun as nf
import nnfun.batching
import nnfun.network
import nnfun.sparse
import nnfun.train
from nnfun.serialize import checkpoint_from_npz, checkpoint_to_npz


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, ...]:
    return blobs(noise=25)


@pytest.fixture(scope="module")
def framed(toy) -> tuple[np.ndarray, ...]:  # type: ignore[no-untyped-def]
    """The toy images in a blank frame, 10x10: 64 of the 100 pixels are 0 in every image (some
    stay 0 after a shift of 1), so the first layer takes its sparse path."""

    def frame(x: np.ndarray) -> np.ndarray:
        return np.pad(x.reshape(-1, 6, 6), ((0, 0), (2, 2), (2, 2))).reshape(len(x), 100)

    x, y, x_val, y_val = toy
    return frame(x), y, frame(x_val), y_val


KERNELS = pytest.mark.parametrize("kernels", ["numpy", "numba"])


def test_fit_learns(toy) -> None:  # type: ignore[no-untyped-def]
    state = run(CONFIG, toy)
    assert state.epoch == 4 and len(state.history) == 4
    assert state.history[-1].val_accuracy > 0.9
    assert state.history[-1].train_loss < state.history[0].train_loss


def test_same_seed_same_weights_and_history(toy) -> None:  # type: ignore[no-untyped-def]
    a, b = run(CONFIG, toy), run(CONFIG, toy)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])
    assert a.history == b.history
    c = run(replace(CONFIG, seed=1), toy)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@KERNELS
@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_resumed_run_is_bit_identical(framed, optimizer, kernels, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if kernels == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv("NNFUN_KERNELS", kernels)
    toy = framed
    config = replace(
        CONFIG,
        optimizer=optimizer,
        lr=0.05 if optimizer == "sgd" else 0.003,
        dropout=0.2,
        shift=1.0,
        keep_best=True,
    )
    alone = run(config, toy)
    first_two = run(replace(config, epochs=2), toy)
    state, saved = checkpoint_from_npz(
        checkpoint_to_npz(first_two, config.to_dict())
    )  # through bytes
    resumed = run(nf.Config.from_dict(saved), toy, state)
    for k in alone.params:
        assert np.array_equal(alone.params[k], resumed.params[k])
        assert np.array_equal(alone.best_params[k], resumed.best_params[k])
    for k in alone.opt_state:
        assert np.array_equal(alone.opt_state[k], resumed.opt_state[k])
    assert alone.history == resumed.history


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam", "adamw"])
def test_both_kernel_paths_train_the_same_weights(framed, optimizer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Compiled kernels and the NumPy reference, through `fit`, with augmentation and dropout."""
    pytest.importorskip("numba")
    config = replace(CONFIG, optimizer=optimizer, dropout=0.1, input_dropout=0.1, shift=1.0)
    if optimizer.startswith("adam"):
        config = replace(config, lr=0.003)
    sparse_batches = []

    def counted(x: np.ndarray) -> np.ndarray | None:
        used = nnfun.sparse.used_columns(x)
        sparse_batches.append(used is not None)
        return used

    monkeypatch.setattr(nnfun.network, "used_columns", counted)
    states = []
    for kernels in ("numpy", "numba", "numba"):
        monkeypatch.setenv("NNFUN_KERNELS", kernels)
        states.append(run(config, framed))
    assert any(sparse_batches), "the first layer never took its sparse path"
    for state in states[1:]:
        for k in states[0].params:
            assert states[0].params[k].tobytes() == state.params[k].tobytes(), k
        assert states[0].history == state.history


def test_divergence_raises_a_clear_error(toy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(nf.DivergedError, match="learning rate"):
        run(replace(CONFIG, lr=1e8, clip=None), toy)


def test_short_training_on_real_mnist_clearly_beats_chance(mnist) -> None:  # type: ignore[no-untyped-def]
    x = mnist["train-images-idx3-ubyte"][:4000].reshape(4000, -1)
    y = mnist["train-labels-idx1-ubyte"][:4000]
    x_test = nf.scale_pixels(mnist["t10k-images-idx3-ubyte"][:2000])
    y_test = mnist["t10k-labels-idx1-ubyte"][:2000]
    state = run(
        nf.Config(hidden=(128,), epochs=3, lr=0.05, val_size=0), (x, y, x_test[:0], y_test[:0])
    )
    assert nf.evaluate(state.params, x_test, y_test)[1] > 0.85


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lr": -1}, "learning rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"hidden": ()}, "hidden"),
        ({"dropout": 1.0}, "dropout"),
        ({"optimizer": "rmsprop"}, "optimizer"),
    ],
)
def test_config_rejects_nonsense(changes, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(nf.ConfigError, match=message):
        nf.Config(**changes)


def test_config_round_trips_through_a_dict() -> None:
    config = nf.Config(hidden=(64, 32), milestones=(1, 2), optimizer="adamw")
    assert nf.Config.from_dict(config.to_dict()) == config
    with pytest.raises(nf.ConfigError, match="unknown"):
        nf.Config.from_dict({"learning_rate": 1})


def test_fit_takes_its_parts_as_values(toy) -> None:  # type: ignore[no-untyped-def]
    """A user's own optimizer and schedule go straight into the built-in loop."""
    calls: list[float] = []

    def my_schedule(t: float) -> float:
        calls.append(t)
        return 0.1 / (1 + t)

    def plain_step(params, grads, state, *, lr):  # type: ignore[no-untyped-def]
        return nf.freeze({k: params[k] - lr * grads[k] for k in params}), state

    x, y, x_val, y_val = toy
    start = nf.init_params((36, 32, 10), nf.rng_for(0, 0))
    *_, last = nf.fit(
        start,
        x,
        y,
        x_val,
        y_val,
        optimizer=nf.Optimizer(lambda p: nf.freeze({}), plain_step),
        schedule=my_schedule,
        epochs=3,
        batch_size=10,
    )
    assert last.epoch == 3 and last.history[-1].val_accuracy > 0.8
    assert calls[:2] == [0.0, 1 / 70]  # one call per step: epoch + batch / batches


def test_fit_is_the_recipe_built_from_parts(toy) -> None:  # type: ignore[no-untyped-def]
    """`recipe.train` is only `fit` with the config's parts: the same numbers, bit for bit."""
    config = replace(CONFIG, optimizer="nesterov", dropout=0.1, shift=1.0, keep_best=True)
    by_recipe = run(config, toy)
    start = nf.recipes.init_network(config, 36, 10)
    *_, by_hand = nf.fit(start, *toy, **nf.recipes.fit_options(config), clock=fake_clock())
    assert by_recipe.history == by_hand.history
    assert all(np.array_equal(by_recipe.params[k], by_hand.params[k]) for k in start)


def test_fit_uses_every_part_of_its_regularisation(toy) -> None:  # type: ignore[no-untyped-def]
    """None by default; each of dropout, input dropout, label smoothing and augmentation counts."""
    start = nf.recipes.init_network(CONFIG, 36, 10)
    options = nf.recipes.fit_options(CONFIG) | {"epochs": 1}
    assert options["regularisation"] == nf.Regularisation()

    def weights(**changes: object) -> np.ndarray:
        reg = nf.Regularisation(**changes)  # type: ignore[arg-type]
        *_, last = nf.fit(start, *toy, **(options | {"regularisation": reg}), clock=fake_clock())
        return last.params["W1"]

    plain = weights()
    for change in (
        {"dropout": 0.2},
        {"input_dropout": 0.2},
        {"label_smoothing": 0.1},
        {"augmentation": nf.Augmentation(shift=1.0)},
    ):
        assert not np.array_equal(weights(**change), plain), change


@pytest.mark.parametrize(
    "changes, message",
    [({"epochs": 0}, "epochs"), ({"batch_size": True}, "batch_size"), ({"epochs": 2.5}, "epochs")],
)
def test_fit_refuses_values_it_cannot_use(toy, changes, message) -> None:  # type: ignore[no-untyped-def]
    options = nf.recipes.fit_options(CONFIG) | changes
    with pytest.raises(nf.ConfigError, match=message):
        next(nf.fit(nf.recipes.init_network(CONFIG, 36, 10), *toy, **options))


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"optimizer": "adam", "momentum": 0.5}, "momentum applies only with optimizer"),
        ({"schedule": "cosine", "milestones": [5]}, "milestones applies only with schedule step"),
        ({"elastic_sigma": 6.0}, "elastic_sigma applies only with elastic_alpha"),
        ({"hidden": [1.5]}, "hidden must be a list of whole numbers"),
        ({"keep_best": "no"}, "keep_best must be true or false"),
        ({"epochs": True}, "epochs must be a whole number"),
        ({"seed": -1}, "seed must be between"),
        ({"milestones": [-1]}, "milestones must be epochs"),
        ({"warmup": float("inf")}, "warmup must be a finite number"),
        ({"lr": "0.1"}, "lr must be a number"),
    ],
)
def test_settings_that_do_not_apply_or_have_the_wrong_type(settings, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(nf.ConfigError, match=message):
        nf.Config.from_dict(settings)


@pytest.mark.parametrize("kernels", ["numpy", "numba"])
def test_batches_made_on_a_second_core_train_the_same_weights(  # type: ignore[no-untyped-def]
    framed, kernels, monkeypatch
) -> None:
    """An augmented run makes its next batch in a worker thread (`Ahead`) during the update:
    the same random draws in the same order, so the same weights and history as without it."""
    if kernels == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv("NNFUN_KERNELS", kernels)
    config = replace(CONFIG, shift=1.0, rotate=10.0, elastic_alpha=2.0, dropout=0.1)
    makers: set[str] = set()
    augment = nf.Augmentation.__call__

    def watched(self, x, rng):  # type: ignore[no-untyped-def]
        makers.add(threading.current_thread().name)
        return augment(self, x, rng)

    monkeypatch.setattr(nf.Augmentation, "__call__", watched)
    threaded = run(config, framed)
    assert any(name.startswith("nnfun-batches") for name in makers), makers
    makers.clear()
    inline_ahead = nnfun.batching.Ahead
    monkeypatch.setattr(
        nnfun.train, "Ahead", lambda items, threaded: inline_ahead(items, threaded=False)
    )
    inline = run(config, framed)
    assert makers == {threading.current_thread().name}
    for k in threaded.params:
        assert threaded.params[k].tobytes() == inline.params[k].tobytes(), k
    assert threaded.history == inline.history
