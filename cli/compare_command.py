"""`nnfun compare`: runs side by side, readable in an 80-column terminal.

The table lists one run per row when that fits the terminal, under the run folders' names or,
when those are too long, under short labels (the part of each name that tells it apart, with a
legend below). When even that is too wide, it turns: one setting per row, one run per column.
Into a pipe the table always has one run per row, full names, and its natural width.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun.errors import NnfunError
from nnfun.io.models import load_models
from nnfun.io.runs import Run, load_run
from nnfun_cli import plots
from nnfun_cli.loading_display import load_test_images
from nnfun_cli.options import DataDir, json_option
from nnfun_cli.run_display import config_differences, duration, format_setting, run_labels
from nnfun_cli.shell import PIPE_WIDTH, emit_json, err, out, user_errors
from nnfun_cli.tables import titled

SEPARATORS = "-_/ "


def short_labels(names: Sequence[str]) -> list[str]:
    """The part of each name that tells it apart: what all names share at both ends is dropped.

    Cuts fall on separators (`-`, `_`, `/`, space; not `.`, which sits inside numbers), so
    `20261125-131200` and `20261125-131512` become `131200` and `131512`. Names that would
    lose their difference (or their whole text) come back unchanged.
    """
    if len(names) < 2:
        return list(names)
    prefix = os.path.commonprefix(list(names))
    start = max((prefix.rfind(c) + 1 for c in SEPARATORS), default=0)
    suffix = os.path.commonprefix([n[::-1] for n in names])[::-1]
    cuts = [suffix.find(c) for c in SEPARATORS if c in suffix]
    end = len(suffix) - min(cuts) if cuts else 0
    labels = [n[start : len(n) - end] for n in names]
    if len(set(labels)) < len(labels) or not all(labels):
        return list(names)
    return labels


def _by_run(runs: list[Run], labels: list[str], differs: list[str]) -> Table:
    """One row per run: its differing settings, best validation accuracy, test accuracy, time."""
    top = max(run.test_accuracy for run in runs)
    table = Table()
    table.add_column("run", no_wrap=True)
    for key in differs:
        table.add_column(key.replace("_", " "), justify="right", style="cyan")
    table.add_column("best val (epoch)", justify="right")
    table.add_column("test", justify="right")
    table.add_column("training", justify="right")
    for run, label in zip(runs, labels, strict=True):
        table.add_row(
            label,
            *(_setting(run, key) for key in differs),
            _best_val(run),
            Text(f"{run.test_accuracy:.2%}", style="bold" if run.test_accuracy == top else ""),
            duration(run.seconds),
        )
    return table


def _by_setting(runs: list[Run], labels: list[str], differs: list[str]) -> Table:
    """The same table turned: one row per setting or result, one column per run."""
    top = max(run.test_accuracy for run in runs)
    table = Table()
    table.add_column("")
    for label in labels:
        table.add_column(label, justify="right", no_wrap=True)
    for key in differs:
        table.add_row(
            Text(key.replace("_", " "), style="cyan"), *(_setting(run, key) for run in runs)
        )
    table.add_row("best val (epoch)", *(_best_val(run) for run in runs))
    table.add_row(
        "test",
        *(
            Text(f"{run.test_accuracy:.2%}", style="bold" if run.test_accuracy == top else "")
            for run in runs
        ),
    )
    table.add_row("training", *(duration(run.seconds) for run in runs))
    return table


def _setting(run: Run, key: str) -> str:
    return format_setting(run.config[key]) if key in run.config else "-"


def _best_val(run: Run) -> str:
    best, epoch = run.best_val()
    return "-" if epoch is None else f"{best:.2%} ({epoch})"


def _natural_width(table: Table) -> int:
    return out.measure(table, options=out.options.update_width(PIPE_WIDTH)).maximum


def comparison_table(runs: list[Run], differs: list[str]) -> tuple[Table, list[str]]:
    """The table that fits `out`, and the labels it uses for the runs."""
    names = run_labels(runs)
    table = _by_run(runs, names, differs)
    if _natural_width(table) <= out.width:
        return table, names
    labels = short_labels(names)
    table = _by_run(runs, labels, differs)
    if _natural_width(table) <= out.width:
        return table, labels
    return _by_setting(runs, labels, differs), labels


def compare(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Two or more run folders made by nnfun train.", show_default=False),
    ],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also draw comparison.png: a .png path, or a folder to put it in.",
            show_default=False,
        ),
    ] = None,
    json: Annotated[bool, json_option("the comparison")] = False,
    ensemble: Annotated[
        bool,
        typer.Option(
            "--ensemble",
            help="Also evaluate the runs' models together (probabilities averaged) on the test set.",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Compare runs: the settings that differ, best validation and test accuracy, training time.

    With --ensemble, the runs' models are also evaluated as one ensemble on the test set; its
    training time is the sum of theirs.
    """
    with user_errors():
        if len(run_dirs) < 2:
            raise NnfunError(
                "compare needs at least two run folders, e.g. nnfun compare results/a results/b"
            )
        runs = [load_run(path) for path in run_dirs]
        together = _ensemble(run_dirs, runs, data_dir) if ensemble else None
        differs = config_differences(runs)
        written: Path | None = None
        if out_path is not None:
            target = out_path if out_path.suffix.lower() == ".png" else out_path / "comparison.png"
            try:
                written = plots.comparison(runs, target)
            except plots.PlotsUnavailable as exc:
                err.print(str(exc))
    if json:
        emit_json(_document(runs, differs, written) | ({"ensemble": together} if together else {}))
        return
    table, labels = comparison_table(runs, differs)
    out.print(titled(f"{len(runs)} runs", table))
    for run, label, name in zip(runs, labels, run_labels(runs), strict=True):
        if label != name:
            out.print(f"  {label}: {run.path}")
    out.print(
        f"settings that differ: {', '.join(differs)}" if differs else "all settings are the same"
    )
    if together is not None:
        out.print(
            Text.assemble(
                f"ensemble of the {len(runs)} runs (probabilities averaged): test ",
                (f"{together['test_accuracy']:.2%}", "bold"),
                f", training {duration(together['train_seconds'])} (the sum of the runs')",
            )
        )
    if written is not None:
        out.print(Text.assemble("comparison figure: ", (str(written), "bold")))


def _ensemble(paths: list[Path], runs: list[Run], data_dir: Path | None) -> dict[str, Any]:
    """The runs' models evaluated together on the first run's test set, and their summed time."""
    nets = load_models(paths)
    x, y = load_test_images(str(runs[0].config.get("dataset", "mnist")), data_dir)
    nnfun.check_fits(nets, x.shape[1], int(y.max()) + 1)
    loss, acc, _ = nnfun.evaluate(nets, x, y)
    return {
        "members": [str(run.path) for run in runs],
        "test_accuracy": acc,
        "test_loss": loss,
        "train_seconds": sum(run.seconds for run in runs),
    }


def _document(runs: list[Run], differs: list[str], written: Path | None) -> dict[str, object]:
    """`nnfun compare --json`: the differing settings, one object per run, the figure's path."""
    rows = []
    for run, name in zip(runs, run_labels(runs), strict=True):
        best, epoch = run.best_val()
        rows.append(
            {
                "run": str(run.path),
                "name": name,
                "settings": {key: run.config.get(key) for key in differs},
                "best_val_accuracy": None if epoch is None else best,
                "best_val_epoch": epoch,
                "test_accuracy": run.test_accuracy,
                "epochs": len(run.history),
                "train_seconds": run.seconds,
            }
        )
    return {"differing_settings": differs, "runs": rows, "figure": written and str(written)}
