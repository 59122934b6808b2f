"""Run an iterator one item ahead in a background thread, so producing overlaps with consuming.

The training loop uses it for augmented batches: warping the next batch's images depends only on
the data and the random generator, never on the weights, so it can run while the current batch's
gradients are computed (NumPy, BLAS and the compiled kernels release the GIL). The items and the
order in which they draw random numbers are exactly those of the plain iterator, so the results
are bit for bit the same; only the waiting is shorter.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield what `items` yields, with up to `depth` items made in advance by another thread.

    An exception raised by `items` is raised here, in the consumer, at the item where it
    happened. When the consumer stops early (an exception, or it simply closes the generator),
    the producer stops at its next item.
    """
    made: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                made.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item,)):
                    return
        except BaseException as exc:  # handed to the consumer, who raises it
            put(exc)
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="nnfun-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            got = made.get()
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            yield got[0]  # type: ignore[index]
    finally:
        stop.set()
        worker.join()
