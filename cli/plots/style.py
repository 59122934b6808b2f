"""The shared look of the figures, drawn with matplotlib (the optional extra `nnfun[plots]`).

matplotlib is imported only when a figure is drawn, and never through pyplot: each figure is a
plain `Figure` on an Agg canvas, so nothing needs a display and no global backend is changed.
Without matplotlib every drawing function raises `PlotsUnavailable`, whose message is the one
line the CLI prints before carrying on. Each PNG is rendered in memory, then written atomically.

Colours are the Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies; meaning is never carried by colour alone (line styles, frames, labels).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import nnfun
from nnfun.errors import NnfunError
from nnfun.io.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.text import Text

HINT = "figures skipped: pip install 'nnfun[plots]' to get them"


DPI = 110

# Okabe-Ito: safe for deuteranopia, protanopia and tritanopia.
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, YELLOW, BLACK = "#CC79A7", "#56B4E9", "#F0E442", "#000000"
RUN_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, YELLOW)
INK, MUTED, FAINT = "#222222", "#666666", "#E8E8E8"

STYLE: dict[str, Any] = {
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#999999",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": FAINT,
    "grid.linewidth": 0.8,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
}


class PlotsUnavailable(NnfunError):
    """matplotlib is not installed; the message is the one-line hint to print."""

    def __init__(self, message: str = HINT) -> None:
        super().__init__(message)


def matplotlib_parts() -> tuple[Any, Any, Any]:
    """`(matplotlib, Figure, FigureCanvasAgg)`, or PlotsUnavailable."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailable from None
    return matplotlib, Figure, FigureCanvasAgg


def check_available() -> None:
    """Raise PlotsUnavailable now, before any slow work, if figures cannot be drawn."""
    matplotlib_parts()


# --------------------------------------------------------------------------- drawing helpers


def render(path: Path, size: tuple[float, float], draw: Callable[[Figure], None]) -> Path:
    """Draw on a new Agg figure of `size` inches, render it to PNG bytes and write them atomically."""
    matplotlib, figure_class, canvas_class = matplotlib_parts()
    with matplotlib.rc_context(STYLE):
        fig = figure_class(figsize=size, dpi=DPI, layout="constrained")
        canvas_class(fig)
        draw(fig)
        buffer = BytesIO()
        fig.savefig(
            buffer, format="png", dpi=DPI, metadata={"Software": f"nnfun {nnfun.__version__}"}
        )
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def epoch_axis(ax: Axes, last_epoch: int) -> None:
    """Whole epochs on the x axis: integer ticks only (even for one epoch), 0.5 to last + 0.5."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(0.5, max(1, last_epoch) + 0.5)


_HUES: tuple[tuple[int, str], ...] = (
    *((15, "red"), (45, "orange"), (70, "yellow"), (170, "green"), (200, "sky blue")),
    *((260, "blue"), (315, "purple"), (345, "pink"), (360, "red")),
)
"""Upper bounds of hue (degrees) and the word for the hues below them."""


def colour_word(colour: str) -> str:
    """The everyday name of a `#RRGGBB` colour, from its hue (grey when it has little colour).

    Captions name colours through this, so a caption can never say "red" of an orange line.
    """
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    high, low = max(r, g, b), min(r, g, b)
    if high - low < 0.15:
        return "black" if high < 0.2 else "grey"
    if high == r:
        hue = 60 * (((g - b) / (high - low)) % 6)
    elif high == g:
        hue = 60 * ((b - r) / (high - low) + 2)
    else:
        hue = 60 * ((r - g) / (high - low) + 4)
    return next(name for top, name in _HUES if hue < top)


def pct(fraction: float, digits: int = 2) -> str:
    return f"{100 * fraction:.{digits}f} %"


def zoom(values: np.ndarray, *, floor: float = 0.0, ceiling: float = 100.0) -> tuple[float, float]:
    """An axis range in % that shows the spread of `values` with a margin, snapped to round numbers."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return floor, ceiling
    low, high = float(finite.min()), float(finite.max())
    spread = max(high - low, 0.5)
    step = 0.5 if spread < 2 else 1.0 if spread < 6 else 5.0 if spread < 25 else 10.0
    lo = max(floor, math.floor((low - 0.25 * spread) / step) * step)
    hi = min(ceiling, math.ceil((high + 0.15 * spread) / step) * step)
    return lo, max(hi, lo + step)


def ink_on(rgba: Sequence[float]) -> str:
    """Black or white text, whichever reads better on a cell of colour `rgba`."""
    r, g, b = rgba[:3]
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else INK


def with_header(fig: Figure, title: str, subtitle: str, inches: float = 0.64) -> SubFigure:
    """A bold title and a grey line under it across the top; returns the sub-figure below them."""
    height = float(fig.get_size_inches()[1])
    header, body = np.asarray(fig.subfigures(2, 1, height_ratios=[inches, height - inches])).ravel()
    for text in (
        header.text(
            0.008, 0.9, title, va="top", ha="left", fontsize=14, fontweight="bold", color=INK
        ),
        header.text(0.008, 0.1, subtitle, va="bottom", ha="left", fontsize=10.5, color=MUTED),
    ):
        _fit_width(text, 0.984 * fig.bbox.width)
    return body


def _fit_width(text: Text, width: float) -> None:
    """Shrink the font of a one-line `text` until it spans at most `width` pixels.

    Rendered widths do not scale exactly with the font size (glyphs snap to pixels): measure again.
    """
    renderer = text.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for _ in range(5):
        span = text.get_window_extent(renderer).width
        if span <= width:
            return
        text.set_fontsize(float(text.get_fontsize()) * 0.98 * width / span)


def plain_log_axis(ax: Axes) -> None:
    """Label a log-scaled y axis with plain numbers (0.05, 0.1, 0.2) instead of 5 x 10^-2."""
    from matplotlib.ticker import FuncFormatter

    low, high = ax.get_ylim()
    decades = math.log10(high / low) if low > 0 else 3.0
    keep = (1, 2, 3, 5) if decades <= 1.5 else (1, 3) if decades <= 3 else (1,)

    def label(value: float, _: Any) -> str:
        if value <= 0:
            return ""
        mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
        return f"{value:g}" if mantissa in keep else ""

    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_formatter(FuncFormatter(label))


def rgba(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour)
