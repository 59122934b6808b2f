"""Data in the shape the network wants: pixels scaled to [0, 1], a validation split, shuffled batches."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

from . import checks
from .errors import DataError

SCALE = np.float32(1 / 255)
T = TypeVar("T")


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 to float32 in [0, 1], flattened to `(n, rows * cols)`."""
    images = np.asarray(images)
    if images.dtype != np.uint8 and not _bytes_worth(images):
        raise DataError(f"images must be whole-number pixels 0..255, got {images.dtype}")
    if images.ndim < 1:
        raise DataError("images must be an array of images, not one number")
    flat = images.reshape(len(images), -1)
    return np.multiply(flat, SCALE, dtype=np.float32)


def split_validation(
    x: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random `size`-image validation split held out of the training set: `(x, y, x_val, y_val)`."""
    _same_length(x, y)
    checks.generator("rng", rng)
    if not len(x):
        raise DataError("x holds no images to split")
    checks.whole("size", size, 0, len(x) - 1)
    order = rng.permutation(len(x))
    val, train = np.sort(order[:size]), np.sort(order[size:])
    return x[train], y[train], x[val], y[val]


def shuffle(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One random permutation applied to both, as contiguous copies (batches are then cheap views)."""
    _same_length(x, y)
    checks.generator("rng", rng)
    order = rng.permutation(len(x))
    return x[order], y[order]


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive `(x, y)` slices of `batch_size` rows; the last one may be smaller."""
    _same_length(x, y)
    checks.whole("batch_size", batch_size)
    return _slices(x, y, batch_size)


def _slices(x: np.ndarray, y: np.ndarray, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, len(x), size):
        yield x[start : start + size], y[start : start + size]


class Ahead(Generic[T]):
    """The items of an iterator, the next one made in a worker thread while the caller works.

    `ask()` starts making the next item, `take()` returns it (None after the last). The caller
    asks when it begins work that leaves a core idle: a training step asks for the next
    augmented batch after backprop, so that it is made during the weights' update, which runs
    on one core, rather than during the matrix products, which take both. Only the worker
    advances `items`, one item at a time, so a generator drawing random numbers draws the same
    ones in the same order as without a thread. An error in `items` is raised by `take()`;
    `close()` (the end of a `with`) waits for the item being made and stops the worker.
    With `threaded=False` there is no worker: `take()` makes the item itself.
    """

    def __init__(self, items: Iterator[T], *, threaded: bool) -> None:
        self._items = items
        self._worker = ThreadPoolExecutor(1, "nnfun-batches") if threaded else None
        self._next: Future[T | None] | None = None

    def ask(self) -> None:
        if self._worker is not None and self._next is None:
            self._next = self._worker.submit(next, self._items, None)

    def take(self) -> T | None:
        if self._next is None:
            return next(self._items, None)
        made, self._next = self._next, None
        return made.result()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True)

    def __enter__(self) -> Ahead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def num_batches(n: int, batch_size: int) -> int:
    """`ceil(n / batch_size)`."""
    checks.whole("n", n, 0)
    checks.whole("batch_size", batch_size)
    return -(-n // batch_size)


def _same_length(x: np.ndarray, y: np.ndarray) -> None:
    """Images and labels come in pairs: as many of one as of the other."""
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or not x.ndim or not y.ndim:
        raise DataError("x and y must be NumPy arrays of images and labels")
    if len(x) != len(y):
        raise DataError(f"x has {len(x):,} images but y has {len(y):,} labels")


def _bytes_worth(images: np.ndarray) -> bool:
    """Whole numbers that fit in 0..255, as uint8 pixels do."""
    return images.dtype.kind in "iu" and bool(
        not images.size or 0 <= images.min() <= images.max() <= 255
    )
