"""Rich renderings of results: per-digit tables, confusion matrices, epoch lines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.table import Table
from rich.text import Text

from nnfun import EpochRecord


def epoch_line(r: EpochRecord, epochs: int) -> str:
    """`epoch  3/80  loss 0.1910  train 94.62%  val 95.12%  lr 0.01  1.7s`."""
    width = len(str(epochs))
    return (
        f"epoch {r.epoch:>{width}}/{epochs}  loss {r.train_loss:.4f}  train {r.train_accuracy:6.2%}  "
        f"val {r.val_accuracy:6.2%}  lr {r.lr:.3g}  {r.seconds:.1f}s"
    )


def per_digit_table(
    accuracies: Sequence[float], counts: Sequence[int], title: str = "Per digit"
) -> Table:
    """One row per class: how many test images, accuracy, and a bar."""
    table = Table(title=title, title_justify="left")
    table.add_column("digit", justify="right")
    table.add_column("images", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("", min_width=20)
    low = min(accuracies, default=1.0)
    for digit, (acc, n) in enumerate(zip(accuracies, counts, strict=True)):
        style = "red" if acc == low else "green"
        bar = Text("█" * round(acc * 20) + "·" * (20 - round(acc * 20)), style=style)
        table.add_row(str(digit), f"{n:,}", f"{acc:.2%}", bar)
    return table


def confusion_table(matrix: np.ndarray) -> Table:
    """Counts with rows = true digit and columns = predicted; the diagonal green, big mistakes red."""
    table = Table(
        title="Confusion matrix (rows: true digit, columns: predicted)", title_justify="left"
    )
    table.add_column("", justify="right", style="bold")
    for j in range(matrix.shape[1]):
        table.add_column(str(j), justify="right")
    off = matrix[~np.eye(len(matrix), dtype=bool)]
    worst = int(off.max()) if off.size else 0
    for i, row in enumerate(matrix):
        cells = []
        for j, count in enumerate(row):
            if i == j:
                style = "bold green"
            elif count and count >= max(worst // 2, 1):
                style = "bold red"
            elif count:
                style = "yellow"
            else:
                style = "dim"
            cells.append(Text(str(count), style=style))
        table.add_row(str(i), *cells)
    return table
