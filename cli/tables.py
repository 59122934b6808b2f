"""Rich renderings of results: per-digit tables, confusion matrices, epoch lines."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from nnfun import EpochRecord


def titled(title: str, table: Table, caption: str | None = None) -> Group:
    """A table under its title, and above its caption, each on a line of its own.

    A table's own title and caption would wrap at the table's width and be padded to it.
    """
    lines = [Text(caption, style="table.caption")] if caption else []
    return Group(Text(title, style="table.title"), table, *lines)


def percent(value: object, width: int = 0) -> str:
    """`95.12%` for a finite number, `-` for None or NaN (a run without validation), right-aligned."""
    finite = isinstance(value, int | float) and math.isfinite(value)
    return f"{value:{width}.2%}" if finite else "-".rjust(width)


def epoch_line(r: EpochRecord, epochs: int) -> str:
    """`epoch  3/80  loss 0.1910  train 94.62%  val 95.12%  lr 0.01  1.7s`."""
    width = len(str(epochs))
    return (
        f"epoch {r.epoch:>{width}}/{epochs}  loss {r.train_loss:.4f}  train {r.train_accuracy:6.2%}  "
        f"val {percent(r.val_accuracy, 6)}  lr {r.lr:.3g}  {r.seconds:.1f}s"
    )


def _bar_floor(values: Sequence[float]) -> float:
    """Where a zoomed accuracy bar starts: a round number below the lowest value, so bars differ."""
    low = min(values, default=0.0)
    spread = max(1.0 - low, 0.005)
    step = 0.005 if spread < 0.02 else 0.01 if spread < 0.06 else 0.05 if spread < 0.25 else 0.1
    return max(0.0, math.floor((low - 0.25 * spread) / step) * step)


def bar(fraction: float, width: int, style: str) -> Text:
    """A bar `width` cells long filled to `fraction`, with eighth-cell resolution."""
    cells = max(0.0, min(1.0, fraction)) * width
    full, eighths = divmod(round(cells * 8), 8)
    filled = "█" * full + (EIGHTHS[eighths] if eighths else "")
    text = Text(filled, style=style)
    text.append("·" * (width - len(filled)), style="dim")
    return text


EIGHTHS = " ▏▎▍▌▋▊▉"
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """`▁▃▅▆▇██`: one block per value (averaged down to `width` blocks), low to high; blank for NaN."""
    data = np.asarray(values, dtype=float)
    if len(data) > width:
        chunks = np.array_split(data, width)
        data = np.array([np.nanmean(c) if np.isfinite(c).any() else np.nan for c in chunks])
    finite = data[np.isfinite(data)]
    if not finite.size:
        return ""
    low, high = float(finite.min()), float(finite.max())
    blocks = []
    for value in data:
        if not np.isfinite(value):
            blocks.append(" ")
        elif high == low:
            blocks.append(SPARKS[3])
        else:
            blocks.append(SPARKS[round((value - low) / (high - low) * (len(SPARKS) - 1))])
    return "".join(blocks)


def per_digit_table(
    accuracies: Sequence[float],
    counts: Sequence[int],
    title: str = "Per digit",
    *,
    overall: float | None = None,
) -> Group:
    """One row per class: how many test images, accuracy, and a bar zoomed in so digits differ.

    Bars start at a round number below the weakest digit (said in the column header); digits below
    the overall accuracy are orange, the others blue (readable with colour-blindness).
    """
    if overall is None:
        total = sum(counts)
        overall = (
            sum(a * n for a, n in zip(accuracies, counts, strict=True)) / total if total else 0.0
        )
    floor = _bar_floor([a for a, n in zip(accuracies, counts, strict=True) if n] + [overall])
    width = 24
    table = Table()
    table.add_column("digit", justify="right")
    table.add_column("images", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column(f"bar: {100 * floor:g}% to 100%", min_width=width)
    low = min(accuracies, default=1.0)
    for digit, (acc, n) in enumerate(zip(accuracies, counts, strict=True)):
        style = "dark_orange" if acc < overall else "dodger_blue1"
        if acc == low:
            style = f"bold {style}"
        share = (acc - floor) / (1 - floor) if floor < 1 else 1.0
        table.add_row(
            str(digit), f"{n:,}", Text(f"{acc:.2%}", style=style), bar(share, width, style)
        )
    return titled(title, table)


def confusion_table(matrix: np.ndarray) -> Group:
    """Counts with rows = true digit and columns = predicted; diagonal blue, big mistakes orange.

    Blue and orange stay distinct with colour-blindness; zeros are a dim dot so mistakes stand out.
    """
    table = Table()
    table.add_column("", justify="right", style="bold")
    for j in range(matrix.shape[1]):
        table.add_column(str(j), justify="right")
    off = matrix[~np.eye(len(matrix), dtype=bool)]
    worst = int(off.max()) if off.size else 0
    for i, row in enumerate(matrix):
        cells = []
        for j, count in enumerate(row):
            if i == j:
                cells.append(Text(f"{count:,}", style="bold dodger_blue1"))
            elif count and count >= max(worst // 2, 1):
                cells.append(Text(str(count), style="bold dark_orange"))
            elif count:
                cells.append(Text(str(count), style="yellow"))
            else:
                cells.append(Text("·", style="dim"))
        table.add_row(str(i), *cells)
    return titled("Confusion matrix (rows: true digit, columns: predicted)", table)
