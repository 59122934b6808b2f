"""Figures, `nnfun report` and `nnfun compare`: headless, on small real-MNIST runs made by the CLI."""

from __future__ import annotations

import builtins
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from nnfun.io import runs
from nnfun_cli import run_display
from nnfun_cli.app import app
from nnfun_cli.tables import sparkline

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def train(data: Path, out: Path, *flags: str) -> Path:
    code, _, err = invoke(
        "train", "--data-dir", data, "--epochs", "2", "--val-size", "500", "--out", out, *flags
    )
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def run_a(small_mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(small_mnist, tmp_path_factory.mktemp("runs") / "a", "--hidden", "32")


@pytest.fixture(scope="module")
def run_b(small_mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(
        small_mnist, tmp_path_factory.mktemp("runs") / "b", "--hidden", "16", "--lr", "0.05"
    )


def assert_png(path: Path, min_width: int = 1000, max_width: int = 1700) -> None:
    image_module = pytest.importorskip("PIL.Image")
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with image_module.open(path) as image:
        image.verify()
    with image_module.open(path) as image:
        width, height = image.size
    assert min_width <= width <= max_width and 400 <= height <= 1300, (path, image.size)


def without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every `import matplotlib...` fail, as on an install without the plots extra."""
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def hint_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "figures skipped" in line]


def test_training_writes_four_valid_pngs(run_a: Path) -> None:
    for name in runs.FIGURES:
        assert_png(run_a / name)
    assert not list(run_a.glob(".*.tmp")), "a temporary file was left behind"


def test_report_summarises_and_redraws(run_a: Path, small_mnist: Path) -> None:
    for name in runs.FIGURES:
        (run_a / name).unlink()
    code, out, err = invoke("report", run_a, "--data-dir", small_mnist)
    assert code == 0, err
    metrics = orjson.loads((run_a / "metrics.json").read_bytes())
    assert f"{metrics['test_accuracy']:.2%}" in out
    assert "Per digit" in out and "Confusion matrix" in out and "validation accuracy" in out
    assert any(block in out for block in "▁▂▃▄▅▆▇█")
    for name in runs.FIGURES:
        assert_png(run_a / name)
        assert name in out


def test_report_without_figures_needs_no_data(
    run_a: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NNFUN_DATA", str(tmp_path / "nowhere"))
    before = {name: (run_a / name).stat().st_mtime_ns for name in runs.FIGURES}
    code, out, err = invoke("report", run_a, "--no-figures")
    assert code == 0, err
    assert "test accuracy" in out
    assert before == {name: (run_a / name).stat().st_mtime_ns for name in runs.FIGURES}


def test_compare_shows_only_the_settings_that_differ(
    run_a: Path, run_b: Path, tmp_path: Path
) -> None:
    code, out, err = invoke("compare", run_a, run_b, "--out", tmp_path)
    assert code == 0, err
    assert "settings that differ: hidden, lr" in out
    header = next(line for line in out.splitlines() if "best val" in line)
    assert "hidden" in header and "lr" in header and "seed" not in header
    assert_png(tmp_path / "comparison.png")


def test_compare_json(run_a: Path, run_b: Path, tmp_path: Path) -> None:
    target = tmp_path / "cmp.png"
    code, out, err = invoke("compare", run_a, run_b, "--json", "--out", target)
    assert code == 0, err
    report = orjson.loads(out)
    assert report["differing_settings"] == ["hidden", "lr"]
    assert [row["settings"]["hidden"] for row in report["runs"]] == [[32], [16]]
    for row in report["runs"]:
        assert 0 < row["test_accuracy"] <= 1 and 1 <= row["best_val_epoch"] <= 2
    assert report["figure"] == str(target)
    assert_png(target)


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda d: (d / "config.json").unlink(), "no config.json"),
        (lambda d: (d / "metrics.json").unlink(), "--resume"),
        (lambda d: (d / "history.json").write_text("[{"), "history.json is not valid JSON"),
        (lambda d: (d / "history.json").write_text("[]"), "history.json"),
        (lambda d: (d / "metrics.json").write_text('{"test_accuracy": "high"}'), "metrics.json"),
    ],
)
def test_bad_run_folders_get_one_line(
    run_a: Path, tmp_path: Path, damage: Any, needle: str
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "history.json", "metrics.json", "model.npz", "checkpoint.npz"):
        (broken / name).write_bytes((run_a / name).read_bytes())
    damage(broken)
    for args in (("report", broken, "--no-figures"), ("compare", run_a, broken)):
        code, _, err = invoke(*args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), err
        assert needle in err


def test_compare_needs_two_runs_and_real_folders(run_a: Path, tmp_path: Path) -> None:
    code, _, err = invoke("compare", run_a)
    assert code == 2 and "at least two" in err
    code, _, err = invoke("compare", run_a, tmp_path / "missing")
    assert code == 2 and "not a folder" in err


def test_without_matplotlib_everything_still_works(
    small_mnist: Path, run_a: Path, run_b: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_matplotlib(monkeypatch)
    run = tmp_path / "run"
    code, out, err = invoke(
        "train", "--data-dir", small_mnist, "--epochs", "1", "--hidden", "8",
        "--val-size", "500", "--out", run,
    )  # fmt: skip
    assert code == 0, err
    assert "test accuracy" in out and "Traceback" not in err
    assert hint_lines(err) == ["figures skipped: pip install 'nnfun[plots]' to get them"]
    for name in ("model.npz", "metrics.json", "history.json", "config.json"):
        assert (run / name).is_file()
    assert not list(run.glob("*.png"))

    code, out, err = invoke("report", run, "--data-dir", small_mnist)
    assert code == 0 and "test accuracy" in out and len(hint_lines(err)) == 1, err
    code, out, err = invoke("compare", run_a, run_b, "--out", tmp_path, "--json")
    assert code == 0 and len(hint_lines(err)) == 1, err
    assert orjson.loads(out)["figure"] is None and not (tmp_path / "comparison.png").exists()


def test_sparkline() -> None:
    assert sparkline([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.5, math.nan, 1.0]) == "▁ █"
    assert sparkline([0.9, 0.9]) == "▄▄"
    assert len(sparkline(list(range(200)), width=40)) == 40
    assert sparkline([]) == ""


def test_config_differences_and_labels(tmp_path: Path) -> None:
    def run(name: str, **config: Any) -> runs.Run:
        return runs.Run(tmp_path / name, config, [], {})

    two = [run("x/a", lr=0.1, seed=0), run("y/a", lr=0.1, seed=1, dropout=0.5)]
    assert run_display.config_differences(two) == ["seed", "dropout"]
    assert run_display.run_labels(two) == ["x/a", "y/a"]
    assert run_display.format_setting([1024, 512]) == "1024,512"
    assert run_display.format_setting(None) == "off"
