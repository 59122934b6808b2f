"""Digits drawn in the terminal: what the network saw, beside what it thinks."""

from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text

SHADES = " .:-=+*#%@"


def digit_image(image: np.ndarray, color: bool = True) -> Text:
    """A 28x28 image in the terminal: coloured half blocks (two pixel rows per line), else ASCII."""
    grey = np.clip(np.asarray(image, dtype=np.float64) * 255, 0, 255).astype(int)
    if not color:
        rows = ("".join(SHADES[v * len(SHADES) // 256] * 2 for v in row) for row in grey)
        return Text("\n".join(rows) + "\n")
    if len(grey) % 2:
        grey = np.vstack([grey, np.zeros((1, grey.shape[1]), dtype=int)])
    text = Text()
    for top, bottom in zip(grey[::2], grey[1::2], strict=True):
        for a, b in zip(top, bottom, strict=True):
            text.append("▀", style=f"rgb({a},{a},{a}) on rgb({b},{b},{b})")
        text.append("\n")
    return text


def prediction_panel(label: str, image: np.ndarray, probs: np.ndarray, color: bool = True) -> Table:
    """The image the network saw, beside a bar per digit of its probabilities."""
    bars = Table.grid(padding=(0, 1))
    best = int(np.argmax(probs))
    for digit, p in enumerate(probs):
        style = "bold green" if digit == best else "cyan"
        bars.add_row(str(digit), Text("█" * round(p * 30), style=style), f"{p:6.1%}")
    grid = Table.grid(padding=(0, 3))
    grid.title = f"{label}: [bold]{best}[/] ({probs[best]:.1%})"
    grid.title_justify = "left"
    grid.add_row(digit_image(image, color), bars)
    return grid
