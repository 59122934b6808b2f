"""Training curves: loss, accuracy and learning rate of a run over its epochs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnfun.io.runs import Run
from nnfun_cli.plots.style import (
    BLUE,
    MUTED,
    ORANGE,
    VERMILLION,
    describe,
    pct,
    plain_log_axis,
    render,
    with_header,
    zoom,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- training curves


def training_curves(run: Run, path: Path, sizes: Sequence[int] | None = None) -> Path:
    """`training_curves.png`: loss and accuracy per epoch, learning-rate drops marked."""
    return render(path, (13.5, 5.4), partial(_draw_curves, run=run, sizes=sizes))


def _lr_drops(run: Run) -> list[tuple[float, float]]:
    """`(x, new lr)` for each epoch that starts with a lower rate; x is the epochs done by then."""
    lr, epochs = run.column("lr"), run.column("epoch")
    drops = [(epochs[i] - 1, lr[i]) for i in range(1, len(lr)) if lr[i] < lr[i - 1] * (1 - 1e-9)]
    return drops if len(drops) <= 6 else []  # a smooth schedule (cosine...) would draw a fence


def _mark_lr_drops(ax: Axes, drops: Sequence[tuple[float, float]]) -> int:
    """A dotted line at each drop, labelled just above the plot; returns the rows of labels."""
    left, right = ax.get_xlim()
    last = -1.0
    raised_rows = []
    for x, lr in drops:
        ax.axvline(x, color=MUTED, linestyle=":", linewidth=1.4, zorder=1)
        where = (x - left) / (right - left)
        raised = where - last < 0.15  # two drops close together: stagger their labels
        last = -1.0 if raised else where
        raised_rows.append(raised)
        ax.text(
            x,
            1.075 if raised else 1.01,
            f"lr {lr:g}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color=MUTED,
        )
    return 0 if not drops else 2 if any(raised_rows) else 1


def _draw_curves(figure: Figure, *, run: Run, sizes: Sequence[int] | None) -> None:
    from matplotlib.ticker import MaxNLocator

    dataset = run.config.get("dataset", "mnist")
    fig = with_header(
        figure,
        f"{run.network(sizes)} on {dataset}: test accuracy {pct(run.test_accuracy)}",
        describe(run),
    )

    epochs = run.column("epoch")
    n = len(epochs)
    style: dict[str, Any] = {"linewidth": 2, "marker": "o" if n <= 40 else None, "markersize": 4}
    train_style = {**style, "color": BLUE, "linestyle": "--"}
    val_style = {**style, "color": ORANGE}
    has_val = bool(np.isfinite(run.column("val_accuracy")).any())
    ax_loss, ax_acc = fig.subplots(1, 2)

    ax_loss.plot(epochs, run.column("train_loss"), label="train", **train_style)
    if has_val:
        ax_loss.plot(epochs, run.column("val_loss"), label="validation", **val_style)
    losses = np.concatenate([run.column("train_loss"), run.column("val_loss")])
    losses = losses[np.isfinite(losses) & (losses > 0)]
    if losses.size and losses.max() / losses.min() > 8:
        ax_loss.set_yscale("log")
        plain_log_axis(ax_loss)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy")
    ax_loss.legend(loc="upper right")

    train_acc, val_acc = 100 * run.column("train_accuracy"), 100 * run.column("val_accuracy")
    ax_acc.plot(epochs, train_acc, label="train", **train_style)
    if has_val:
        best, best_epoch = run.best_val()
        ax_acc.plot(
            epochs,
            val_acc,
            label=f"validation (best {pct(best)}, epoch {best_epoch})",
            **val_style,
        )
    test = 100 * run.test_accuracy
    ax_acc.plot(
        [run.model_epoch()],
        [test],
        linestyle="none",
        marker="*",
        markersize=15,
        color=VERMILLION,
        markeredgecolor="white",
        zorder=5,
        label=f"test, final model ({pct(run.test_accuracy)})",
    )
    # Zoom in on the interesting part: leave out the first epoch (often far below) when there are many.
    later = slice(1, None) if n >= 4 else slice(None)
    lo, hi = zoom(np.concatenate([train_acc[later], val_acc[later], [test]]))
    ax_acc.set_ylim(lo, hi)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.legend(loc="lower right")

    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5 if n > 1 else 0, epochs[-1] + 0.5 if n > 1 else epochs[-1] + 1)
        rows = _mark_lr_drops(ax, _lr_drops(run))
    pad = 6 + 15 * rows
    ax_loss.set_title("Loss (log scale)" if ax_loss.get_yscale() == "log" else "Loss", pad=pad)
    ax_acc.set_title(f"Accuracy (zoomed in: {lo:g} to {hi:g} %)", pad=pad)
