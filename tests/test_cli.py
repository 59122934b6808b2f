"""The `nnfun` command through Typer's CliRunner (and a real process for Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import pytest
from conftest import limit_memory
from typer.testing import CliRunner

from nnfun.serialize import params_from_npz
from nnfun_cli.app import app

runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """Run nnfun in-process; training skips the figures (tests/test_figures.py covers them)."""
    argv = [str(a) for a in args]
    if argv[:1] == ["train"]:
        argv.insert(1, "--no-figures")
    result = runner.invoke(app, argv)
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, stderr: str, expected_code: int = 2, needle: str = "") -> None:
    assert code == expected_code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert "Traceback" not in stderr and needle in stderr


def read_json(path: Path):  # type: ignore[no-untyped-def]
    return orjson.loads(path.read_bytes())


@pytest.fixture(scope="module")
def trained(small_mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "run"
    code, out, err = invoke(
        "train",
        "--data-dir",
        small_mnist,
        "--epochs",
        "2",
        "--hidden",
        "64",
        "--val-size",
        "500",
        "--out",
        run,
        "--lr",
        "0.05",
    )
    assert code == 0, err
    assert "test accuracy" in out and str(run) in out
    return run


def test_train_writes_the_run_folder(trained: Path) -> None:
    for name in ("model.npz", "config.json", "history.json", "metrics.json", "checkpoint.npz"):
        assert (trained / name).is_file(), name
    config = read_json(trained / "config.json")
    assert config["hidden"] == [64] and config["seed"] == 0 and config["dataset"] == "mnist"
    history = read_json(trained / "history.json")
    assert [h["epoch"] for h in history] == [1, 2]
    assert set(history[0]) == {
        "epoch",
        "lr",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "seconds",
    }
    metrics = read_json(trained / "metrics.json")
    assert 0.8 < metrics["test_accuracy"] <= 1 and 0 <= metrics["train_accuracy"] <= 1
    assert len(metrics["per_class_accuracy"]) == 10
    assert np.array(metrics["confusion_matrix"]).sum() == 1000
    params_from_npz((trained / "model.npz").read_bytes())


def test_eval_reprints_the_test_accuracy(trained: Path, small_mnist: Path) -> None:
    metrics = read_json(trained / "metrics.json")
    code, out, err = invoke("eval", trained, "--data-dir", small_mnist)
    assert code == 0, err
    assert f"{metrics['test_accuracy']:.2%}" in out and "Confusion matrix" in out
    code, out, _ = invoke("eval", trained / "model.npz", "--data-dir", small_mnist, "--json")
    assert code == 0 and orjson.loads(out)["test_accuracy"] == metrics["test_accuracy"]


def test_default_out_never_overwrites(
    small_mnist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, _, err = invoke(
            "train",
            "--data-dir",
            small_mnist,
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--val-size",
            "500",
        )
        assert code == 0, err
    runs = sorted((tmp_path / "results").iterdir())
    assert len(runs) == 2 and all((r / "model.npz").is_file() for r in runs)


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--lr", "-1"], "--lr (learning rate) must be > 0"),
        (["--batch-size", "0"], "--batch-size"),
        (["--hidden", ""], "--hidden"),
        (["--hidden", "12,x"], "--hidden"),
        (["--epochs", "0"], "--epochs"),
        (["--momentum", "1.5"], "--momentum"),
        (["--val-size", "100000"], "val-size"),
    ],
)
def test_nonsense_flags_get_one_line(
    small_mnist: Path, tmp_path: Path, flags: list[str], needle: str
) -> None:
    code, _, err = invoke("train", "--data-dir", small_mnist, "--out", tmp_path / "r", *flags)
    assert_one_line_error(code, err, needle=needle)


def test_unwritable_out(small_mnist: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = invoke(
        "train", "--data-dir", small_mnist, "--out", blocker / "run", "--epochs", "1"
    )
    assert_one_line_error(code, err, needle="run folder")


def test_out_that_already_holds_a_run(trained: Path, small_mnist: Path) -> None:
    code, _, err = invoke("train", "--data-dir", small_mnist, "--out", trained)
    assert_one_line_error(code, err, needle="--resume")


def test_missing_dataset_says_where_to_put_files(tmp_path: Path) -> None:
    code, _, err = invoke(
        "train", "--data-dir", tmp_path, "--dataset", "fashion", "--out", tmp_path / "r"
    )
    assert_one_line_error(code, err, needle="train-images-idx3-ubyte")


def test_bad_models_are_one_line_errors(tmp_path: Path, small_mnist: Path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 this is not really a zip")
    for target, needle in [
        (tmp_path / "junk.npz", "not a valid"),
        (tmp_path / "none.npz", "no model"),
        (tmp_path, "no model"),
    ]:
        code, _, err = invoke("eval", target, "--data-dir", small_mnist)
        assert_one_line_error(code, err, needle=needle)


def test_divergence_exits_3_with_advice(random_data: Path, tmp_path: Path) -> None:
    code, _, err = invoke(
        "train",
        "--data-dir",
        random_data,
        "--out",
        tmp_path / "r",
        "--lr",
        "1e9",
        "--clip",
        "0",
        "--hidden",
        "16",
        "--val-size",
        "100",
    )
    assert code == 3 and "learning rate" in err and "Traceback" not in err


def test_gradcheck_passes_and_can_fail() -> None:
    code, out, _ = invoke("gradcheck")
    assert code == 0 and "passed" in out
    code, out, _ = invoke("gradcheck", "--json", "--dropout", "0.3", "--sizes", "10,8,8,4")
    report = orjson.loads(out)
    assert (
        code == 0
        and report["passed"]
        and set(report["errors"]) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    )
    code, out, _ = invoke("gradcheck", "--tolerance", "0")
    assert code == 1 and "failed" in out


def test_version_and_help() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.startswith("nnfun ")
    for command in ("train", "eval", "gradcheck"):
        code, out, _ = invoke(command, "--help")
        assert code == 0 and "Usage" in out


def nnfun_process(*args: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.Popen(
        [sys.executable, "-m", "nnfun", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=limit_memory,
    )


def test_ctrl_c_keeps_checkpoint_and_resume_is_bit_identical(
    random_data: Path, tmp_path: Path
) -> None:
    flags = [
        "--data-dir",
        random_data,
        "--epochs",
        "150",
        "--hidden",
        "16",
        "--batch-size",
        "8",
        "--val-size",
        "100",
        "--lr",
        "0.02",
    ]
    proc = nnfun_process("train", "--no-figures", *flags, "--out", tmp_path / "cut")
    deadline = time.time() + 60
    while not (tmp_path / "cut" / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"nnfun train --resume {tmp_path / 'cut'}" in err and "Traceback" not in err
    assert not list((tmp_path / "cut").glob("*.tmp")) and not list((tmp_path / "cut").glob(".*"))
    stopped_at = len(read_json(tmp_path / "cut" / "history.json"))
    assert 1 <= stopped_at < 150

    code, _, err = invoke("train", "--resume", tmp_path / "cut", "--data-dir", random_data)
    assert code == 0, err
    code, _, err = invoke("train", *flags, "--out", tmp_path / "whole")
    assert code == 0, err
    cut, whole = (
        params_from_npz((tmp_path / d / "model.npz").read_bytes()) for d in ("cut", "whole")
    )
    assert all(np.array_equal(cut[k], whole[k]) for k in whole)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(read_json(tmp_path / "cut" / "history.json")) == strip(
        read_json(tmp_path / "whole" / "history.json")
    )


# --- runs edited by hand -------------------------------------------------------------------

DELIVERED = ("history.json", "metrics.json", "model.npz", "config.json", "config.toml")


@pytest.mark.parametrize("gone", [*DELIVERED, "history.json+metrics.json"])
def test_a_finished_run_missing_outputs_gets_them_back(
    gone: str, random_data: Path, tmp_path: Path
) -> None:
    """Resume restores what was deleted (and says so truthfully); report then reads the run."""
    run = tmp_path / "run"
    flags = ["--no-figures", "--data-dir", str(random_data)]
    train = ["train", *flags, "--out", str(run), "--epochs", "1", "--hidden", "8"]
    assert CliRunner().invoke(app, [*train, "--val-size", "100"]).exit_code == 0
    for name in gone.split("+"):
        (run / name).unlink()
    resumed = CliRunner().invoke(app, ["train", "--resume", str(run), *flags])
    assert resumed.exit_code == 0, resumed.stderr
    assert all((run / name).is_file() for name in DELIVERED)
    said = resumed.stdout + resumed.stderr
    assert all(name in said for name in ("model.npz", "metrics.json", "history.json"))
    assert CliRunner().invoke(app, ["report", str(run), "--no-figures"]).exit_code == 0
    again = CliRunner().invoke(app, ["train", "--resume", str(run), *flags])
    assert again.exit_code != 0 and "already finished" in again.stderr  # no endless loop


def test_a_finished_run_without_its_checkpoint_is_not_sent_round_in_circles(
    random_data: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    flags = ["--no-figures", "--data-dir", str(random_data)]
    train = ["train", *flags, "--out", str(run), "--epochs", "1", "--hidden", "8"]
    assert CliRunner().invoke(app, [*train, "--val-size", "100"]).exit_code == 0
    (run / "checkpoint.npz").unlink()
    resumed = CliRunner().invoke(app, ["train", "--resume", str(run), *flags])
    assert resumed.exit_code != 0 and len(resumed.stderr.strip().splitlines()) == 1
    assert "nnfun report" in resumed.stderr and "--resume" not in resumed.stderr
    assert CliRunner().invoke(app, ["report", str(run), "--no-figures"]).exit_code == 0


def test_a_run_without_validation_shows_a_dash_not_nan(small_mnist: Path, tmp_path: Path) -> None:
    """--val-size 0 trains on every training image: each line says `val -`, never `nan%`."""
    run = tmp_path / "run"
    code, out, err = invoke(
        "train", "--data-dir", small_mnist, "--epochs", "1", "--hidden", "16",
        "--val-size", "0", "--out", run, "--no-figures",
    )  # fmt: skip
    assert code == 0, err
    assert "nan" not in (out + err).lower()
    assert "val      -" in out + err and "val -," in out
    code, out, err = invoke("report", run, "--data-dir", small_mnist)
    assert code == 0 and "nan" not in (out + err).lower(), out + err
