"""What an engine tells the sweep about its trials, and the live view of it on the terminal.

Both engines report through `Watcher`: a trial started (after k finished epochs), reached an
epoch, or ended. `LiveView` draws that with Rich: one bar for the sweep (done / running / left)
and one per running trial (its epoch), and prints a line for every trial that ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from nnfun_cli.sweep.plan import Trial

Status = Literal["finished", "diverged", "failed", "interrupted"]


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended this time; `resumed_from` is the epoch it continued from (0: from scratch)."""

    status: Status
    message: str = ""
    resumed_from: int = 0


class Watcher(Protocol):
    def started(self, trial: Trial, resumed_from: int) -> None: ...
    def epoch(self, trial: Trial, done: int) -> None: ...
    def ended(self, trial: Trial, end: TrialEnd) -> None: ...
    def note(self, message: str) -> None: ...


class LiveView:
    """The Rich progress of a sweep on `console` (stderr), as a context manager."""

    def __init__(self, console: Console, total: int, skipped: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.total, self.done = total, skipped
        self.running: dict[str, TaskID] = {}
        self.sweep = self.progress.add_task("", total=total, completed=skipped, count="")
        self._describe()

    def __enter__(self) -> LiveView:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def _describe(self) -> None:
        left = self.total - self.done - len(self.running)
        self.progress.update(
            self.sweep,
            completed=self.done,
            description="[bold]trials[/]",
            count=f"{self.done} done, {len(self.running)} running, {left} left",
        )

    def started(self, trial: Trial, resumed_from: int) -> None:
        epochs = int(trial.settings["epochs"])
        self.running[trial.name] = self.progress.add_task(
            f"  {trial.name}", total=epochs, completed=resumed_from, count=""
        )
        self.epoch(trial, resumed_from)
        self._describe()

    def epoch(self, trial: Trial, done: int) -> None:
        task = self.running.get(trial.name)
        if task is not None:
            total = int(trial.settings["epochs"])
            self.progress.update(task, completed=done, count=f"epoch {done}/{total}")

    def ended(self, trial: Trial, end: TrialEnd) -> None:
        task = self.running.pop(trial.name, None)
        if task is not None:
            self.progress.remove_task(task)
        if end.status in ("finished", "diverged", "failed"):
            self.done += 1
            mark = {"finished": ("done", "green"), "diverged": ("diverged", "yellow")}.get(
                end.status, ("failed", "red")
            )
            resumed = f" (resumed after epoch {end.resumed_from})" if end.resumed_from else ""
            detail = f": {end.message}" if end.message else ""
            self.progress.console.print(
                Text.assemble(mark, f" {trial.name}{resumed}{detail}"),
                highlight=False,
                soft_wrap=True,
            )
        self._describe()

    def note(self, message: str) -> None:
        """A line of advice from the engine, printed above the bars."""
        self.progress.console.print(message, style="yellow", highlight=False, soft_wrap=True)
