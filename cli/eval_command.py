"""`nnfun eval`: a trained network, or an ensemble of several, on the test set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun.io.models import load_models, model_file, training_seconds
from nnfun.io.runs import run_dataset
from nnfun_cli.loading_display import load_test_images
from nnfun_cli.options import DataDir, ModelPaths, complete_dataset, json_option
from nnfun_cli.run_display import duration
from nnfun_cli.shell import emit_json, out, user_errors
from nnfun_cli.tables import confusion_table, per_digit_table, titled


def evaluate(
    models: ModelPaths,
    data_dir: DataDir = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset to test on [default: the run's, else mnist].",
            show_default=False,
            autocompletion=complete_dataset,
        ),
    ] = None,
    json: Annotated[bool, json_option("the metrics")] = False,
) -> None:
    """Evaluate a trained model on the test set: accuracy, loss, per-digit table, confusion matrix.

    Only the test files (t10k-*) are read; the training set need not be there. Several models
    are evaluated as an ensemble (their probabilities averaged), after a table of each member;
    the ensemble's training time is the sum of its members'.
    """
    with user_errors():
        nets = load_models(models)
        name = dataset or run_dataset(model_file(models[0])[1])
        test_x, test_y = load_test_images(name, data_dir)
        nnfun.check_fits(nets, test_x.shape[1], int(test_y.max()) + 1)
        loss, acc, predicted = nnfun.evaluate(nets, test_x, test_y)
        rows = _members(models, nets, test_x, test_y) if len(nets) > 1 else []
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
            | ({"members": rows, "train_seconds": _total_seconds(rows)} if rows else {})
        )
        return
    if rows:
        out.print(_members_table(rows, acc, loss))
    out.print(
        Text.assemble(
            "test accuracy ",
            (f"{acc:.2%}", "bold"),
            f"   loss {loss:.4f}   ({len(test_y):,} {name} test images)",
        )
    )
    out.print(per_digit_table(per_class.tolist(), matrix.sum(axis=1).tolist()))
    out.print(confusion_table(matrix))


def _members(
    paths: list[Path], nets: tuple[nnfun.Params, ...], x: np.ndarray, y: np.ndarray
) -> list[dict[str, Any]]:
    """Each member of an ensemble alone: its test accuracy and loss, and its training time."""
    rows = []
    for path, net in zip(paths, nets, strict=True):
        loss, acc, _ = nnfun.evaluate(net, x, y)
        rows.append(
            {
                "model": str(path),
                "test_accuracy": acc,
                "test_loss": loss,
                "train_seconds": training_seconds(path),
            }
        )
    return rows


def _total_seconds(rows: list[dict[str, Any]]) -> float | None:
    """An ensemble's training time: the sum of its members', unknown if any one's is."""
    seconds = [row["train_seconds"] for row in rows]
    return None if None in seconds else float(sum(seconds))


def _members_table(rows: list[dict[str, Any]], acc: float, loss: float) -> Group:
    """The members of an ensemble, one per row, and the ensemble in bold below them."""
    table = Table()
    for column in ("model", "test accuracy", "loss", "training"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        seconds = row["train_seconds"]
        table.add_row(
            row["model"],
            f"{row['test_accuracy']:.2%}",
            f"{row['test_loss']:.4f}",
            "-" if seconds is None else duration(seconds),
        )
    total = _total_seconds(rows)
    table.add_row(
        Text("ensemble", style="bold"),
        Text(f"{acc:.2%}", style="bold"),
        f"{loss:.4f}",
        "-" if total is None else f"{duration(total)} (sum)",
    )
    return titled(f"Ensemble of {len(rows)} models (probabilities averaged)", table)
