"""`nnfun report`: a finished run summarised, and its figures drawn."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer
from rich.text import Text

import nnfun
from nnfun.errors import NnfunError
from nnfun.io.models import load_model
from nnfun.io.runs import FIGURES, Run, load_run
from nnfun_cli import plots
from nnfun_cli.loading_display import load_test_images
from nnfun_cli.options import DataDir, RunDir
from nnfun_cli.run_display import describe_run
from nnfun_cli.shell import err, out, user_errors
from nnfun_cli.tables import confusion_table, per_digit_table, percent, sparkline


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
                test_x, test_y = load_test_images(str(run.config.get("dataset", "mnist")), data_dir)
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


def _saved_weights(metrics: dict[str, Any]) -> str:
    """`; saved: the averaged weights of epoch 37`, from metrics.json (runs before it say nothing)."""
    saved = metrics.get("saved_weights")
    if not isinstance(saved, dict):
        return ""
    epoch = saved.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        return ""
    kind = "averaged" if saved.get("averaged") is True else "raw"
    return f"; saved: the {kind} weights of epoch {epoch}"


def _print_summary(run: Run) -> None:
    """The run's settings, accuracies, validation sparkline, per-digit table, confusion matrix."""
    m = run.metrics
    out.print(
        Text.assemble(
            (str(run.path), "bold"),
            f": {run.network()} on {run.config.get('dataset', 'mnist')}",
        )
    )
    out.print(describe_run(run) + _saved_weights(m), style="dim")
    loss = m.get("test_loss")
    out.print(
        Text.assemble(
            "test accuracy ",
            (f"{run.test_accuracy:.2%}", "bold"),
            f"   loss {loss:.4f}" if isinstance(loss, int | float) else "",
            f"   (train {percent(m.get('train_accuracy'))}, val {percent(m.get('val_accuracy'))})",
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
