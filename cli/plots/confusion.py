"""The confusion matrix of a run's test predictions."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnfun_cli.plots.style import MUTED, ink_on, pct, render

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- confusion matrix


def confusion_matrix(matrix: np.ndarray, path: Path, title: str = "") -> Path:
    """`confusion_matrix.png`: counts; blue diagonal and orange mistakes, each shaded by row share."""
    return render(
        path, (10.5, 8.6), partial(_draw_confusion, matrix=np.asarray(matrix), title=title)
    )


def _draw_confusion(fig: Figure, *, matrix: np.ndarray, title: str) -> None:
    import matplotlib as mpl
    from matplotlib.colors import ListedColormap, Normalize, PowerNorm
    from matplotlib.ticker import FuncFormatter

    k = len(matrix)
    totals = matrix.sum(axis=1)
    share = matrix / np.maximum(totals, 1)[:, None]
    eye = np.eye(k, dtype=bool)
    off = np.where(eye, 0.0, share)
    worst = float(off.max())

    # Two colour scales: the diagonal (~98 %) would wash out the mistakes (~0.1-2 %) on one scale.
    blues = ListedColormap(mpl.colormaps["Blues"](np.linspace(0.25, 1.0, 256)))
    oranges = ListedColormap(mpl.colormaps["Oranges"](np.linspace(0.08, 0.95, 256)))
    diag_low = min(0.9, float(share[eye].min())) if totals.any() else 0.9
    diag_norm = Normalize(vmin=100 * diag_low, vmax=100)
    # Relative to the worst mistake, but at least 2 %: a good model's matrix should look calm.
    off_top = 100 * max(worst, 0.02)
    off_norm = PowerNorm(0.5, vmin=0, vmax=off_top)

    ax = fig.subplots()
    ax.set_facecolor("white")
    ax.grid(False)
    diag_image = ax.imshow(np.ma.masked_where(~eye, 100 * share), cmap=blues, norm=diag_norm)
    off_image = ax.imshow(
        np.ma.masked_where(eye | (matrix == 0), 100 * share), cmap=oranges, norm=off_norm
    )
    for i in range(k):
        for j in range(k):
            count = int(matrix[i, j])
            if not count:
                continue
            value = 100 * share[i, j]
            colour = blues(diag_norm(value)) if i == j else oranges(off_norm(value))
            text = f"{count:,}\n{value:.1f} %" if i == j else f"{count:,}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                color=ink_on(colour),
                fontsize=10 if i == j else 11,
                fontweight="bold" if i == j or share[i, j] >= worst / 2 else "normal",
                linespacing=1.1,
            )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticks(np.arange(-0.5, k), minor=True)
    ax.set_yticks(np.arange(-0.5, k), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="both", length=0)
    ax.tick_params(labelsize=11)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("predicted digit", fontsize=11.5)
    ax.set_ylabel("true digit", fontsize=11.5)
    secondary = ax.secondary_yaxis("right")
    secondary.set_yticks(range(k), [f"{n:,}" for n in totals])
    secondary.tick_params(length=0, labelsize=9.5, labelcolor=MUTED)
    secondary.set_ylabel("images of the true digit", color=MUTED)
    for spine in secondary.spines.values():
        spine.set_visible(False)

    bar = fig.colorbar(diag_image, ax=ax, shrink=0.8, pad=0.02, aspect=30)
    bar.set_label("correct: % of the true digit's images")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    bar = fig.colorbar(off_image, ax=ax, shrink=0.8, pad=0.01, aspect=30)
    bar.set_label("mistakes: % of the true digit's images (square-root scale)")
    bar.set_ticks([t for t in (0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if t <= off_top])
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    mistakes = int(matrix.sum() - np.trace(matrix))
    total = int(matrix.sum())
    heading = title or "Confusion matrix"
    ax.set_title(
        f"{heading}: {total:,} test images, {mistakes:,} mistakes "
        f"({pct(np.trace(matrix) / max(total, 1))} correct)",
        loc="left",
        pad=12,
    )
