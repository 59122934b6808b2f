"""Where the values of one setting sit on a panel's x axis, with tick labels that never overlap.

Numbers sit in proportion to their value (on a log axis when all are positive and span 8x or
more), which shows how far apart the tried values are. Whether their labels fit is measured on the
laid-out figure: each label's rendered width against the pixels between neighbouring ticks. When
two labels would collide (0.999 next to 0.9995 on an axis from 0), the values are redrawn evenly
spaced as ordered categories, each labelled with its value. When even equal slots are too narrow
(a dozen values sampled from a range), the numbers keep their places and only the labels that fit
are shown, the others' ticks stay. Names and layer lists are categories from the start; crowded,
their labels turn upright, and only if that is not enough are some left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.transforms import Bbox

PAD = 6.0
"""Pixels kept free between two neighbouring tick labels."""


def number(value: Any) -> float | None:
    """A setting value as a number on an axis: itself, or the width of a single hidden layer."""
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def order(value: Any) -> tuple[Any, ...]:
    """Sort key for setting values: by number, then layer lists by depth, then by name."""
    n = number(value)
    if n is not None:
        return (0, n)
    if isinstance(value, tuple | list):
        return (1, len(value), *value)
    return (2, str(value))


@dataclass(frozen=True)
class Placement:
    """The x of each value (in sorted order) and how the axis shows them."""

    xs: tuple[float, ...]
    log: bool = False
    categories: bool = False

    def apply(self, ax: Axes, labels: Sequence[str]) -> None:
        """Scale, ticks and limits of `ax` for these positions, one tick labelled per value."""
        if self.log:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(self.xs, labels)
        if self.categories:  # equal slots, each value in the middle of its own
            ax.set_xlim(-0.5, len(self.xs) - 0.5)


def placement(values: Sequence[Any], categories: bool = False) -> Placement:
    """Numbers in proportion (log when positive and spread >= 8x); otherwise 0, 1, 2... in order."""
    numbers = [number(v) for v in values]
    if categories or any(n is None for n in numbers):
        return Placement(tuple(float(i) for i in range(len(values))), categories=True)
    xs = tuple(n for n in numbers if n is not None)
    return Placement(xs, log=min(xs) > 0 and max(xs) / min(xs) >= 8)


def _labels(ax: Axes, renderer: RendererBase) -> list[tuple[float, str, Bbox]]:
    """Tick, text and rendered box of each labelled x tick in view, left to right."""
    low, high = sorted(ax.get_xlim())
    found = [
        (float(tick), label.get_text(), label.get_window_extent(renderer))
        for tick, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
        if label.get_visible() and label.get_text() and low <= tick <= high
    ]
    return sorted(found, key=lambda t: t[2].x0)


def _fit(centres: Sequence[float], widths: Sequence[float]) -> bool:
    """Whether labels of `widths` centred at `centres` (pixels, ascending) keep PAD apart."""
    return all(
        c1 - c0 >= (w0 + w1) / 2 + PAD
        for (c0, w0), (c1, w1) in pairwise(zip(centres, widths, strict=True))
    )


def _kept(centres: Sequence[float], widths: Sequence[float]) -> list[bool]:
    """The last label, and left to right each label that clears the one kept before it and the last."""
    kept: list[bool] = []
    edge, last = -float("inf"), centres[-1] - widths[-1] / 2
    for centre, width in zip(centres[:-1], widths[:-1], strict=True):
        keep = centre - width / 2 >= edge + PAD and centre + width / 2 + PAD <= last
        kept.append(keep)
        edge = centre + width / 2 if keep else edge
    return [*kept, True]


def settle_labels(ax: Axes, renderer: RendererBase, used: Placement) -> bool:
    """Keep the x tick labels of a laid-out panel apart; True if it must be redrawn as categories.

    Upright labels and left-out labels are set here; redrawing the points is the caller's.
    """
    found = _labels(ax, renderer)
    centres = [box.x0 + box.width / 2 for _, _, box in found]
    widths = [box.width for _, _, box in found]
    if _fit(centres, widths):
        return False
    slot = ax.get_window_extent(renderer).width / max(1, len(found))
    if not used.categories and _fit([slot * i for i in range(len(found))], widths):
        return True
    if used.categories:  # upright: a label is then as wide as its text is tall
        ax.tick_params(axis="x", labelrotation=90)
        widths = [box.height for _, _, box in found]
    kept = _kept(centres, widths)
    ax.set_xticks(
        [t for t, _, _ in found], [s if k else "" for (_, s, _), k in zip(found, kept, strict=True)]
    )
    return False
