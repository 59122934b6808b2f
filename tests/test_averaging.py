"""Weight averaging: the EMA arithmetic, its purity, and what a run with it validates, keeps and resumes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import orjson
import pytest
from toy_training import CONFIG, blobs, fake_clock, run

import nnfun as nf
from nnfun.averaging import average_of, ema_decay_at, ema_init, ema_update, with_average
from nnfun.serialize import checkpoint_from_npz, checkpoint_to_npz


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, ...]:
    return blobs(noise=60)


EMA = replace(CONFIG, ema_decay=0.9)


def same(a: nf.Params, b: nf.Params) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def net(seed: int = 0) -> nf.Params:
    return nf.init_params((5, 4, 3), np.random.default_rng(seed))


def test_decay_warms_up_to_its_value() -> None:
    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.999, 90) == pytest.approx(0.91)
    assert ema_decay_at(0.5, 90) == 0.5
    assert ema_decay_at(0.999, 10**6) == 0.999


def test_ema_update_is_the_weighted_mean_and_pure() -> None:
    ema, params = net(0), net(1)
    before = {k: v.copy() for k, v in (*ema.items(), *(("p" + k, v) for k, v in params.items()))}
    new = ema_update(ema, params, 0.75)
    for k in ema:
        hand = 0.75 * ema[k].astype(np.float64) + 0.25 * params[k].astype(np.float64)
        np.testing.assert_allclose(new[k], hand, rtol=1e-6, atol=1e-7)
        assert new[k].dtype == ema[k].dtype and not new[k].flags.writeable
        assert np.array_equal(ema[k], before[k]) and np.array_equal(params[k], before["p" + k])
    with pytest.raises(TypeError):
        new["W1"] = params["W1"]  # type: ignore[index]


def test_with_average_averages_the_steps_by_hand() -> None:
    """Three SGD steps: the kept average is the warmed-up EMA of the three new weights."""
    params = net(0)
    opt = with_average(nf.Optimizer(nf.sgd_init, nf.sgd_step), 0.5)
    state = opt.init(params)
    assert same(average_of(state) or {}, params)
    history = [params]
    grads = net(2)
    for _ in range(3):
        params, state = opt.step(params, grads, state, lr=0.1)
        history.append(params)
    d = [0.1, 2 / 11, 0.25]  # min(0.5, (1 + t) / (10 + t)) for t = 0, 1, 2
    for k in params:
        hand = history[0][k].astype(np.float64)
        for t in range(3):
            hand = d[t] * hand + (1 - d[t]) * history[t + 1][k]
        np.testing.assert_allclose(average_of(state)[k], hand, rtol=1e-5, atol=1e-6)  # type: ignore[index]
    assert int(state["average.step"]) == 3


def test_with_average_step_is_pure_and_leaves_the_inner_optimizer_alone() -> None:
    params, grads = net(0), net(1)
    plain = nf.Optimizer(nf.sgd_init, nf.sgd_step)
    opt = with_average(plain, 0.9)
    state = opt.init(params)
    copies = {k: v.copy() for k, v in state.items()}
    new_params, new_state = opt.step(params, grads, state, lr=0.1)
    assert all(np.array_equal(state[k], copies[k]) for k in state)
    assert all(not a.flags.writeable for a in (*new_params.values(), *new_state.values()))
    expected_params, expected_state = plain.step(params, grads, plain.init(params), lr=0.1)
    assert same(new_params, expected_params)
    assert same(
        {k: v for k, v in new_state.items() if not k.startswith("average.")}, expected_state
    )


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_with_average_refuses_decays_that_do_not_average(decay: float) -> None:
    with pytest.raises(nf.ConfigError, match="ema_decay"):
        with_average(nf.Optimizer(nf.sgd_init, nf.sgd_step), decay)


def test_decay_zero_is_plain_training_bit_for_bit(toy) -> None:  # type: ignore[no-untyped-def]
    plain, zero = run(CONFIG, toy), run(replace(CONFIG, ema_decay=0.0), toy)
    assert same(plain.params, zero.params) and same(plain.opt_state, zero.opt_state)
    assert plain.history == zero.history and average_of(zero.opt_state) is None


def test_averaged_weights_are_validated_and_delivered(toy) -> None:  # type: ignore[no-untyped-def]
    state = run(EMA, toy)
    average = average_of(state.opt_state)
    assert average is not None and not same(average, state.params)
    assert same(nf.final_params(state), average)
    x_val, y_val = toy[2], toy[3]
    assert state.history[-1].val_accuracy == nf.evaluate(average, x_val, y_val)[1]
    raw = run(CONFIG, toy)  # same seed, same steps: the raw weights are the plain run's
    assert same(raw.params, state.params)


def test_keep_best_keeps_the_best_averaged_weights(toy) -> None:  # type: ignore[no-untyped-def]
    config = replace(EMA, keep_best=True, epochs=6)
    states = list(nf.recipes.fit_config(config, *toy, clock=fake_clock()))
    accuracies = [s.history[-1].val_accuracy for s in states]
    best = states[int(np.argmax(accuracies))]
    assert same(states[-1].best_params, average_of(best.opt_state))  # type: ignore[arg-type]
    assert same(nf.final_params(states[-1]), average_of(best.opt_state))  # type: ignore[arg-type]


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_resume_with_averaging_is_bit_identical(toy, optimizer) -> None:  # type: ignore[no-untyped-def]
    config = replace(
        EMA, optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 0.003, keep_best=True
    )
    alone = run(config, toy)
    first_two = run(replace(config, epochs=2), toy)
    state, saved = checkpoint_from_npz(checkpoint_to_npz(first_two, config.to_dict()))
    resumed = run(nf.Config.from_dict(saved), toy, state)
    assert same(alone.params, resumed.params) and same(alone.opt_state, resumed.opt_state)
    assert same(alone.best_params, resumed.best_params)  # type: ignore[arg-type]
    assert alone.history == resumed.history
    assert int(resumed.opt_state["average.step"]) == 4 * nf.num_batches(len(toy[0]), 32)


def test_a_checkpoint_from_before_averaging_still_resumes(toy) -> None:  # type: ignore[no-untyped-def]
    """Old checkpoints have no `ema_decay` in their config and no average in their state."""
    first_two = run(replace(CONFIG, epochs=2), toy)
    old = {k: v for k, v in CONFIG.to_dict().items() if k != "ema_decay"}
    state, saved = checkpoint_from_npz(checkpoint_to_npz(first_two, old))
    config = nf.Config.from_dict(saved)
    nf.recipes.check_state(config, state)
    assert same(run(config, toy, state).params, run(CONFIG, toy).params)


def test_a_checkpoint_without_its_average_is_refused(toy) -> None:  # type: ignore[no-untyped-def]
    state = run(replace(CONFIG, epochs=1), toy)
    with pytest.raises(nf.ModelError, match="optimizer state"):
        nf.recipes.check_state(EMA, state)


@pytest.mark.parametrize("value", [1.0, -0.5, 2.0])
def test_config_refuses_an_ema_decay_out_of_range(value: float) -> None:
    with pytest.raises(nf.ConfigError, match="ema_decay"):
        nf.Config(ema_decay=value)


def test_ema_init_copies() -> None:
    params = net(0)
    copy = ema_init(params)
    assert same(copy, params) and all(copy[k] is not params[k] for k in params)


def test_train_ema_flag_saves_the_averaged_weights(random_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from nnfun.io.checkpoints import load_checkpoint
    from nnfun.io.models import load_model
    from nnfun_cli.app import app

    run_dir = tmp_path / "run"
    args = ["train", "--no-figures", "--data-dir", str(random_data), "--hidden", "16"]
    args += ["--epochs", "2", "--val-size", "100", "--ema", "0.9", "--out", str(run_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    config = orjson.loads((run_dir / "config.json").read_bytes())
    metrics = orjson.loads((run_dir / "metrics.json").read_bytes())
    assert config["ema_decay"] == 0.9
    assert metrics["saved_weights"] == {"averaged": True, "epoch": 2}
    state, _ = load_checkpoint(run_dir)
    assert same(load_model(run_dir), average_of(state.opt_state))  # type: ignore[arg-type]
    assert not same(load_model(run_dir), state.params)


def test_report_says_which_weights_were_saved(random_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from nnfun_cli.app import app

    run_dir = tmp_path / "run"
    args = ["train", "--no-figures", "--data-dir", str(random_data), "--hidden", "16"]
    args += ["--epochs", "3", "--val-size", "100", "--ema", "0.9", "--keep-best"]
    result = CliRunner().invoke(app, [*args, "--out", str(run_dir)])
    assert result.exit_code == 0, result.stderr
    metrics = orjson.loads((run_dir / "metrics.json").read_bytes())
    history = orjson.loads((run_dir / "history.json").read_bytes())
    best = max(history, key=lambda r: r["val_accuracy"])["epoch"]
    assert metrics["saved_weights"] == {"averaged": True, "epoch": best}
    report = CliRunner().invoke(app, ["report", "--no-figures", str(run_dir)])
    assert report.exit_code == 0, report.stderr
    text = " ".join(report.stdout.split())
    assert "weights averaged (EMA 0.9)" in text
    assert f"saved: the averaged weights of epoch {best}" in text


def test_averaging_twice_is_refused() -> None:
    twice = with_average(with_average(nf.Optimizer(nf.sgd_init, nf.sgd_step), 0.9), 0.9)
    with pytest.raises(nf.ConfigError, match="only once"):
        twice.init(net(0))
