"""The figures of runs as PNG files, drawn with matplotlib (the optional extra `nnfun[plots]`).

One module per figure; `style` holds the shared look and the check that matplotlib is there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import nnfun
from nnfun.io.runs import FIGURES, load_run
from nnfun_cli.plots.comparison import comparison
from nnfun_cli.plots.confusion import confusion_matrix
from nnfun_cli.plots.curves import training_curves
from nnfun_cli.plots.per_digit import per_digit_accuracy
from nnfun_cli.plots.samples import sample_predictions
from nnfun_cli.plots.style import HINT, PlotsUnavailable, check_available


def write_run_figures(
    run_dir: Path, params: nnfun.Params, test_x: np.ndarray, test_y: np.ndarray
) -> list[Path]:
    """Write the four figures of a run into `run_dir`, from its JSON files and the model's predictions."""
    check_available()
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    proba = nnfun.predict_proba(params, nnfun.scale_pixels(test_x))
    matrix = run.matrix
    name = run.network(nnfun.layer_sizes(params))
    return [
        training_curves(run, run_dir / FIGURES[0], nnfun.layer_sizes(params)),
        confusion_matrix(matrix, run_dir / FIGURES[1], f"{name}"),
        sample_predictions(test_x, test_y, proba, run_dir / FIGURES[2]),
        per_digit_accuracy(matrix, run_dir / FIGURES[3], f"Accuracy per digit, {name}"),
    ]


__all__ = [
    "HINT",
    "PlotsUnavailable",
    "check_available",
    "comparison",
    "confusion_matrix",
    "per_digit_accuracy",
    "sample_predictions",
    "training_curves",
    "write_run_figures",
]
