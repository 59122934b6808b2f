"""Digits drawn in the terminal: what the network saw, beside (or above) what it thinks.

In colour, two pixel rows share a line as the upper and lower halves of a `▀` cell; without
colour (a pipe, `NO_COLOR`, `TERM=dumb`) each pixel is two characters of an ASCII shade ramp,
so the drawing reads anywhere. Lines of a drawing are never wrapped or cut: the bars move
below the drawing when the two do not fit side by side.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

SHADES = " .:-=+*#%@"
BAR_WIDTH = 30
"""Cells of a 100 % probability bar when there is room."""
MIN_BAR_WIDTH = 10


def digit_image(image: np.ndarray, color: bool = True, width: int = 56) -> Text:
    """A 28x28 image in the terminal: coloured half blocks (two pixel rows per line), else ASCII.

    In ASCII a pixel is two characters wide (a character cell is about twice as tall as wide),
    or one when `width` has no room for 56.
    """
    grey = np.clip(np.asarray(image, dtype=np.float64) * 255, 0, 255).astype(int)
    if not color:
        cells = 2 if width >= 2 * grey.shape[1] else 1
        rows = ("".join(SHADES[v * len(SHADES) // 256] * cells for v in row) for row in grey)
        return Text("\n".join(rows), no_wrap=True, overflow="ignore")
    if len(grey) % 2:
        grey = np.vstack([grey, np.zeros((1, grey.shape[1]), dtype=int)])
    text = Text(no_wrap=True, overflow="ignore")
    for i, (top, bottom) in enumerate(zip(grey[::2], grey[1::2], strict=True)):
        if i:
            text.append("\n")
        for a, b in zip(top, bottom, strict=True):
            text.append("▀", style=f"rgb({a},{a},{a}) on rgb({b},{b},{b})")
    return text


def _bars(probs: np.ndarray, width: int) -> Table:
    """One row per digit: the digit, a bar as long as its probability, the probability."""
    bars = Table.grid(padding=(0, 1))
    bars.add_column(no_wrap=True)
    bars.add_column(no_wrap=True, min_width=width)
    bars.add_column(no_wrap=True)
    best = int(np.argmax(probs))
    for digit, p in enumerate(probs):
        style = "bold green" if digit == best else "cyan"
        bars.add_row(str(digit), Text("█" * round(p * width), style=style), f"{p:6.1%}")
    return bars


def headline(label: str, probs: np.ndarray | None) -> Text:
    """`seven.png: 7 (99.8%)`, or `blank.png: no digit found`; the label is taken literally."""
    if probs is None:
        return Text.assemble(label, ": ", ("no digit found", "bold"))
    best = int(np.argmax(probs))
    return Text.assemble(label, ": ", (str(best), "bold"), f" ({probs[best]:.1%})")


def prediction_panel(
    label: str, image: np.ndarray, probs: np.ndarray | None, *, color: bool, width: int
) -> RenderableType:
    """The headline, then the image the network saw beside its probabilities, within `width`.

    A blank image (`probs` None) gets the headline alone: there is nothing to draw.
    """
    if probs is None:
        return Group(headline(label, None), Text())
    drawing = digit_image(image, color, width)
    drawn = max(len(line) for line in drawing.plain.split("\n"))
    beside = width - drawn - 3 - len("9  100.0%") - 2
    if beside >= MIN_BAR_WIDTH:
        grid = Table.grid(padding=(0, 3))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_row(drawing, _bars(probs, min(BAR_WIDTH, beside)))
        return Group(headline(label, probs), grid, Text())
    below = max(MIN_BAR_WIDTH, min(BAR_WIDTH, width - len("9  100.0%") - 2))
    return Group(headline(label, probs), drawing, _bars(probs, below), Text())
