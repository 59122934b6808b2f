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
    epoch_axis,
    pct,
    plain_log_axis,
    render,
    with_header,
    zoom,
)
from nnfun_cli.run_display import describe_run

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- training curves


def training_curves(run: Run, path: Path, sizes: Sequence[int] | None = None) -> Path:
    """`training_curves.png`: loss and accuracy per epoch, with the learning rate beside them."""
    return render(path, (13.5, 5.4), partial(_draw_curves, run=run, sizes=sizes))


def lr_marks(run: Run) -> list[tuple[float, float]]:
    """`(x, lr)` where the learning rate changes notably; x counts the epochs done by then.

    A step schedule gets a mark at each drop. A smooth one (cosine, one-cycle) changes every
    epoch, so it gets marks where the rate first falls to 1/2, 1/10 and 1/100 of its peak.
    """
    lr, epochs = run.column("lr"), run.column("epoch")
    drops = [(epochs[i] - 1, lr[i]) for i in range(1, len(lr)) if lr[i] < lr[i - 1] * (1 - 1e-9)]
    if _stepped(run):
        return drops
    peak = int(np.nanargmax(lr))
    marks = []
    for fraction in (0.5, 0.1, 0.01):
        below = np.flatnonzero(lr[peak:] <= fraction * lr[peak])
        if below.size:
            i = peak + int(below[0])
            marks.append((epochs[i] - 1, lr[i]))
    return marks


def _stepped(run: Run) -> bool:
    """Whether the rate changes in a few steps (a step schedule) rather than every epoch."""
    schedule = run.config.get("schedule")
    if schedule in ("cosine", "onecycle"):
        return False
    lr = run.column("lr")
    return schedule in ("step", "constant") or len(np.unique(lr)) <= 7


def smoothing_floor(smoothing: float, classes: int = 10) -> float:
    """The lowest loss against smoothed targets `q = (1 - s) onehot + s / K`: their entropy H(q)."""
    top, rest = 1 - smoothing + smoothing / classes, smoothing / classes
    return float(-top * np.log(top) - (classes - 1) * rest * np.log(rest))


def _mark_lr(ax: Axes, marks: Sequence[tuple[float, float]]) -> int:
    """A dotted line at each mark, labelled just above the plot; returns the rows of labels."""
    left, right = ax.get_xlim()
    last = -1.0
    raised_rows = []
    for x, lr in marks:
        ax.axvline(x, color=MUTED, linestyle=":", linewidth=1.4, zorder=1)
        where = (x - left) / (right - left)
        raised = where - last < 0.15  # two marks close together: stagger their labels
        last = -1.0 if raised else where
        raised_rows.append(raised)
        ax.text(
            x,
            1.075 if raised else 1.01,
            f"lr {lr:.2g}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color=MUTED,
        )
    return 0 if not marks else 2 if any(raised_rows) else 1


def _lr_axis(ax: Axes, run: Run) -> Any:
    """The learning rate of each epoch as a grey step line on a right-hand axis of `ax`."""
    lr, epochs = run.column("lr"), run.column("epoch")
    twin = ax.twinx()
    xs = np.append(epochs - 1, epochs[-1])
    (line,) = twin.plot(
        xs, np.append(lr, lr[-1]), drawstyle="steps-post", color=MUTED, linewidth=1.2, alpha=0.6
    )
    ax.set_zorder(twin.get_zorder() + 1)  # the loss curves and legend in front of the rate
    ax.patch.set_visible(False)
    if _stepped(run) and lr.min() > 0 and lr.max() / lr.min() > 20:  # decades apart: log
        twin.set_yscale("log")
    else:  # a smooth one: its shape (cosine, one-cycle) reads best on a linear axis
        twin.set_ylim(0, float(np.nanmax(lr)) * 1.1)
    twin.set_ylabel("learning rate", color=MUTED)
    twin.tick_params(axis="y", colors=MUTED, labelsize=9)
    twin.grid(False)
    twin.spines["right"].set_visible(True)
    twin.spines["right"].set_color("#BBBBBB")
    return line


def _draw_curves(figure: Figure, *, run: Run, sizes: Sequence[int] | None) -> None:
    dataset = run.config.get("dataset", "mnist")
    fig = with_header(
        figure,
        f"{run.network(sizes)} on {dataset}: test accuracy {pct(run.test_accuracy)}",
        describe_run(run),
    )

    epochs = run.column("epoch")
    n = len(epochs)
    style: dict[str, Any] = {"linewidth": 2, "marker": "o" if n <= 40 else None, "markersize": 4}
    train_style = {**style, "color": BLUE, "linestyle": "--"}
    val_style = {**style, "color": ORANGE}
    has_val = bool(np.isfinite(run.column("val_accuracy")).any())
    ax_loss, ax_acc = fig.subplots(1, 2)

    smoothing = float(run.config.get("label_smoothing") or 0.0)
    if smoothing:  # the two curves measure different things: say which is which
        train_name = f"train: cross-entropy to smoothed targets ({smoothing:g})"
        val_name = "validation: cross-entropy to the true labels"
    else:
        train_name, val_name = "train", "validation"
    ax_loss.plot(epochs, run.column("train_loss"), label=train_name, **train_style)
    if has_val:
        ax_loss.plot(epochs, run.column("val_loss"), label=val_name, **val_style)
    if smoothing:
        floor = smoothing_floor(smoothing)
        ax_loss.axhline(
            floor,
            color=BLUE,
            linestyle=":",
            linewidth=1.2,
            label=f"lowest possible train loss with smoothing ({floor:.2f})",
        )
    losses = np.concatenate([run.column("train_loss"), run.column("val_loss")])
    losses = losses[np.isfinite(losses) & (losses > 0)]
    if losses.size and losses.max() / losses.min() > 8:
        ax_loss.set_yscale("log")
        plain_log_axis(ax_loss)
    ax_loss.set(xlabel="epoch", ylabel="loss" if smoothing else "cross-entropy")
    lr_line = _lr_axis(ax_loss, run)
    handles, labels = ax_loss.get_legend_handles_labels()
    ax_loss.legend(  # below the axes: inside, it would cover the curves or the rate
        [*handles, lr_line],
        [*labels, "learning rate (right axis)"],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncols=2 if len(handles) < 3 else 1,
        fontsize=9.5,
    )

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
    kept = "kept (best-validation)" if run.config.get("keep_best") else "final"
    model = f"{kept} {'averaged weights' if run.config.get('ema_decay') else 'model'}"
    ax_acc.plot(
        [run.model_epoch()],
        [test],
        linestyle="none",
        marker="*",
        markersize=15,
        color=VERMILLION,
        markeredgecolor="white",
        zorder=5,
        clip_on=False,  # the last epoch's star sits on the axes' edge: draw all of it
        label=f"test, {model} ({pct(run.test_accuracy)})",
    )
    # Zoom in on the interesting part: leave out the first epoch (often far below) when there are many.
    later = slice(1, None) if n >= 4 else slice(None)
    lo, hi = zoom(np.concatenate([train_acc[later], val_acc[later], [test]]))
    ax_acc.set_ylim(lo, hi)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.legend(loc="lower right")

    for ax in (ax_loss, ax_acc):
        epoch_axis(ax, int(epochs[-1]))
        rows = _mark_lr(ax, lr_marks(run))
    pad = 6 + 15 * rows
    ax_loss.set_title("Loss (log scale)" if ax_loss.get_yscale() == "log" else "Loss", pad=pad)
    ax_acc.set_title(f"Accuracy (zoomed in: {lo:g} to {hi:g} %)", pad=pad)
