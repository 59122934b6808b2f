"""Elementwise work on big arrays, split by rows over two threads.

NumPy's elementwise loops run on one core while the matrix products use all of them; the optimizer
update of a 784x1024 matrix is such a loop. Each row of the result depends only on the same rows of
the inputs, so the split changes nothing in the numbers, only the time. NumPy releases the GIL
inside its loops, so two threads really do run at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

MIN_ROWS = 256  # below this, starting the second thread costs more than it saves


@cache
def _helper() -> ThreadPoolExecutor:
    """One worker thread, started on first use (an execution resource, not state)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnfun")


def by_rows(work: Callable[[slice], None], rows: int) -> None:
    """Call `work(rows_slice)` on the first and second half of the rows concurrently."""
    if rows < MIN_ROWS or (os.cpu_count() or 1) < 2:
        work(slice(None))
        return
    middle = rows // 2
    first = _helper().submit(work, slice(0, middle))
    work(slice(middle, None))
    first.result()
