"""Checkpoints: everything needed to resume a run, written atomically after every epoch."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError, NnfunError
from ..recipes import Config, check_state
from ..serialize import checkpoint_from_npz, checkpoint_to_npz
from ..train import TrainState
from .files import atomic_write_bytes, read_capped
from .models import MAX_MODEL_BYTES
from .runs import CHECKPOINT, CONFIG_TOML, MODEL

MAX_CHECKPOINT_BYTES = 4 * MAX_MODEL_BYTES + (64 << 20)
"""A checkpoint holds weights, optimizer state (Adam: two copies) and best weights, plus history."""


class NothingToResume(NnfunError):
    """A folder without a checkpoint; `settings` is its config.toml if the run had started,
    `finished` whether its model is there (a finished run whose checkpoint was deleted)."""

    def __init__(
        self, message: str, *, run_dir: Path, settings: Path | None, finished: bool = False
    ) -> None:
        super().__init__(message)
        self.run_dir, self.settings, self.finished = run_dir, settings, finished


def save_checkpoint(run_dir: Path, state: TrainState, config: Config) -> None:
    """Write `run_dir/checkpoint.npz` atomically: readers see the old one or the new one."""
    atomic_write_bytes(Path(run_dir) / CHECKPOINT, checkpoint_to_npz(state, config.to_dict()))


def load_checkpoint(run_dir: Path) -> tuple[TrainState, Config]:
    """The state and config saved in `run_dir/checkpoint.npz`."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        toml = Path(run_dir) / CONFIG_TOML
        finished = (Path(run_dir) / MODEL).is_file()
        if finished:
            hint = "its model is there: the run has finished, and cannot be continued"
        elif toml.is_file():
            hint = f"it stopped before its first epoch was saved; its settings are in {toml}"
        else:
            hint = "is it a run folder made by nnfun train?"
        raise NothingToResume(
            f"{run_dir} has no {CHECKPOINT} to resume from ({hint})",
            run_dir=Path(run_dir),
            settings=toml if toml.is_file() and not finished else None,
            finished=finished,
        )
    data = read_capped(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    try:
        state, settings = checkpoint_from_npz(data, MAX_CHECKPOINT_BYTES)
        config = Config.from_dict(settings)
        check_state(config, state)
    except NnfunError as exc:
        raise ModelError(f"{path}: {exc}") from None
    return state, config
