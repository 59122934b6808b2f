"""What a value read from JSON or TOML is: in Python `True` is an `int`, but never a number here."""

from __future__ import annotations

import math
from typing import Any


def is_whole(value: Any) -> bool:
    """An `int` that is not a `bool`."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An `int` or `float` that is not a `bool` (NaN and infinities included)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A number that is neither NaN nor infinite."""
    return is_number(value) and math.isfinite(value)
