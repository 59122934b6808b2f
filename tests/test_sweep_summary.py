"""The sweep summary: configurations ranked on validation accuracy only, its JSON and its figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from nnfun import Config
from nnfun.io.runs import Run
from nnfun_cli.plots.sweep import sweep_figure
from nnfun_cli.sweep.plan import Trial
from nnfun_cli.sweep.summary import Configuration, TrialResult, rank, summary_json, table


def finished(varied: dict[str, Any], seed: int, val: list[float], test: float) -> TrialResult:
    """A finished trial whose validation accuracy went through `val`, epoch by epoch."""
    history = [
        {
            "epoch": i + 1,
            "lr": 0.1,
            "train_loss": 0.5,
            "train_accuracy": v,
            "val_loss": 0.4,
            "val_accuracy": v,
            "seconds": 1.0,
        }
        for i, v in enumerate(val)
    ]
    name = "_".join(f"{k}-{v}" for k, v in varied.items()) + f"_seed-{seed}"
    metrics = {"test_accuracy": test, "train_seconds": float(len(val)), "val_accuracy": val[-1]}
    run = Run(Path(name), {"keep_best": False}, history, metrics)
    return TrialResult(Trial(name, varied, seed, {}), "finished", run)


@pytest.fixture
def results() -> list[TrialResult]:
    diverged = Trial("lr-0.9_seed-0", {"lr": 0.9}, 0, {})
    return [
        # higher test accuracy, lower validation: must rank below lr 0.1
        finished({"lr": 0.01}, 0, [0.90, 0.955], test=0.99),
        finished({"lr": 0.01}, 1, [0.91, 0.955], test=0.99),
        finished({"lr": 0.1}, 0, [0.93, 0.97, 0.95], test=0.90),
        finished({"lr": 0.1}, 1, [0.92, 0.95, 0.94], test=0.91),
        TrialResult(diverged, "diverged", None, "the loss became nan"),
    ]


def test_ranking_uses_the_best_validation_epoch_and_never_the_test_set(
    results: list[TrialResult],
) -> None:
    ranked = rank(results)
    assert [dict(c.varied) for c in ranked] == [{"lr": 0.1}, {"lr": 0.01}, {"lr": 0.9}]
    best = ranked[0]
    assert best.best_val.values == (0.97, 0.95) and best.best_val.percent() == "96.00 ± 1.41 %"
    assert ranked[1].best_val.std == 0 and ranked[1].test.mean == 0.99
    assert ranked[2].outcome() == "0 of 1 runs, 1 diverged" and ranked[2].best_val.percent() == "-"


def test_summary_json_names_the_winner_on_validation(results: list[TrialResult]) -> None:
    ranked = rank(results)
    summary = summary_json("lr", Config(), ["lr"], ranked)
    assert summary["best"]["settings"] == {"lr": 0.1} and summary["best"]["rank"] == 1
    assert summary["best"]["best_val_accuracy"]["values"] == [0.97, 0.95]
    assert summary["seeds"] == [0, 1] and "validation" in summary["ranked_by"]
    diverged = next(t for t in summary["trials"] if t["state"] == "diverged")
    assert diverged["best_val_accuracy"] is None and "nan" in diverged["message"]


def test_the_table_shows_mean_and_spread_and_flags_the_test_column(
    results: list[TrialResult],
) -> None:
    console = Console(record=True, width=140)
    console.print(table("lr", rank(results), ["lr"]))
    text = console.export_text()
    assert "96.00 ± 1.41 %" in text and "mean ± std" in text
    assert "never ranks or chooses" in text and "1 diverged" in text


def test_the_figure_draws_grids_samples_and_seed_only_sweeps(
    results: list[TrialResult], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    grid = [
        finished({"hidden": (h,), "lr": lr}, 0, [0.9, 0.9 + h / 1e4 + lr], 0.9)
        for h in (16, 256)
        for lr in (0.01, 0.05)
    ]
    drawn = [
        sweep_figure("grid", rank(grid), ["hidden", "lr"], tmp_path / "grid.png", grid=True),
        sweep_figure("sampled", rank(results), ["lr"], tmp_path / "sampled.png", grid=False),
        sweep_figure("seeds", rank(results[2:4]), [], tmp_path / "seeds.png", grid=True),
    ]
    assert all(path.stat().st_size > 10_000 for path in drawn)


def test_configuration_without_runs_has_no_mean() -> None:
    empty = Configuration({"lr": 0.5}, ())
    assert empty.best_val.as_json() == {"mean": None, "std": None, "values": []}
