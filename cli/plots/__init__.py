"""The figures of runs as PNG files, drawn with matplotlib (the optional extra `nnfun[plots]`).

One module per figure; `style` holds the shared look and the check that matplotlib is there.
"""

from __future__ import annotations

from collections.abc import Sequence
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

SAMPLES = FIGURES[2]
"""The one figure that needs the model's predictions on the test images."""


def write_run_figures(
    run_dir: Path,
    params: nnfun.Params,
    test_x: np.ndarray | None,
    test_y: np.ndarray | None,
    names: Sequence[str] = FIGURES,
) -> list[Path]:
    """Write the figures `names` (default: all four) of a run into `run_dir`.

    They come from the run's JSON files; `sample_predictions.png` also from the model's
    predictions on the test images `test_x`, `test_y`, which only it needs.
    """
    check_available()
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    sizes = nnfun.layer_sizes(params)
    name = run.network(sizes)
    written = []
    for figure in (f for f in FIGURES if f in names):
        path = run_dir / figure
        if figure == FIGURES[0]:
            written.append(training_curves(run, path, sizes))
        elif figure == FIGURES[1]:
            written.append(confusion_matrix(run.matrix, path, name))
        elif figure == FIGURES[3]:
            written.append(per_digit_accuracy(run.matrix, path, f"Accuracy per digit, {name}"))
        else:
            if test_x is None or test_y is None:
                raise ValueError(f"{SAMPLES} needs the test images")
            proba = nnfun.predict_proba(params, nnfun.scale_pixels(test_x))
            written.append(sample_predictions(test_x, test_y, proba, path))
    return written


__all__ = [
    "HINT",
    "PlotsUnavailable",
    "SAMPLES",
    "check_available",
    "comparison",
    "confusion_matrix",
    "per_digit_accuracy",
    "sample_predictions",
    "training_curves",
    "write_run_figures",
]
