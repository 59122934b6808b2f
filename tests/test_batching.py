"""`Ahead`: items made one ahead in a worker thread, in order, errors and all."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from nnfun.batching import Ahead


def draws(rng: np.random.Generator, n: int) -> Iterator[np.ndarray]:
    for _ in range(n):
        yield rng.random(3)


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nnfun-batches")]


@pytest.mark.parametrize("threaded", [True, False])
def test_items_come_in_order_with_the_same_random_draws(threaded: bool) -> None:
    expected = list(draws(np.random.default_rng(5), 6))
    got = []
    with Ahead(draws(np.random.default_rng(5), 6), threaded=threaded) as ahead:
        while (item := ahead.take()) is not None:
            ahead.ask()
            ahead.ask()  # asking twice makes one item, not two
            got.append(item)
    assert [a.tobytes() for a in got] == [a.tobytes() for a in expected]


def test_an_error_in_the_worker_reaches_the_caller_at_its_item() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad batch")

    with Ahead(failing(), threaded=True) as ahead:
        assert ahead.take() == 1
        ahead.ask()
        with pytest.raises(ValueError, match="bad batch"):
            ahead.take()


def test_leaving_early_stops_the_worker() -> None:
    before = len(workers())
    with pytest.raises(RuntimeError), Ahead(iter(range(100)), threaded=True) as ahead:
        ahead.take()
        ahead.ask()
        assert len(workers()) == before + 1
        raise RuntimeError("a diverged step")
    assert len(workers()) == before


def test_without_a_thread_no_worker_starts() -> None:
    before = len(workers())
    with Ahead(iter("ab"), threaded=False) as ahead:
        ahead.ask()
        assert ahead.take() == "a" and len(workers()) == before
