"""Several runs side by side: validation curves and final accuracies."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnfun.io.runs import Run
from nnfun_cli.plots.style import (
    INK,
    RUN_COLOURS,
    epoch_axis,
    ink_on,
    render,
    rgba,
    with_header,
    zoom,
)
from nnfun_cli.run_display import config_differences, format_setting, run_labels

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- comparison


LEGEND_WIDTH = 90
"""Characters of a legend line before it wraps: every differing setting is shown, on more lines."""


def comparison(runs: Sequence[Run], path: Path) -> Path:
    """`comparison.png`: test accuracy per run (bars) and their validation curves overlaid."""
    differs = _differs(runs)
    lines = sum(legend_label("x", run, differs).count("\n") + 1 for run in runs)
    height = max(5.4, 3.2 + 0.35 * len(runs)) + 0.2 * lines
    return render(path, (13.5, height), partial(_draw_comparison, runs=list(runs)))


def _differs(runs: Sequence[Run]) -> list[str]:
    return [k for k in config_differences(runs) if k != "nnfun_version"]


def legend_label(name: str, run: Run, differs: Sequence[str]) -> str:
    """`name (lr 0.05, optimizer nesterov, ...)` with every setting that differs, wrapped."""
    settings = ", ".join(f"{k} {format_setting(run.config.get(k))}" for k in differs)
    text = f"{name} ({settings})" if settings else name
    return "\n".join(textwrap.wrap(text, LEGEND_WIDTH, subsequent_indent="    "))


def _draw_comparison(figure: Figure, *, runs: list[Run]) -> None:
    differs = _differs(runs)
    what = f"they differ in {', '.join(differs)}" if differs else "same settings"
    fig = with_header(
        figure,
        f"{len(runs)} runs compared",
        f"{what}; test accuracy of each final model, validation accuracy by epoch",
    )
    names = run_labels(runs)
    legend_names = [legend_label(name, run, differs) for run, name in zip(runs, names, strict=True)]
    colours = [RUN_COLOURS[i % len(RUN_COLOURS)] for i in range(len(runs))]
    ax_bar, ax_curve = fig.subplots(1, 2, width_ratios=[1, 1.7])

    tests = np.array([100 * run.test_accuracy for run in runs])
    lo, _ = zoom(tests)
    positions = np.arange(len(runs))
    ax_bar.barh(
        positions, tests - lo, left=lo, color=colours, height=0.6 if len(runs) > 3 else 0.45
    )
    for y, value, colour in zip(positions, tests, colours, strict=True):
        inside = (value - lo) / (100 - lo) > 0.3
        ax_bar.text(
            value,
            y,
            f" {value:.2f} % " if inside else f" {value:.2f} %",
            va="center",
            ha="right" if inside else "left",
            fontsize=10.5,
            fontweight="bold",
            color=ink_on(rgba(colour)) if inside else INK,
        )
    ax_bar.set_xlim(lo, 100)
    ax_bar.set_axisbelow(True)
    ax_bar.set_yticks(positions, names)
    ax_bar.set_ylim(len(runs) - 0.5, -0.5)
    ax_bar.tick_params(axis="y", length=0)
    ax_bar.grid(axis="y", visible=False)
    ax_bar.set_xlabel(f"test accuracy (%); the axis starts at {lo:g} %")
    ax_bar.set_title("Test accuracy")

    values = []
    for run, name, colour in zip(runs, legend_names, colours, strict=True):
        val = 100 * run.column("val_accuracy")
        if not np.isfinite(val).any():
            ax_curve.plot([], [], color=colour, linewidth=2, label=f"{name}: no validation data")
            continue
        epochs = run.column("epoch")
        values.append(val[1:] if len(val) >= 4 else val)
        ax_curve.plot(
            epochs,
            val,
            color=colour,
            linewidth=2,
            label=name,
            marker="o" if len(val) <= 30 else None,
            markersize=3.5,
        )
        best, epoch = run.best_val()
        ax_curve.plot(
            [epoch],
            [100 * best],
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor=colour,
            markeredgewidth=2,
        )
    if values:
        low, high = zoom(np.concatenate(values))
        ax_curve.set_ylim(low, high)
        ax_curve.legend(loc="upper left", bbox_to_anchor=(0, -0.12), fontsize=9.5)
        ax_curve.set_title(
            f"Validation accuracy (best epoch circled; zoomed in: {low:g} to {high:g} %)"
        )
    else:
        ax_curve.text(
            0.5, 0.5, "no validation data in these runs", transform=ax_curve.transAxes, ha="center"
        )
        ax_curve.set_title("Validation accuracy")
    epoch_axis(ax_curve, max((len(run.history) for run in runs), default=1))
    ax_curve.set(xlabel="epoch", ylabel="accuracy (%)")
