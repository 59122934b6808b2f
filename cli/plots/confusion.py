"""The confusion matrix of a run's test predictions: counts, shaded on one colour scale."""

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
    """`confusion_matrix.png`: counts, every cell shaded on one log scale of its row's share."""
    return render(
        path, (9.6, 8.4), partial(_draw_confusion, matrix=np.asarray(matrix), title=title)
    )


def _draw_confusion(fig: Figure, *, matrix: np.ndarray, title: str) -> None:
    import matplotlib as mpl
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.ticker import FuncFormatter

    k = len(matrix)
    totals = matrix.sum(axis=1)
    share = 100 * matrix / np.maximum(totals, 1)[:, None]
    # One scale for every cell: the share of its row, from 0.1 % (one image in a thousand) to
    # 100 %, on a log axis, so a 98 % diagonal and a 0.3 % mistake are both visible.
    blues = ListedColormap(mpl.colormaps["Blues"](np.linspace(0.1, 1.0, 256)))
    norm = LogNorm(vmin=0.1, vmax=100, clip=True)
    ax = fig.subplots()
    ax.set_facecolor("white")
    ax.grid(False)
    image = ax.imshow(np.ma.masked_where(matrix == 0, share), cmap=blues, norm=norm)
    worst = float(np.where(np.eye(k, dtype=bool), 0, share).max())
    for i in range(k):
        for j in range(k):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    f"{int(matrix[i, j]):,}",
                    ha="center",
                    va="center",
                    color=ink_on(blues(norm(share[i, j]))),
                    fontsize=10.5,
                    fontweight="bold" if i == j or share[i, j] >= worst / 2 else "normal",
                )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticks(np.arange(-0.5, k), minor=True)
    ax.set_yticks(np.arange(-0.5, k), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="both", length=0, labelsize=11)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("predicted digit", fontsize=11.5)
    ax.set_ylabel("true digit", fontsize=11.5)
    for i, total in enumerate(totals):
        ax.text(k - 0.35, i, f"{total:,}", ha="left", va="center", fontsize=9.5, color=MUTED)
    ax.text(k - 0.35, -0.75, "images", ha="left", va="center", fontsize=9.5, color=MUTED)

    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.09, aspect=30)
    bar.set_label("share of the row (log scale)")
    bar.set_ticks([0.1, 0.3, 1, 3, 10, 30, 100])
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    bar.ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    mistakes = int(matrix.sum() - np.trace(matrix))
    total = int(matrix.sum())
    heading = title or "Confusion matrix"
    ax.set_title(
        f"{heading}: {total:,} test images, {mistakes:,} mistakes "
        f"({pct(np.trace(matrix) / max(total, 1))} correct)",
        loc="left",
        pad=12,
    )
