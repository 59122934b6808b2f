"""`sweep.png`: validation accuracy against each varied setting, and the curves of the top trials.

Drawn with the helpers and the colour-blind-safe palette of `figures` (matplotlib, optional).
Only validation accuracy is plotted: it is what the sweep chooses by.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnfun_cli.figures import (  # the shared drawing helpers of the run figures
    FAINT,
    MUTED,
    RUN_COLOURS,
    _pct,
    _render,
    _with_header,
    _zoom,
    format_setting,
)
from nnfun_cli.sweep_summary import Configuration, TrialResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TOP_CURVES = 5
MAX_LINES = len(RUN_COLOURS)


def sweep_figure(
    name: str, ranked: Sequence[Configuration], varied: Sequence[str], path: Path, grid: bool
) -> Path:
    """Draw `sweep.png`; `grid` joins the configurations that differ in one setting with lines."""
    panels = max(1, min(len(varied), 4))
    return _render(
        path,
        (max(11.0, 4.4 * panels), 9.4),
        partial(_draw, name=name, ranked=list(ranked), varied=list(varied)[:4], grid=grid),
    )


def _label(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k} {format_setting(v)}" for k, v in settings.items())


def _draw(
    figure: Figure, *, name: str, ranked: list[Configuration], varied: list[str], grid: bool
) -> None:
    best = ranked[0]
    runs = sum(len(c.results) for c in ranked)
    fig = _with_header(
        figure,
        f"Sweep {name}: best on validation is {_label(dict(best.varied)) or 'the base recipe'} "
        f"({best.best_val.percent()})",
        f"{len(ranked)} configurations, {runs} runs; accuracy on the validation split "
        f"(held-out training images), the best epoch of each run. The test set is not shown here.",
    )
    top, bottom = np.asarray(fig.subfigures(2, 1, height_ratios=[1, 1.05])).ravel()
    axes = np.atleast_1d(top.subplots(1, max(1, len(varied))))
    for ax, key in zip(axes, varied, strict=False):
        _against_setting(ax, key, ranked, varied, grid)
    if not varied:
        _against_seed(axes[0], ranked)
    _top_curves(bottom.subplots(1, 1), ranked)


def _positions(values: list[Any]) -> tuple[list[float], bool, list[str]]:
    """x positions for the values of a setting: the numbers themselves, or 0, 1, 2 for categories."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    labels = [format_setting(v) for v in values]
    if not numeric:
        return [float(i) for i in range(len(values))], False, labels
    numbers = [float(v) for v in values]
    log = min(numbers) > 0 and max(numbers) / min(numbers) >= 8
    return numbers, log, labels


def _against_setting(
    ax: Axes, key: str, ranked: list[Configuration], varied: list[str], grid: bool
) -> None:
    """Mean best validation accuracy per value of `key` (seeds as dots), one line per other setting."""
    values = list(dict.fromkeys(c.varied[key] for c in ranked))
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        values.sort()
    xs, log, labels = _positions(values)
    where = {format_setting(v): x for v, x in zip(values, xs, strict=True)}
    others = [k for k in varied if k != key]
    lines: dict[str, list[Configuration]] = {}
    for c in ranked:
        lines.setdefault(_label({k: c.varied[k] for k in others}), []).append(c)
    join = grid and len(lines) <= MAX_LINES
    plotted: list[float] = []
    for i, (label, members) in enumerate(sorted(lines.items()) if join else [("", ranked)]):
        colour = RUN_COLOURS[i % MAX_LINES] if join else RUN_COLOURS[0]
        members = sorted(members, key=lambda c: where[format_setting(c.varied[key])])
        done = [c for c in members if c.best_val.values]
        x = [where[format_setting(c.varied[key])] for c in done]
        means = [100 * c.best_val.mean for c in done]
        for xi, c in zip(x, done, strict=True):
            seeds = 100 * np.array(c.best_val.values)
            ax.plot([xi] * len(seeds), seeds, "o", color=colour, alpha=0.35, markersize=4)
            plotted.extend(seeds)
        ax.plot(
            x,
            means,
            "-o" if join else "o",
            color=colour,
            linewidth=2,
            markersize=7,
            label=label or None,
        )
    ax.plot(
        [where[format_setting(ranked[0].varied[key])]],
        [100 * ranked[0].best_val.mean],
        "*",
        color="white",
        markeredgecolor="black",
        markersize=17,
        zorder=6,
        label="best",
    )
    if log:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(xs, labels)
    if plotted:
        ax.set_ylim(*_zoom(np.array(plotted)))
    ax.set(xlabel=key, ylabel="best validation accuracy (%)")
    ax.set_title(f"Validation accuracy against {key}")
    ax.legend(loc="lower right", fontsize=9, title=", ".join(others) if join and others else None)


def _against_seed(ax: Axes, ranked: list[Configuration]) -> None:
    """Only seeds vary: each run's best validation accuracy, with the mean as a line."""
    results = [r for c in ranked for r in c.results if r.run]
    seeds = [r.trial.seed for r in results]
    accuracy = [100 * r.best_val for r in results]
    ax.plot(seeds, accuracy, "o", color=RUN_COLOURS[0], markersize=7)
    ax.axhline(100 * ranked[0].best_val.mean, color=MUTED, linestyle="--", label="mean")
    ax.set_xticks(seeds, [str(s) for s in seeds])
    ax.set(xlabel="seed", ylabel="best validation accuracy (%)")
    ax.set_title("Validation accuracy of each seed")
    ax.legend(loc="lower right")


def _top_curves(ax: Axes, ranked: list[Configuration]) -> None:
    """Validation accuracy by epoch of the best runs (best epoch circled), the others in grey."""
    from matplotlib.ticker import MaxNLocator

    results = [r for c in ranked for r in c.results if r.run]
    results.sort(key=lambda r: -r.best_val)
    shown: list[np.ndarray] = []
    for r in results[TOP_CURVES:]:
        assert r.run is not None
        ax.plot(r.run.column("epoch"), 100 * r.run.column("val_accuracy"), color=FAINT, lw=1.5)
    for i, r in enumerate(results[:TOP_CURVES]):
        assert r.run is not None
        epochs, val = r.run.column("epoch"), 100 * r.run.column("val_accuracy")
        colour = RUN_COLOURS[i % MAX_LINES]
        ax.plot(
            epochs,
            val,
            color=colour,
            lw=2.2,
            marker="o" if len(val) <= 30 else None,
            ms=3.5,
            label=f"{_trial_label(r)}: best {_pct(r.best_val)}",
        )
        best, epoch = r.run.best_val()
        ax.plot([epoch], [100 * best], "o", ms=10, mfc="none", mec=colour, mew=2)
        shown.append(val[1:] if len(val) >= 4 else val)
    if shown:
        ax.set_ylim(*_zoom(np.concatenate(shown)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)")
    rest = len(results) - TOP_CURVES
    ax.set_title(
        f"Validation accuracy by epoch, top {min(TOP_CURVES, len(results))} runs"
        + (f" (the other {rest} in grey)" if rest > 0 else "")
        + "; best epoch circled"
    )
    ax.legend(loc="lower right", fontsize=9.5)


def _trial_label(result: TrialResult) -> str:
    return _label({**result.trial.varied, "seed": result.trial.seed})
