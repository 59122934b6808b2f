"""Checkpoints: everything needed to resume a run, written atomically after every epoch."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError, NnfunError
from ..recipe import Config
from ..serialize import checkpoint_from_npz, checkpoint_to_npz
from ..train import TrainState
from .files import atomic_write_bytes, read_capped
from .runs import CHECKPOINT

MAX_CHECKPOINT_BYTES = 8 << 30
"""A checkpoint holds weights, optimizer state and best weights: a few times the model's size."""


def save_checkpoint(run_dir: Path, state: TrainState, config: Config) -> None:
    """Write `run_dir/checkpoint.npz` atomically: readers see the old one or the new one."""
    atomic_write_bytes(Path(run_dir) / CHECKPOINT, checkpoint_to_npz(state, config.to_dict()))


def load_checkpoint(run_dir: Path) -> tuple[TrainState, Config]:
    """The state and config saved in `run_dir/checkpoint.npz`."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise NnfunError(
            f"{run_dir} has no {CHECKPOINT} to resume from (is it a run folder made by nnfun train?)"
        )
    try:
        state, settings = checkpoint_from_npz(read_capped(path, MAX_CHECKPOINT_BYTES, "checkpoint"))
        return state, Config.from_dict(settings)
    except NnfunError as exc:
        raise ModelError(f"{path}: {exc}") from None
