"""Looking at trained networks: `nnfun eval`, `gradcheck`, `report` and `compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun.errors import ConfigError, NnfunError
from nnfun.gradient_check import extended_precision
from nnfun.io.datasets import load_dataset
from nnfun.io.files import read_json
from nnfun.io.models import load_model, model_file
from nnfun.io.runs import CONFIG_JSON, Run, config_differences, format_setting, load_run, run_labels
from nnfun_cli import plots
from nnfun_cli.plots.style import describe
from nnfun_cli.shell import (
    FAILED,
    DataDir,
    err,
    out,
    parse_ints,
    user_errors,
)
from nnfun_cli.tables import confusion_table, per_digit_table, sparkline


def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A run folder, or a model.npz file.", show_default=False)
    ],
    data_dir: DataDir = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset to test on [default: the run's, else mnist].", show_default=False
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON only.")] = False,
) -> None:
    """Evaluate a trained model on the test set: accuracy, loss, per-digit table, confusion matrix."""
    with user_errors():
        params, run_dir = load_model(model), model_file(model)[1]
        name = dataset or _run_dataset(run_dir)
        data = load_dataset(name, data_dir, log=lambda line: err.print(line, style="dim"))
        loss, acc, predicted = nnfun.evaluate(params, data.test_x, data.test_y)
        matrix = nnfun.confusion_matrix(data.test_y, predicted)
        per_class = nnfun.per_class_accuracy(matrix)
        if json:
            report = {
                "test_accuracy": acc,
                "test_loss": loss,
                "per_class_accuracy": per_class.tolist(),
                "confusion_matrix": matrix.tolist(),
            }
            print(orjson.dumps(report).decode())
            return
        out.print(
            f"test accuracy [bold]{acc:.2%}[/]   loss {loss:.4f}   ({len(data.test_y):,} {name} test images)"
        )
        out.print(per_digit_table(per_class.tolist(), matrix.sum(axis=1).tolist()))
        out.print(confusion_table(matrix))


def _run_dataset(run_dir: Path | None) -> str:
    """The dataset a run was trained on, from its config.json; mnist when unknown."""
    if run_dir is not None and (run_dir / CONFIG_JSON).is_file():
        return str(read_json(run_dir / CONFIG_JSON).get("dataset", "mnist"))
    return "mnist"


def gradcheck(
    sizes: Annotated[
        str, typer.Option(help="Layer widths of the test network, input to output.")
    ] = "32,16,16,10",
    batch: Annotated[int, typer.Option(help="Random inputs in the test batch.")] = 8,
    eps: Annotated[float, typer.Option(help="Step of the central differences.")] = 1e-6,
    tolerance: Annotated[float, typer.Option(help="Largest acceptable relative error.")] = 1e-7,
    dropout: Annotated[
        float, typer.Option(help="Check with a fixed dropout mask of this rate.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the weights and inputs.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print the errors as JSON only.")] = False,
) -> None:
    """Check backprop against numerical derivatives on a small float64 network, every parameter.

    Exits with 1 if any relative error exceeds the tolerance.
    """
    with user_errors():
        widths = parse_ints(sizes, "--sizes")
        if len(widths) < 2 or min(widths) < 1 or batch < 1 or not 0 <= dropout < 1 or eps <= 0:
            raise ConfigError(
                "need --sizes with at least two positive widths, --batch >= 1, --eps > 0, 0 <= --dropout < 1"
            )
        rng = np.random.default_rng(seed)
        params = nnfun.init_params(widths, rng, np.float64)
        x = rng.random((batch, widths[0]))
        y = rng.integers(0, widths[-1], batch)
        masks = (
            nnfun.dropout_masks(widths, batch, rng, rate=dropout, dtype=np.float64)
            if dropout
            else None
        )
        errors = nnfun.gradcheck(params, x, y, eps=eps, masks=masks)
        if not extended_precision():
            err.print(
                "note: no extended precision (np.longdouble is float64 here): expect ~1e-5 errors"
            )
    worst = max(errors.values())
    if json:
        print(
            orjson.dumps(
                {
                    "errors": errors,
                    "max_error": worst,
                    "tolerance": tolerance,
                    "passed": worst <= tolerance,
                }
            ).decode()
        )
    else:
        table = Table(
            title=f"Gradient check, network {sizes}, float64, eps {eps:g}", title_justify="left"
        )
        for column in ("parameter", "shape", "max relative error", ""):
            table.add_column(column, justify="right" if column != "" else "left")
        for name, error in errors.items():
            ok = error <= tolerance
            table.add_row(
                name,
                "x".join(map(str, params[name].shape)),
                f"{error:.2e}",
                "[green]ok[/]" if ok else "[bold red]FAIL[/]",
            )
        out.print(table)
        verdict = "[green]passed[/]" if worst <= tolerance else "[bold red]failed[/]"
        out.print(f"{verdict}: largest error {worst:.2e} (tolerance {tolerance:.0e})")
    if worst > tolerance:
        raise typer.Exit(FAILED)


RunDir = Annotated[
    Path, typer.Argument(help="A run folder made by nnfun train.", show_default=False)
]


def _figures_note(exc: plots.PlotsUnavailable) -> None:
    """The one line said when matplotlib is missing (plain text: `[plots]` is not Rich markup)."""
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _percent(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "-"


def report(
    run_dir: RunDir,
    data_dir: DataDir = None,
    draw: Annotated[
        bool,
        typer.Option(
            "--figures/--no-figures",
            help="(Re)draw the run's PNG figures (needs model.npz and the test set).",
        ),
    ] = True,
) -> None:
    """Summarise a finished run: accuracy per digit, confusion matrix, validation curve; redraw its plots.

    The figures (training_curves.png, confusion_matrix.png, sample_predictions.png,
    per_digit_accuracy.png) are written into the run folder.
    """
    with user_errors():
        run = load_run(run_dir)
        m, matrix = run.metrics, run.matrix
        out.print(
            f"[bold]{escape(str(run_dir))}[/]: {run.network()} on {escape(str(run.config.get('dataset', 'mnist')))}",
            highlight=False,
        )
        out.print(describe(run), style="dim", highlight=False, markup=False)
        loss = m.get("test_loss")
        out.print(
            f"test accuracy [bold]{run.test_accuracy:.2%}[/]"
            + (f"   loss {loss:.4f}" if isinstance(loss, int | float) else "")
            + f"   (train {_percent(m.get('train_accuracy'))}, val {_percent(m.get('val_accuracy'))})",
            highlight=False,
        )
        val = run.column("val_accuracy")
        if np.isfinite(val).any():
            best, epoch = run.best_val()
            prefix = "validation accuracy  "
            suffix = f"  {np.nanmin(val):.2%} to {best:.2%} (best, epoch {epoch})"
            width = max(8, min(60, out.width - len(prefix) - len(suffix) - 1))
            out.print(
                f"{prefix}[dodger_blue1]{sparkline(val, width)}[/]{suffix}",
                highlight=False,
            )
        counts = matrix.sum(axis=1).tolist()
        out.print(per_digit_table(m["per_class_accuracy"], counts, overall=run.test_accuracy))
        out.print(confusion_table(matrix))
        if not draw:
            return
        try:
            plots.check_available()
        except plots.PlotsUnavailable as exc:
            _figures_note(exc)
            return
        params = load_model(run_dir)
        data = load_dataset(
            str(run.config.get("dataset", "mnist")),
            data_dir,
            log=lambda line: err.print(line, style="dim"),
        )
        with err.status("drawing the figures"):
            written = plots.write_run_figures(run_dir, params, data.test_x, data.test_y)
        out.print(
            f"figures in [bold]{escape(str(run_dir))}[/]: {', '.join(p.name for p in written)}",
            highlight=False,
        )


def _compare_table(runs: list[Run], names: list[str], differs: list[str]) -> Table:
    """One row per run: its differing settings, best validation accuracy, test accuracy, time."""
    top = max(run.test_accuracy for run in runs)
    table = Table(title=f"{len(runs)} runs", title_justify="left")
    table.add_column("run")
    for key in differs:
        table.add_column(key.replace("_", " "), justify="right", style="cyan")
    table.add_column("best val (epoch)", justify="right")
    table.add_column("test", justify="right")
    table.add_column("training", justify="right")
    for run, name in zip(runs, names, strict=True):
        best, epoch = run.best_val()
        table.add_row(
            Text(name),
            *(format_setting(run.config[k]) if k in run.config else "-" for k in differs),
            "-" if epoch is None else f"{best:.2%} ({epoch})",
            Text(f"{run.test_accuracy:.2%}", style="bold" if run.test_accuracy == top else ""),
            _duration(run.seconds),
        )
    return table


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
    json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON only.")
    ] = False,
) -> None:
    """Compare runs: the settings that differ, best validation and test accuracy, training time."""
    with user_errors():
        if len(run_dirs) < 2:
            raise NnfunError(
                "compare needs at least two run folders, e.g. nnfun compare results/a results/b"
            )
        runs = [load_run(path) for path in run_dirs]
        differs = config_differences(runs)
        names = run_labels(runs)
        written: Path | None = None
        if out_path is not None:
            target = out_path if out_path.suffix.lower() == ".png" else out_path / "comparison.png"
            try:
                written = plots.comparison(runs, target)
            except plots.PlotsUnavailable as exc:
                _figures_note(exc)
    if json:
        rows = []
        for run, name in zip(runs, names, strict=True):
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
        report = {"differing_settings": differs, "runs": rows, "figure": written and str(written)}
        print(orjson.dumps(report).decode())
        return
    out.print(_compare_table(runs, names, differs))
    out.print(
        f"settings that differ: {', '.join(differs)}" if differs else "all settings are the same",
        highlight=False,
        markup=False,
    )
    if written is not None:
        out.print(f"comparison figure: [bold]{escape(str(written))}[/]", highlight=False)
