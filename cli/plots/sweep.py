"""`sweep.png`: validation accuracy against each varied setting (rows of four), the top curves.

Drawn with the shared style and colour-blind-safe palette of `plots.style` (matplotlib, optional).
Only validation accuracy is plotted: it is what the sweep chooses by.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnfun_cli.plots.setting_axis import Placement, order, placement, settle_labels
from nnfun_cli.plots.style import (
    FAINT,
    MUTED,
    RUN_COLOURS,
    VERMILLION,
    colour_word,
    epoch_axis,
    render,
    with_header,
    zoom,
)
from nnfun_cli.run_display import format_setting
from nnfun_cli.sweep.summary import Configuration

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TOP_CURVES = 5
MAX_LINES = len(RUN_COLOURS)


PER_ROW = 4
"""Setting panels side by side; more settings start another row."""
HEADER, ROW, CURVES = 0.64, 4.27, 4.49
"""Heights in inches: the title lines, one row of setting panels, the curves panel."""


def sweep_figure(
    name: str, ranked: Sequence[Configuration], varied: Sequence[str], path: Path, grid: bool
) -> Path:
    """Draw `sweep.png`; `grid` joins the configurations that differ in one setting with lines."""
    columns, rows = _shape(len(varied))
    return render(
        path,
        (max(11.0, 4.4 * columns), HEADER + ROW * rows + CURVES),
        partial(_draw, name=name, ranked=list(ranked), varied=list(varied), grid=grid),
    )


def _shape(panels: int) -> tuple[int, int]:
    """Columns and rows of the setting panels: at most PER_ROW to a row (one panel at least)."""
    columns = max(1, min(panels, PER_ROW))
    return columns, -(-max(1, panels) // columns)


def _label(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k} {format_setting(v)}" for k, v in settings.items())


def _draw(
    figure: Figure, *, name: str, ranked: list[Configuration], varied: list[str], grid: bool
) -> None:
    best = ranked[0]
    runs = sum(len(c.results) for c in ranked)
    fig = with_header(
        figure,
        f"Sweep {name}: best on validation is {_label(dict(best.varied)) or 'the base recipe'} "
        f"({best.best_val.percent()})",
        f"{len(ranked)} configurations, {runs} runs; accuracy on the validation split "
        f"(held-out training images), the best epoch of each run. The test set is not shown here.",
    )
    columns, rows = _shape(len(varied))
    top, bottom = np.asarray(fig.subfigures(2, 1, height_ratios=[ROW * rows, CURVES])).ravel()
    axes = list(np.asarray(top.subplots(rows, columns, squeeze=False)).ravel())
    for spare in axes[max(1, len(varied)) :]:
        spare.remove()
    _top_curves(bottom.subplots(1, 1), ranked)
    if not varied:
        _against_seed(axes[0], ranked)
        return
    used = [
        _against_setting(ax, key, ranked, varied, grid)
        for ax, key in zip(axes, varied, strict=False)
    ]
    figure.draw_without_rendering()  # laid out once, to measure the tick labels
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for ax, key, placed in zip(axes, varied, used, strict=False):
        if settle_labels(ax, renderer, placed):
            ax.clear()
            _against_setting(ax, key, ranked, varied, grid, categories=True)


def _against_setting(
    ax: Axes,
    key: str,
    ranked: list[Configuration],
    varied: list[str],
    grid: bool,
    categories: bool = False,
) -> Placement:
    """Mean best validation accuracy per value of `key` (seeds as dots), one line per other setting.

    The values sit in proportion, or evenly as ordered `categories`; returns where they went.
    """
    values = sorted(
        {format_setting(c.varied[key]): c.varied[key] for c in ranked}.values(), key=order
    )
    placed = placement(values, categories)
    where = {format_setting(v): x for v, x in zip(values, placed.xs, strict=True)}
    others = [k for k in varied if k != key]
    lines: dict[tuple[Any, ...], list[Configuration]] = {}
    for c in ranked:
        lines.setdefault(tuple(c.varied[k] for k in others), []).append(c)
    join = grid and len(lines) <= MAX_LINES
    groups = (
        sorted(lines.items(), key=lambda kv: [order(v) for v in kv[0]]) if join else [((), ranked)]
    )
    plotted: list[float] = []
    for i, (line, members) in enumerate(groups):
        colour = RUN_COLOURS[i % MAX_LINES]
        done = sorted(
            (c for c in members if c.best_val.values),
            key=lambda c: where[format_setting(c.varied[key])],
        )
        x = [where[format_setting(c.varied[key])] for c in done]
        for xi, c in zip(x, done, strict=True):
            seeds = [100 * v for v in c.best_val.values]
            if len(seeds) > 1:
                ax.plot([xi] * len(seeds), seeds, "o", color=colour, alpha=0.35, markersize=4)
            plotted.extend(seeds)
        label = None
        if join and others:
            label = (
                format_setting(line[0])
                if len(others) == 1
                else _label(dict(zip(others, line, strict=True)))
            )
        ax.plot(
            x,
            [100 * c.best_val.mean for c in done],
            "-o" if join else "o",
            color=colour,
            linewidth=2,
            markersize=7,
            label=label,
        )
    best = ranked[0]
    ax.plot(
        [where[format_setting(best.varied[key])]],
        [100 * best.best_val.mean],
        "*",
        color="white",
        markeredgecolor="black",
        markersize=17,
        zorder=6,
        label="best",
    )
    placed.apply(ax, [format_setting(v) for v in values])
    if plotted:
        ax.set_ylim(*zoom(np.array(plotted)))
    failed = [where[format_setting(c.varied[key])] for c in ranked if not c.best_val.values]
    if failed:  # diverged (or unfinished): marked on the floor of the plot
        floor = ax.get_ylim()[0]
        ax.plot(
            failed,
            [floor] * len(failed),
            "x",
            color=VERMILLION,
            markersize=10,
            mew=2.5,
            clip_on=False,
            zorder=6,
            label="no finished run",
        )
    ax.set(xlabel=key, ylabel="best validation accuracy (%)")
    ax.set_title(f"Accuracy against {key}")
    ax.legend(loc="best", fontsize=9, title=others[0] if join and len(others) == 1 else None)
    return placed


def _against_seed(ax: Axes, ranked: list[Configuration]) -> None:
    """Only seeds vary: each run's best validation accuracy, with the mean as a line."""
    results = [r for c in ranked for r in c.results if r.run]
    seeds = [r.trial.seed for r in results]
    accuracy = [100 * r.best_val for r in results]
    ax.plot(seeds, accuracy, "o", color=RUN_COLOURS[0], markersize=7)
    ax.axhline(100 * ranked[0].best_val.mean, color=MUTED, linestyle="--", label="mean")
    ax.set_xticks(seeds, [str(s) for s in seeds])
    ax.set_xlim(min(seeds) - 0.5, max(seeds) + 0.5)
    ax.set_ylim(*zoom(np.array(accuracy)))
    ax.set(xlabel="seed", ylabel="best validation accuracy (%)")
    ax.set_title("Validation accuracy of each seed")
    ax.legend(loc="best")


def _curves(c: Configuration) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and the validation accuracy (%) of each seed, one row per finished run."""
    runs = [r.run for r in c.results if r.run is not None]
    epochs = min(len(run.history) for run in runs)
    return runs[0].column("epoch")[:epochs], np.array(
        [100 * run.column("val_accuracy")[:epochs] for run in runs]
    )


def _top_curves(ax: Axes, ranked: list[Configuration]) -> None:
    """Validation accuracy by epoch of the best configurations (mean over seeds, band min..max)."""
    finished = [c for c in ranked if c.best_val.values]
    shown: list[np.ndarray] = []
    for c in finished[TOP_CURVES:]:
        epochs, val = _curves(c)
        ax.plot(epochs, val.mean(axis=0), color=FAINT, lw=1.5, zorder=1)
    for i, c in enumerate(finished[:TOP_CURVES]):
        epochs, val = _curves(c)
        colour, mean = RUN_COLOURS[i % MAX_LINES], val.mean(axis=0)
        if len(val) > 1:
            ax.fill_between(
                epochs, val.min(axis=0), val.max(axis=0), color=colour, alpha=0.15, lw=0
            )
        label = f"{i + 1}. {_label(dict(c.varied)) or 'base recipe'}: best {c.best_val.percent()}"
        ax.plot(
            epochs,
            mean,
            color=colour,
            lw=2.2,
            marker="o" if len(mean) <= 30 else None,
            ms=3.5,
            label=label,
            zorder=3 + 2 * (TOP_CURVES - i),  # the best on top
        )
        best = int(np.nanargmax(mean))
        ax.plot(
            [epochs[best]],
            [mean[best]],
            "o",
            ms=10,
            mfc="none",
            mec=colour,
            mew=2,
            zorder=4 + 2 * (TOP_CURVES - i),
        )
        shown.append(val[:, 1:] if val.shape[1] >= 4 else val)
    if shown:
        ax.set_ylim(*zoom(np.concatenate([s.ravel() for s in shown])))
    epoch_axis(ax, max((int(_curves(c)[0][-1]) for c in finished), default=1))
    ax.set(xlabel="epoch", ylabel="validation accuracy (%, zoomed in)")
    seeds = max(len(c.results) for c in ranked)
    what = (
        f"mean of {seeds} seeds, band from lowest to highest" if seeds > 1 else "best epoch circled"
    )
    rest = len(finished) - TOP_CURVES
    ax.set_title(
        f"Validation accuracy by epoch, top {min(TOP_CURVES, len(finished))} configurations "
        f"({what})" + (f"; the other {rest} in {colour_word(FAINT)}" if rest > 0 else "")
    )
    ax.legend(loc="lower right", fontsize=9.5)
