"""`nnfun train` as a session: run folder, data, the loop with progress, checkpoints, final metrics.

Everything here is I/O around `nnfun.fit`. A checkpoint is written atomically after every epoch, so
a Ctrl-C, a diverging loss or a crash loses at most the epoch in progress.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import nnfun
from nnfun import Config, TrainState
from nnfun.errors import NnfunError
from nnfun.serialize import checkpoint_from_npz, checkpoint_to_npz, params_to_npz
from nnfun_cli import figures, recipes
from nnfun_cli.datasets import Dataset, load_dataset
from nnfun_cli.files import atomic_write_bytes, write_json
from nnfun_cli.views import epoch_line

CHECKPOINT = "checkpoint.npz"


class Interrupted(Exception):
    """Ctrl-C was pressed; raised at the next batch boundary, a safe point."""


@dataclass
class StopFlag:
    """Set by the SIGINT handler; checked by the loop at every batch boundary."""

    requested: bool = False

    def check(self, *_: Any) -> None:
        if self.requested:
            raise Interrupted


@contextmanager
def ctrl_c_stops_at_next_batch(flag: StopFlag) -> Iterator[None]:
    """The first Ctrl-C asks the loop to stop at the next batch; a second one stops at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def new_run_dir(out: Path | None, root: Path = Path("results")) -> Path:
    """`--out` if given (it must not hold a run yet), else a fresh `results/<date>-<time>[-n]/`."""
    if out is not None:
        if (out / CHECKPOINT).exists() or (out / "model.npz").exists():
            raise NnfunError(
                f"{out} already holds a run; pick another --out, or continue it with --resume {out}"
            )
        _make_dir(out, exist_ok=True)
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        candidate = root / (stamp if n == 1 else f"{stamp}-{n}")
        if not candidate.exists():
            _make_dir(candidate, exist_ok=False)
            return candidate
    raise NnfunError(f"could not find a free folder name under {root}")


def _make_dir(path: Path, exist_ok: bool) -> None:
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise NnfunError(f"{path} exists and is not a folder") from None
    except OSError as exc:
        raise NnfunError(
            f"cannot create the run folder {path}: {exc.strerror or exc}; choose another --out"
        ) from None


def load_checkpoint(run_dir: Path) -> tuple[TrainState, Config]:
    """The state and config saved in `run_dir/checkpoint.npz`."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise NnfunError(
            f"{run_dir} has no {CHECKPOINT} to resume from (is it a run folder made by nnfun train?)"
        )
    try:
        state, config = checkpoint_from_npz(path.read_bytes())
    except OSError as exc:
        raise NnfunError(f"cannot read {path}: {exc.strerror or exc}") from None
    return state, Config.from_dict(config)


Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def split(config: Config, data: Dataset) -> Split:
    """The seeded validation split of the training set, the same on every run with this seed."""
    return nnfun.split_validation(
        data.train_x, data.train_y, config.val_size, nnfun.rng_for(config.seed, nnfun.train.SPLIT)
    )


def write_config(run_dir: Path, config: Config) -> None:
    """`config.json` (with the nnfun version) and `config.toml`, which `nnfun train --config` repeats."""
    write_json(run_dir / "config.json", {**config.to_dict(), "nnfun_version": nnfun.__version__})
    header = f"# nnfun {nnfun.__version__}: repeat this run with  nnfun train --config {run_dir / 'config.toml'}\n"
    atomic_write_bytes(
        run_dir / "config.toml", (header + recipes.to_toml(config.to_dict())).encode()
    )


def save_epoch(run_dir: Path, state: TrainState, config: Config) -> None:
    """Checkpoint first (the source of truth for --resume), then the human-readable history."""
    atomic_write_bytes(run_dir / CHECKPOINT, checkpoint_to_npz(state, config.to_dict()))
    write_json(run_dir / "history.json", [vars(r) for r in state.history])


def train_with_progress(
    config: Config, parts: Split, run_dir: Path, state: TrainState | None, console: Console
) -> TrainState:
    """Run `fit` under a Rich epoch bar and batch bar, checkpointing after every epoch."""
    x, y, x_val, y_val = parts
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    flag = StopFlag()
    done = state.epoch if state else 0
    with (
        Progress(*columns, console=console, transient=True) as progress,
        ctrl_c_stops_at_next_batch(flag),
    ):
        epochs = progress.add_task("epochs", total=config.epochs, completed=done)
        batches = progress.add_task("batches", total=nnfun.num_batches(len(x), config.batch_size))

        def on_batch(i: int, total: int, loss: float) -> None:
            flag.check()
            if i % 8 == 0 or i == total:
                progress.update(batches, completed=i, description=f"loss {loss:.4f}")

        final = state
        for final in nnfun.fit(config, x, y, x_val, y_val, state, on_batch=on_batch):
            save_epoch(run_dir, final, config)
            progress.console.print(epoch_line(final.history[-1], config.epochs))
            progress.update(epochs, completed=final.epoch)
            progress.reset(batches)
            flag.check()
    assert final is not None
    return final


def finish(
    run_dir: Path,
    config: Config,
    state: TrainState,
    parts: Split,
    data: Dataset,
) -> tuple[dict[str, Any], nnfun.Params]:
    """Write `model.npz` and `metrics.json` for the finished run; return the metrics and weights."""
    params = nnfun.final_params(config, state)
    atomic_write_bytes(run_dir / "model.npz", params_to_npz(params))
    x, y, x_val, y_val = parts
    test_loss, test_acc, predicted = nnfun.evaluate(params, data.test_x, data.test_y)
    matrix = nnfun.confusion_matrix(data.test_y, predicted)
    metrics = {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "train_accuracy": nnfun.evaluate(params, x, y)[1],
        "val_accuracy": nnfun.evaluate(params, x_val, y_val)[1] if len(x_val) else None,
        "per_class_accuracy": nnfun.per_class_accuracy(matrix).tolist(),
        "confusion_matrix": matrix.tolist(),
        "epochs": state.epoch,
        "train_seconds": sum(r.seconds for r in state.history),
    }
    write_json(run_dir / "metrics.json", metrics)
    return metrics, params


def write_figures(
    run_dir: Path, params: nnfun.Params, data: Dataset, console: Console
) -> list[Path]:
    """The run's PNG figures, or one line saying why there are none; training results stand either way."""
    try:
        with console.status("drawing the figures"):
            written = figures.write_run_figures(run_dir, params, data.test_x, data.test_y)
    except figures.PlotsUnavailable as exc:
        console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return []
    except NnfunError as exc:
        console.print(f"figures not written: {exc}", markup=False, highlight=False, soft_wrap=True)
        return []
    console.print(f"figures: {', '.join(p.name for p in written)}", highlight=False, soft_wrap=True)
    return written


def load_data(config: Config, data_dir: Path, console: Console) -> Dataset:
    """The dataset named in the config, downloading MNIST if it is missing."""
    with console.status(f"loading {config.dataset} from {data_dir}"):
        return load_dataset(
            data_dir, config.dataset, log=lambda line: console.print(line, style="dim")
        )
