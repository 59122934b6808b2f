"""Data in the shape the network wants: pixels scaled to [0, 1], a validation split, shuffled batches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

SCALE = np.float32(1 / 255)


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 to float32 in [0, 1], flattened to `(n, rows * cols)`."""
    flat = images.reshape(len(images), -1)
    return np.multiply(flat, SCALE, dtype=np.float32)


def split_validation(
    x: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random `size`-image validation split held out of the training set: `(x, y, x_val, y_val)`."""
    if not 0 <= size < len(x):
        raise ValueError(f"validation size must be between 0 and {len(x) - 1}, got {size}")
    order = rng.permutation(len(x))
    val, train = np.sort(order[:size]), np.sort(order[size:])
    return x[train], y[train], x[val], y[val]


def shuffle(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One random permutation applied to both, as contiguous copies (batches are then cheap views)."""
    order = rng.permutation(len(x))
    return x[order], y[order]


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive `(x, y)` slices of `batch_size` rows; the last one may be smaller."""
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size], y[start : start + batch_size]


def num_batches(n: int, batch_size: int) -> int:
    """`ceil(n / batch_size)`."""
    return -(-n // batch_size)
