"""The library's errors speak of values and files; the shell adds the command or flag that mends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnfun.io import load_dataset, load_model, load_run
from nnfun.io.checkpoints import NothingToResume, load_checkpoint
from nnfun.io.datasets import DataMissing
from nnfun.io.runs import RunNotFinished
from nnfun_cli.app import app

runner = CliRunner()


def started_run(folder: Path, checkpoint: bool) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"epochs": 1}))
    (folder / "config.toml").write_text("epochs = 1\n")
    if checkpoint:
        (folder / "checkpoint.npz").write_bytes(b"")
    return folder


def test_an_unfinished_run(tmp_path: Path) -> None:
    run = started_run(tmp_path / "run", checkpoint=True)
    with pytest.raises(RunNotFinished) as caught:
        load_run(run)
    assert caught.value.resumable and "--" not in str(caught.value)
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 2
    assert f"continue it with: nnfun train --resume {run}" in " ".join(result.stderr.split())


def test_a_run_without_its_model(tmp_path: Path) -> None:
    run = started_run(tmp_path / "run", checkpoint=True)
    with pytest.raises(RunNotFinished) as caught:
        load_model(run)
    assert "--" not in str(caught.value)
    result = runner.invoke(app, ["eval", str(run)])
    assert result.exit_code == 2
    assert f"continue it with: nnfun train --resume {run}" in " ".join(result.stderr.split())


def test_a_run_stopped_before_its_first_checkpoint(tmp_path: Path) -> None:
    run = started_run(tmp_path / "run", checkpoint=False)
    with pytest.raises(NothingToResume) as caught:
        load_checkpoint(run)
    assert caught.value.settings == run / "config.toml" and "--" not in str(caught.value)
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 2
    expected = f"start it again with: nnfun train --config {run / 'config.toml'} --out {run}"
    assert expected in " ".join(result.stderr.split())


def test_a_dataset_with_files_missing(tmp_path: Path) -> None:
    (tmp_path / "fashion").mkdir()
    with pytest.raises(DataMissing) as caught:
        load_dataset("fashion", tmp_path)
    assert "--" not in str(caught.value)
    command = [
        "train",
        "--data-dir",
        str(tmp_path),
        "--dataset",
        "fashion",
        "--out",
        str(tmp_path / "x"),
    ]
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "The data folder is --data-dir" in " ".join(result.stderr.split())
    assert not (tmp_path / "x").exists()
