"""Accuracy per digit, against the overall accuracy."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import nnfun
from nnfun_cli.plots.style import BLUE, INK, MUTED, ORANGE, render, zoom

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- per-digit accuracy


def per_digit_accuracy(matrix: np.ndarray, path: Path, title: str = "") -> Path:
    """`per_digit_accuracy.png`: a bar per digit with its accuracy, the overall accuracy as a line."""
    return render(
        path, (12.5, 6.2), partial(_draw_per_digit, matrix=np.asarray(matrix), title=title)
    )


def _draw_per_digit(fig: Figure, *, matrix: np.ndarray, title: str) -> None:
    from matplotlib.patches import Patch

    totals = matrix.sum(axis=1)
    correct = np.diag(matrix)
    accuracy = 100 * np.asarray(nnfun.per_class_accuracy(matrix))
    overall = 100 * np.trace(matrix) / max(int(matrix.sum()), 1)
    lo, _ = zoom(np.append(accuracy[totals > 0], overall))
    ax = fig.subplots()
    digits = np.arange(len(matrix))
    colours = [BLUE if a >= overall else ORANGE for a in accuracy]
    ax.barh(digits, accuracy - lo, left=lo, height=0.68, color=colours)
    ax.axvline(overall, color=INK, linestyle="--", linewidth=1.4, zorder=3)
    ax.text(
        overall,
        1.005,
        f"all digits: {overall:.2f} %",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="bottom",
        fontsize=10,
        color=INK,
    )
    ax.set_xlim(lo, 100)
    ax.set_ylim(len(matrix) - 0.5, -0.5)
    ax.set_yticks(digits, [str(d) for d in digits], fontsize=12)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    ax.set_ylabel("true digit")
    ax.set_xlabel(f"test accuracy (%); the axis starts at {lo:g} %")
    for d in range(len(matrix)):
        ax.text(
            1.01,
            d,
            f"{accuracy[d]:6.2f} %   {totals[d] - correct[d]:,} wrong of {totals[d]:,}",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=10.5,
            color=INK if totals[d] else MUTED,
            family="monospace",
        )
    ax.text(
        1.01,
        -0.75,
        "accuracy   mistakes",
        transform=ax.get_yaxis_transform(),
        va="center",
        ha="left",
        fontsize=10,
        color=MUTED,
        family="monospace",
    )
    ax.set_axisbelow(True)
    ax.legend(
        handles=[
            Patch(color=BLUE, label="at or above all digits"),
            Patch(color=ORANGE, label="below all digits"),
        ],
        loc="upper right",
        bbox_to_anchor=(1.0, -0.09),
        ncols=2,
        fontsize=10,
        handlelength=1.2,
        borderaxespad=0,
    )
    ax.set_title(title or "Accuracy per digit", loc="left", pad=22)
