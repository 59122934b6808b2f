"""Sample predictions: test digits with what the network read, and its worst mistakes."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnfun.errors import NnfunError
from nnfun_cli.plots.style import INK, VERMILLION, colour_word, render

MISTAKE = VERMILLION
"""The frame and label colour of a wrong answer (the caption names it with `colour_word`)."""

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure


# --------------------------------------------------------------------------- sample predictions


def sample_predictions(
    images: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    path: Path,
    *,
    grid: tuple[int, int] = (4, 12),
    mistakes: tuple[int, int] = (2, 8),
    seed: int = 0,
) -> Path:
    """`sample_predictions.png`: random test digits with their predictions, then the most confident mistakes."""
    images = np.asarray(images)
    side = math.isqrt(images.shape[1])
    if side * side != images.shape[1]:
        raise NnfunError(f"cannot draw images of {images.shape[1]} pixels: they are not square")
    draw = partial(
        _draw_samples,
        images=images.reshape(-1, side, side),
        labels=np.asarray(labels),
        proba=np.asarray(proba),
        grid=grid,
        mistakes=mistakes,
        seed=seed,
    )
    return render(path, (13.2, 9.6), draw)


def _digit(ax: Axes, image: np.ndarray, frame: str, width: float) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(frame)
        spine.set_linewidth(width)


def _draw_samples(
    fig: Figure,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    grid: tuple[int, int],
    mistakes: tuple[int, int],
    seed: int,
) -> None:
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    rows, cols = grid
    count = min(rows * cols, len(labels))
    chosen = np.sort(np.random.default_rng(seed).choice(len(labels), size=count, replace=False))
    wrong = np.flatnonzero(predicted != labels)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][: mistakes[0] * mistakes[1]]
    mistake_rows = max(1, math.ceil(len(worst) / mistakes[1]))

    panels = fig.subfigures(
        2, 1, height_ratios=[rows * 1.0 + 0.5, mistake_rows * 1.45 + 0.5], hspace=0.02
    )
    top, bottom = np.asarray(panels).ravel()
    shown_wrong = int(np.count_nonzero(predicted[chosen] != labels[chosen]))
    _samples_panel(top, images, labels, predicted, chosen, rows, cols)
    top.suptitle(
        f"{count} random test digits, each under the network's answer: "
        f"{shown_wrong} wrong ({colour_word(MISTAKE)} frame, true digit in brackets)",
        x=0.01,
        ha="left",
        fontsize=13,
    )
    if not len(worst):
        bottom.text(0.5, 0.5, "No mistakes on the test set.", ha="center", va="center", fontsize=13)
        return
    _mistakes_panel(bottom, images, labels, predicted, confidence, worst, mistake_rows, mistakes[1])
    bottom.suptitle(
        f"The {len(worst)} most confident mistakes, of {len(wrong):,} on {len(labels):,} test images",
        x=0.01,
        ha="left",
        fontsize=13,
    )


def _samples_panel(
    panel: Figure | SubFigure,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    chosen: np.ndarray,
    rows: int,
    cols: int,
) -> None:
    axes = np.atleast_1d(panel.subplots(rows, cols)).ravel()
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    for ax, i in zip(axes, chosen, strict=False):
        ok = predicted[i] == labels[i]
        _digit(ax, images[i], "#CCCCCC" if ok else MISTAKE, 0.8 if ok else 3)
        if ok:
            ax.set_title(
                str(predicted[i]), fontsize=11, color=INK, pad=3, loc="center", fontweight="normal"
            )
        else:
            ax.set_title(
                f"{predicted[i]} (true {labels[i]})",
                fontsize=10.5,
                color=MISTAKE,
                pad=3,
                loc="center",
                fontweight="bold",
            )


def _sure(probability: float) -> str:
    """`97 %`, or `99.7 %` near certainty: never a rounded-up `100 %` for a mistake."""
    value = 100 * float(probability)
    return f"{math.floor(value * 10) / 10:.1f} %" if value >= 99.5 else f"{value:.0f} %"


def _mistakes_panel(
    panel: Figure | SubFigure,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    worst: np.ndarray,
    rows: int,
    cols: int,
) -> None:
    axes = np.atleast_1d(panel.subplots(rows, cols)).ravel()
    for ax in axes[len(worst) :]:
        ax.set_visible(False)
    for ax, i in zip(axes, worst, strict=False):
        _digit(ax, images[i], MISTAKE, 2)
        ax.set_title(
            f"true {labels[i]} → predicted {predicted[i]}\n({_sure(confidence[i])} sure)",
            fontsize=10,
            color=INK,
            pad=4,
            loc="center",
            fontweight="normal",
            linespacing=1.25,
        )
