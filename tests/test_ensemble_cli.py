"""Ensembles on the command line: eval, predict, serve, compare and sweep --ensemble."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

import nnfun as nf
from nnfun.io.datasets import load_test_set
from nnfun_cli.app import app
from nnfun_cli.serve.command import describe_models

runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err and all(n in err for n in needles), err


@pytest.fixture(scope="module")
def runs(random_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three small runs on random data, seeds 0, 1 and 2 (784-16-10, 2 epochs)."""
    root = tmp_path_factory.mktemp("ensemble")
    folders = []
    for seed in range(3):
        folder = root / f"seed{seed}"
        code, _, err = invoke(
            "train", "--no-figures", "--data-dir", random_data, "--hidden", "16", "--epochs", "2",
            "--val-size", "100", "--lr", "0.05", "--seed", str(seed), "--out", folder,
        )  # fmt: skip
        assert code == 0, err
        folders.append(folder)
    return folders


@pytest.fixture(scope="module")
def odd_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Models that cannot join a 784-in, 10-out ensemble."""
    root = tmp_path_factory.mktemp("odd")
    rng = np.random.default_rng(0)
    models = {"inputs": (400, 8, 10), "outputs": (784, 8, 5)}
    return {k: nf.save_model(root / f"{k}.npz", nf.init_params(v, rng)) for k, v in models.items()}


def seconds(run: Path) -> float:
    return float(orjson.loads((run / "metrics.json").read_bytes())["train_seconds"])


def test_eval_of_one_model_is_unchanged(runs: list[Path], random_data: Path) -> None:
    code, out, err = invoke("eval", runs[0], "--data-dir", random_data, "--json")
    assert code == 0, err
    doc = orjson.loads(out)
    assert "members" not in doc
    x, y = load_test_set("mnist", random_data)
    assert doc["test_accuracy"] == nf.evaluate(nf.load_model(runs[0]), x, y)[1]


def test_eval_of_several_models_is_the_ensemble_with_its_members(
    runs: list[Path], random_data: Path
) -> None:
    code, out, err = invoke("eval", *runs, "--data-dir", random_data, "--json")
    assert code == 0, err
    doc = orjson.loads(out)
    x, y = load_test_set("mnist", random_data)
    nets = [nf.load_model(r) for r in runs]
    loss, acc, _ = nf.evaluate(nets, x, y)
    assert (doc["test_loss"], doc["test_accuracy"]) == (loss, acc)
    assert [m["model"] for m in doc["members"]] == [str(r) for r in runs]
    assert [m["test_accuracy"] for m in doc["members"]] == [nf.evaluate(n, x, y)[1] for n in nets]
    assert doc["train_seconds"] == pytest.approx(sum(seconds(r) for r in runs))
    code, out, err = invoke("eval", *runs, "--data-dir", random_data)
    assert code == 0, err
    assert "Ensemble of 3 models" in out and "(sum)" in out and f"{acc:.2%}" in out


def test_eval_of_a_model_twice_has_its_accuracy(runs: list[Path], random_data: Path) -> None:
    one = orjson.loads(invoke("eval", runs[0], "--data-dir", random_data, "--json")[1])
    two = orjson.loads(invoke("eval", runs[0], runs[0], "--data-dir", random_data, "--json")[1])
    assert one["test_accuracy"] == two["test_accuracy"]
    assert two["test_loss"] == pytest.approx(one["test_loss"], rel=1e-5)


@pytest.mark.parametrize("odd", ["inputs", "outputs"])
def test_mismatched_models_are_one_line_naming_both(
    runs: list[Path], odd_models: dict[str, Path], random_data: Path, odd: str
) -> None:
    bad = odd_models[odd]
    code, _, err = invoke("eval", runs[0], bad, "--data-dir", random_data)
    one_line_error(code, err, str(bad), str(runs[0]), "must agree")
    picture = bad.parent / "blank.npy"
    np.save(picture, np.zeros((28, 28), np.uint8))
    code, _, err = invoke("predict", runs[0], picture, "--with", bad)
    one_line_error(code, err, str(bad), str(runs[0]))
    code, _, err = invoke("serve", runs[0], bad, "--port", "0")
    one_line_error(code, err, str(bad), str(runs[0]))


def test_predict_with_averages_the_probabilities(runs: list[Path], tmp_path: Path) -> None:
    picture = np.zeros((28, 28), np.uint8)
    picture[5:23, 12:16] = 255
    np.save(tmp_path / "one.npy", picture)

    def probabilities(*args: str | Path) -> np.ndarray:
        code, out, err = invoke("predict", *args, "--json")
        assert code == 0, err
        return np.array(orjson.loads(out)["predictions"][0]["probabilities"])

    alone = [probabilities(r, tmp_path / "one.npy") for r in runs]
    together = probabilities(runs[0], tmp_path / "one.npy", "--with", runs[1], "--with", runs[2])
    np.testing.assert_allclose(together, sum(alone) / 3, rtol=1e-5)
    assert not np.allclose(together, alone[0])


def test_serve_describes_an_ensemble(runs: list[Path]) -> None:
    nets = [nf.load_model(r) for r in runs[:2]]
    info = describe_models(nets, runs[:2])
    assert info["name"] == f"ensemble of 2: {runs[0].name}, {runs[1].name}"
    assert info["architecture"] == "784-16-10 + 784-16-10" and info["test_accuracy"] is None
    assert info["parameters"] == 2 * (784 * 16 + 16 + 16 * 10 + 10)
    assert describe_models(nets[:1], runs[:1])["test_accuracy"] is not None


def test_compare_ensemble_row(runs: list[Path], random_data: Path) -> None:
    code, out, err = invoke("compare", *runs[:2], "--ensemble", "--data-dir", random_data, "--json")
    assert code == 0, err
    together = orjson.loads(out)["ensemble"]
    x, y = load_test_set("mnist", random_data)
    assert together["test_accuracy"] == nf.evaluate([nf.load_model(r) for r in runs[:2]], x, y)[1]
    assert together["train_seconds"] == pytest.approx(seconds(runs[0]) + seconds(runs[1]))
    assert together["members"] == [str(r) for r in runs[:2]]
    code, out, err = invoke("compare", *runs[:2], "--ensemble", "--data-dir", random_data)
    assert code == 0 and "ensemble of the 2 runs" in out and "the sum of the runs'" in out, err


def test_sweep_names_its_top_trials_on_validation(random_data: Path, tmp_path: Path) -> None:
    args = ["sweep", "--seeds", "0,1,2", "--epochs", "1", "--hidden", "8", "--val-size", "100"]
    args += ["--workers", "1", "--threads", "1", "--no-figures", "--data-dir", str(random_data)]
    args += ["--root", str(tmp_path), "--name", "s", "--ensemble", "2"]
    code, out, err = invoke(*args)
    assert code == 0, err
    summary = orjson.loads((tmp_path / "s" / "sweep.json").read_bytes())
    chosen = summary["ensemble"]
    val = {t["name"]: t["val_accuracy"] for t in summary["trials"]}
    assert len(chosen["members"]) == 2
    assert sorted(val.values(), reverse=True)[:2] == [val[m] for m in chosen["members"]]
    assert chosen["val_accuracy"] == [val[m] for m in chosen["members"]]
    folders = [tmp_path / "s" / m for m in chosen["members"]]
    assert chosen["train_seconds"] == pytest.approx(sum(seconds(f) for f in folders))
    assert chosen["command"] == "nnfun eval " + " ".join(str(f) for f in folders)
    assert "ensemble of the 2 best on validation" in out and chosen["command"] in out
    code, out, err = invoke(*args[:-1], "5")
    assert code == 0 and "only 3 finished trials" in out, err


def test_a_sweep_file_can_ask_for_the_ensemble(random_data: Path, tmp_path: Path) -> None:
    (tmp_path / "two.toml").write_text("seeds = [0, 1]\nensemble = 1\n[settings]\nepochs = 1\n")
    args = ["sweep", "--file", str(tmp_path / "two.toml"), "--hidden", "8", "--val-size", "100"]
    args += ["--workers", "1", "--threads", "1", "--no-figures", "--data-dir", str(random_data)]
    code, out, err = invoke(*args, "--root", str(tmp_path))
    assert code == 0, err
    summary = orjson.loads((tmp_path / "two" / "sweep.json").read_bytes())
    assert len(summary["ensemble"]["members"]) == 1 and "ensemble of the 1 best" in out
    code, out, err = invoke(*args, "--root", str(tmp_path), "--ensemble", "0")  # the flag wins
    assert code == 0 and "ensemble" not in orjson.loads(
        (tmp_path / "two" / "sweep.json").read_bytes()
    )
