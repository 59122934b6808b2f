"""`nnfun train`'s terminal side: Rich progress bars and a Ctrl-C that stops at a safe point.

The run itself is `nnfun.io.fitting.fit_in_folder`; this module only watches it through callbacks.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import nnfun
from nnfun import Config, TrainState
from nnfun.io.datasets import Dataset
from nnfun.io.fitting import fit_in_folder
from nnfun_cli.tables import epoch_line


class Interrupted(Exception):
    """Ctrl-C was pressed; raised at the next batch boundary, a safe point."""


@dataclass
class StopFlag:
    """Set by the SIGINT handler; checked by the loop at every batch boundary."""

    requested: bool = False

    def check(self, *_: Any) -> None:
        if self.requested:
            raise Interrupted


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C, and what `kill`, systemd and batch schedulers send: both stop at a safe point."""


@contextmanager
def ctrl_c_stops_at_next_batch(flag: StopFlag) -> Iterator[None]:
    """The first Ctrl-C (or SIGTERM) asks the loop to stop at the next batch; a second one stops at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:  # once stopping, more Ctrl-Cs must not cut the closing message short
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_IGN if flag.requested else old)


def fit_with_progress(
    config: Config, run_dir: Path, data: Dataset, done: int, console: Console
) -> tuple[dict[str, Any], nnfun.Params]:
    """`fit_in_folder` under a Rich epoch bar and batch bar; returns its metrics and weights."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    flag = StopFlag()
    train_size = len(data.train_x) - config.val_size
    with (
        Progress(
            *columns, console=console, transient=True, disable=not console.is_interactive
        ) as progress,
        ctrl_c_stops_at_next_batch(flag),
    ):
        epochs = progress.add_task("epochs", total=config.epochs, completed=done)
        batches = progress.add_task(
            "batches", total=nnfun.num_batches(train_size, config.batch_size)
        )

        def on_batch(i: int, total: int, loss: float) -> None:
            flag.check()
            if i % 8 == 0 or i == total:
                progress.update(batches, completed=i, description=f"loss {loss:.4f}")

        def on_epoch(state: TrainState) -> None:
            progress.console.print(epoch_line(state.history[-1], config.epochs))
            progress.update(epochs, completed=state.epoch)
            progress.reset(batches)
            flag.check()

        return fit_in_folder(config, run_dir, data, on_epoch=on_epoch, on_batch=on_batch)
