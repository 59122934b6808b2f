"""Loading a dataset, seen from the terminal: which file comes from which mirror, how fast.

`nnfun.io.datasets` reports through two callbacks: `log` (a line per attempt or failure) and
`progress` (bytes received so far). On an interactive terminal they drive one live line per
download (file, mirror, bar, bytes, rate) under a spinner; in a log or a pipe they become
plain lines, a progress line every few seconds, so a slow download never looks frozen. Either
way each finished download ends with one line: its size, time and mean rate. Everything goes
to stderr: stdout stays clean for results and JSON.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from nnfun.io.datasets import load_test_set
from nnfun_cli.shell import err

LOG_EVERY = 5.0
"""Seconds between two progress lines when stderr is not a terminal."""


def size(n: float) -> str:
    """`512 B`, `48.3 kB`, `9.9 MB` (decimal units, as browsers and pip show them)."""
    if n < 1e3:
        return f"{n:.0f} B"
    return f"{n / 1e3:.1f} kB" if n < 1e6 else f"{n / 1e6:.1f} MB"


@dataclass
class _Download:
    url: str
    started: float
    task: TaskID | None
    last_line: float
    done: int = 0
    total: int | None = None

    def summary(self) -> str:
        """`4.2 of 9.9 MB, 1.3 MB/s`."""
        seconds = max(time.monotonic() - self.started, 1e-6)
        of = f" of {size(self.total)}" if self.total else ""
        return f"{size(self.done)}{of}, {size(self.done / seconds)}/s"


class LoadingDisplay:
    """The `log` and `progress` callbacks of `load_dataset`, drawn on one console."""

    def __init__(self, console: Console, live: Progress | None) -> None:
        self._console = console
        self._live = live
        self._current: _Download | None = None

    def log(self, line: str) -> None:
        """A line from the loader ("downloading URL", "  failed: ..."), as it is."""
        self._drop_bar()
        self._console.print(line, style="dim")

    def progress(self, url: str, done: int, total: int | None) -> None:
        """Bytes of `url` received so far; `total` from the server's Content-Length, if any."""
        now = time.monotonic()
        if self._current is None or self._current.url != url:
            self._drop_bar()
            self._current = _Download(url, now, self._add_task(url), last_line=now)
        current = self._current
        current.done, current.total = done, total
        if current.task is not None and self._live is not None:
            self._live.update(current.task, completed=done, total=total, detail=current.summary())
        elif now - current.last_line >= LOG_EVERY:
            current.last_line = now
            self._console.print(f"  {current.summary()}", style="dim")
        if total is not None and done >= total:
            self.finish()

    def finish(self) -> None:
        """Close the current download with its one-line summary."""
        current = self._current
        if current is None:
            return
        self._drop_bar()
        seconds = max(time.monotonic() - current.started, 1e-6)
        name = urlsplit(current.url).path.rsplit("/", 1)[-1]
        self._console.print(
            f"  {name}: {size(current.done)} in {seconds:.1f} s "
            f"({size(current.done / seconds)}/s) from {urlsplit(current.url).netloc}",
            style="dim",
        )

    def _add_task(self, url: str) -> TaskID | None:
        if self._live is None:
            return None
        parts = urlsplit(url)
        name = parts.path.rsplit("/", 1)[-1]
        return self._live.add_task(f"{name} from {parts.netloc}", total=None, detail="")

    def _drop_bar(self) -> None:
        """Forget the current download (its live line goes away)."""
        current, live = self._current, self._live
        if current is not None and current.task is not None and live is not None:
            live.remove_task(current.task)
        self._current = None


@contextmanager
def loading(console: Console, message: str) -> Iterator[LoadingDisplay]:
    """A spinner saying `message` while the body runs, with download lines below it."""
    if not console.is_interactive:
        display = LoadingDisplay(console, None)
        yield display
        display.finish()
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[detail]}", markup=False),
    )
    with Progress(*columns, console=console, transient=True) as live:
        live.add_task(message, total=None, detail="")
        display = LoadingDisplay(console, live)
        yield display
        display.finish()


def load_test_images(dataset: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The test images and labels, with download progress on stderr if MNIST's are missing."""
    with loading(err, f"loading the {dataset} test set") as shown:
        return load_test_set(dataset, data_dir, log=shown.log, progress=shown.progress)
