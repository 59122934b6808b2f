"""The result of a sweep: trials read back from their folders, configurations ranked on validation.

A configuration is one combination of the varied settings; its seeds are repeats. Configurations
are ranked by their best validation accuracy (the best epoch of each run, averaged over seeds).
Test accuracy is carried along to be shown, and never used to rank or choose.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table

import nnfun
from nnfun import Config
from nnfun.io.runs import Run, load_run
from nnfun_cli.run_display import duration, format_setting
from nnfun_cli.sweep.plan import Trial
from nnfun_cli.sweep.trial import diverged_message, trial_state
from nnfun_cli.tables import titled

RANKED_BY = "best validation accuracy over the epochs, mean over seeds"


@dataclass(frozen=True)
class TrialResult:
    """A trial as its folder shows it now; `run` is None unless it finished."""

    trial: Trial
    state: str
    run: Run | None
    message: str = ""

    @property
    def best_val(self) -> float:
        return self.run.best_val()[0] if self.run else math.nan

    @property
    def test(self) -> float:
        return self.run.test_accuracy if self.run else math.nan

    def as_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "name": self.trial.name,
            "settings": dict(self.trial.varied),
            "seed": self.trial.seed,
            "state": self.state,
            "best_val_accuracy": None if run is None else self.best_val,
            "best_epoch": None if run is None else run.best_val()[1],
            "val_accuracy": None if run is None else run.metrics.get("val_accuracy"),
            "test_accuracy": None if run is None else self.test,
            "epochs": None if run is None else len(run.history),
            "train_seconds": None if run is None else run.seconds,
            "message": self.message,
        }


def read_result(trial: Trial, sweep_dir: Path) -> TrialResult:
    run_dir = sweep_dir / trial.name
    state = trial_state(run_dir)
    if state == "finished":
        return TrialResult(trial, state, load_run(run_dir))
    if state == "diverged":
        return TrialResult(trial, state, None, diverged_message(run_dir))
    return TrialResult(trial, "unfinished", None)


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation of one number over seeds (std None for a single run)."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float | None:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else None

    def percent(self) -> str:
        if not self.values:
            return "-"
        return (
            f"{100 * self.mean:.2f}"
            + (f" ± {100 * self.std:.2f}" if self.std is not None else "")
            + " %"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "mean": self.mean if self.values else None,
            "std": self.std,
            "values": list(self.values),
        }


@dataclass(frozen=True)
class Configuration:
    """The trials that share every varied setting and differ only in their seed."""

    varied: Mapping[str, Any]
    results: tuple[TrialResult, ...]

    def _finished(self) -> list[TrialResult]:
        return [r for r in self.results if r.run is not None]

    @property
    def best_val(self) -> Stat:
        return Stat(tuple(r.best_val for r in self._finished()))

    @property
    def test(self) -> Stat:
        return Stat(tuple(r.test for r in self._finished()))

    @property
    def seconds(self) -> float:
        runs = [r.run.seconds for r in self._finished() if r.run]
        return float(np.mean(runs)) if runs else math.nan

    def outcome(self) -> str:
        """`3 runs`, or what is missing: `2 of 3 runs, 1 diverged`."""
        n, done = len(self.results), len(self._finished())
        diverged = sum(r.state == "diverged" for r in self.results)
        text = f"{done} run{'s' * (done != 1)}" if done == n else f"{done} of {n} runs"
        return text + (f", {diverged} diverged" if diverged else "")


def rank(results: Sequence[TrialResult]) -> list[Configuration]:
    """Configurations, best mean validation accuracy first; those with no finished run last."""
    groups: dict[str, list[TrialResult]] = {}
    for result in results:
        groups.setdefault(repr(sorted(result.trial.varied.items())), []).append(result)
    configurations = [Configuration(rs[0].trial.varied, tuple(rs)) for rs in groups.values()]
    return sorted(configurations, key=lambda c: -c.best_val.mean if c.best_val.values else math.inf)


def table(name: str, ranked: Sequence[Configuration], varied: Sequence[str]) -> Group:
    """The ranked configurations as a Rich table; the winner on validation in bold.

    Title and caption are lines of their own: a table's own title and caption would wrap at
    the table's width and be padded to it.
    """
    several_seeds = any(len(c.results) > 1 for c in ranked)
    out = Table()
    out.add_column("#", justify="right")
    for key in varied:
        out.add_column(key, justify="right")
    out.add_column("best val acc" + (" (mean ± std)" if several_seeds else ""), justify="right")
    out.add_column("test acc", justify="right", style="dim")
    out.add_column("runs", justify="right")
    out.add_column("train time", justify="right")
    for i, configuration in enumerate(ranked):
        cells = [format_setting(configuration.varied[k]) for k in varied]
        seconds = configuration.seconds
        out.add_row(
            str(i + 1),
            *cells,
            configuration.best_val.percent(),
            configuration.test.percent(),
            configuration.outcome(),
            "-" if math.isnan(seconds) else f"{seconds:.1f} s",
            style="bold green" if i == 0 and configuration.best_val.values else None,
        )
    title = f"Sweep {name}: {len(ranked)} configurations ranked by validation accuracy"
    caption = "test accuracy is shown for reference only: it never ranks or chooses"
    return titled(title, out, caption)


def summary_json(
    name: str, base: Config, varied: Sequence[str], ranked: Sequence[Configuration]
) -> dict[str, Any]:
    """sweep.json: how it was ranked, the base settings, every configuration and every trial."""
    configurations = [
        {
            "rank": i + 1,
            "settings": dict(c.varied),
            "best_val_accuracy": c.best_val.as_json(),
            "test_accuracy": c.test.as_json(),
            "train_seconds": None if math.isnan(c.seconds) else c.seconds,
            "trials": [r.trial.name for r in c.results],
        }
        for i, c in enumerate(ranked)
    ]
    return {
        "name": name,
        "nnfun_version": nnfun.__version__,
        "ranked_by": RANKED_BY,
        "varied": list(varied),
        "seeds": sorted({r.trial.seed for c in ranked for r in c.results}),
        "base": base.to_dict(),
        "best": configurations[0] if ranked and ranked[0].best_val.values else None,
        "configurations": configurations,
        "trials": [r.as_json() for c in ranked for r in c.results],
    }


def top_on_validation(results: Sequence[TrialResult], size: int) -> list[TrialResult]:
    """The `size` finished trials whose saved models scored best on validation (never on test)."""
    scored = [(_saved_val(r), r) for r in results]
    ranked = sorted((pair for pair in scored if math.isfinite(pair[0])), key=lambda p: -p[0])
    return [r for _, r in ranked[:size]]


def _saved_val(result: TrialResult) -> float:
    """The validation accuracy of the model a trial saved; NaN if it has none."""
    value = result.run.metrics.get("val_accuracy") if result.run else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def ensemble_json(chosen: Sequence[TrialResult], sweep_dir: Path) -> dict[str, Any]:
    """sweep.json's `ensemble`: its members, how they were chosen, their summed training time."""
    paths = [str(sweep_dir / r.trial.name) for r in chosen]
    return {
        "chosen_by": "validation accuracy of each trial's saved model",
        "members": [r.trial.name for r in chosen],
        "val_accuracy": [_saved_val(r) for r in chosen],
        "train_seconds": sum(r.run.seconds for r in chosen if r.run),
        "command": shlex.join(["nnfun", "eval", *paths]),
    }


def ensemble_line(chosen: Mapping[str, Any], size: int) -> str:
    """What `--ensemble K` found: its members' training time and the command to evaluate it."""
    found = len(chosen["members"])
    if not found:
        return "no ensemble: no finished trial has a validation accuracy"
    only = f" (only {found} finished trials have a validation accuracy)" if found < size else ""
    return (
        f"ensemble of the {found} best on validation{only}, trained in "
        f"{duration(chosen['train_seconds'])} together: {chosen['command']}"
    )
