"""`nnfun eval`: a trained network on the test set."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

import nnfun
from nnfun.io.models import load_model, model_file
from nnfun.io.runs import run_dataset
from nnfun_cli.loading_display import load_test_images
from nnfun_cli.options import DataDir, ModelPath, complete_dataset, json_option
from nnfun_cli.shell import emit_json, out, user_errors
from nnfun_cli.tables import confusion_table, per_digit_table


def evaluate(
    model: ModelPath,
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

    Only the test files (t10k-*) are read; the training set need not be there.
    """
    with user_errors():
        params, run_dir = load_model(model), model_file(model)[1]
        name = dataset or run_dataset(run_dir)
        test_x, test_y = load_test_images(name, data_dir)
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
