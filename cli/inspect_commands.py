"""Looking at trained networks: `nnfun eval`, `gradcheck` and `report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun.errors import NnfunError
from nnfun.gradient_check import check_options, extended_precision
from nnfun.io.datasets import load_test_set
from nnfun.io.models import load_model, model_file
from nnfun.io.runs import FIGURES, Run, load_run, run_dataset
from nnfun_cli import downloads, plots
from nnfun_cli.choices import complete_dataset
from nnfun_cli.plots.style import describe
from nnfun_cli.shell import (
    FAILED,
    DataDir,
    emit_json,
    err,
    out,
    parse_ints,
    user_errors,
)
from nnfun_cli.tables import confusion_table, per_digit_table, sparkline, titled


def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A run folder, or a model.npz file.", show_default=False)
    ],
    data_dir: DataDir = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset to test on [default: the run's, else mnist].",
            show_default=False,
            autocompletion=complete_dataset,
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON only.")] = False,
) -> None:
    """Evaluate a trained model on the test set: accuracy, loss, per-digit table, confusion matrix.

    Only the test files (t10k-*) are read; the training set need not be there.
    """
    with user_errors():
        params, run_dir = load_model(model), model_file(model)[1]
        name = dataset or run_dataset(run_dir)
        test_x, test_y = _test_set(name, data_dir)
        nnfun.check_fits(params, test_x.shape[1], int(test_y.max()) + 1)
        loss, acc, predicted = nnfun.evaluate(params, test_x, test_y)
    matrix = nnfun.confusion_matrix(test_y, predicted)
    per_class = nnfun.per_class_accuracy(matrix)
    if json:
        emit_json(
            {
                "test_accuracy": acc,
                "test_loss": loss,
                "per_class_accuracy": per_class.tolist(),
                "confusion_matrix": matrix.tolist(),
            }
        )
        return
    out.print(
        Text.assemble(
            "test accuracy ",
            (f"{acc:.2%}", "bold"),
            f"   loss {loss:.4f}   ({len(test_y):,} {name} test images)",
        )
    )
    out.print(per_digit_table(per_class.tolist(), matrix.sum(axis=1).tolist()))
    out.print(confusion_table(matrix))


def _test_set(dataset: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The test images and labels, with download progress on stderr if MNIST's are missing."""
    with downloads.loading(err, f"loading the {dataset} test set") as shown:
        return load_test_set(dataset, data_dir, log=shown.log, progress=shown.progress)


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
        check_options(widths, batch, eps, tolerance, dropout, seed)
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
    passed = worst <= tolerance
    if json:
        emit_json({"errors": errors, "max_error": worst, "tolerance": tolerance, "passed": passed})
    else:
        table = Table()
        for column in ("parameter", "shape", "max relative error", ""):
            table.add_column(column, justify="right" if column != "" else "left")
        for name, error in errors.items():
            table.add_row(
                name,
                "x".join(map(str, params[name].shape)),
                f"{error:.2e}",
                Text("ok", "green") if error <= tolerance else Text("FAIL", "bold red"),
            )
        out.print(titled(f"Gradient check, network {sizes}, float64, eps {eps:g}", table))
        out.print(
            Text.assemble(
                ("passed", "green") if passed else ("failed", "bold red"),
                f": largest error {worst:.2e} (tolerance {tolerance:.0e})",
            )
        )
    if not passed:
        raise typer.Exit(FAILED)


RunDir = Annotated[
    Path, typer.Argument(help="A run folder made by nnfun train.", show_default=False)
]


def _percent(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "-"


def report(
    run_dir: RunDir,
    data_dir: DataDir = None,
    draw: Annotated[
        bool | None,
        typer.Option(
            "--figures/--no-figures",
            help="Redraw all four PNG figures, or none [default: draw only the missing ones].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Summarise a finished run: accuracy per digit, confusion matrix, validation curve.

    The figures (training_curves.png, confusion_matrix.png, sample_predictions.png,
    per_digit_accuracy.png) are drawn into the run folder when missing, or all with --figures;
    only sample_predictions.png needs the test images (never the training set).
    """
    with user_errors():
        run = load_run(run_dir)
    _print_summary(run)
    missing = [name for name in FIGURES if not (run_dir / name).is_file()]
    todo = list(FIGURES) if draw else missing if draw is None else []
    if not todo:
        return
    try:
        plots.check_available()
    except plots.PlotsUnavailable as exc:
        err.print(str(exc))
        return
    with user_errors():
        params = load_model(run_dir)
        test_x = test_y = None
        if plots.SAMPLES in todo:
            try:
                test_x, test_y = _test_set(str(run.config.get("dataset", "mnist")), data_dir)
            except NnfunError as exc:
                if draw:  # asked for: a failure; drawn because missing: a note
                    raise
                err.print(f"{plots.SAMPLES} not drawn: {exc}")
                todo.remove(plots.SAMPLES)
            else:
                nnfun.check_fits(params, test_x.shape[1], int(test_y.max()) + 1)
        with err.status("drawing the figures"):
            written = plots.write_run_figures(run_dir, params, test_x, test_y, todo)
    if written:
        out.print(f"figures drawn in {run_dir}: {', '.join(p.name for p in written)}")


def _print_summary(run: Run) -> None:
    """The run's settings, accuracies, validation sparkline, per-digit table, confusion matrix."""
    m = run.metrics
    out.print(
        Text.assemble(
            (str(run.path), "bold"),
            f": {run.network()} on {run.config.get('dataset', 'mnist')}",
        )
    )
    out.print(describe(run), style="dim")
    loss = m.get("test_loss")
    out.print(
        Text.assemble(
            "test accuracy ",
            (f"{run.test_accuracy:.2%}", "bold"),
            f"   loss {loss:.4f}" if isinstance(loss, int | float) else "",
            f"   (train {_percent(m.get('train_accuracy'))}, val {_percent(m.get('val_accuracy'))})",
        )
    )
    val = run.column("val_accuracy")
    if np.isfinite(val).any():
        best, epoch = run.best_val()
        prefix = "validation accuracy  "
        suffix = f"  {np.nanmin(val):.2%} to {best:.2%} (best, epoch {epoch})"
        width = max(8, min(60, out.fit_width - len(prefix) - len(suffix) - 1))
        out.print(Text.assemble(prefix, (sparkline(val, width), "dodger_blue1"), suffix))
    counts = run.matrix.sum(axis=1).tolist()
    out.print(per_digit_table(m["per_class_accuracy"], counts, overall=run.test_accuracy))
    out.print(confusion_table(run.matrix))
