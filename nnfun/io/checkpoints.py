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


def save_checkpoint(run_dir: Path, state: TrainState, config: Config) -> None:
    """Write `run_dir/checkpoint.npz` atomically: readers see the old one or the new one."""
    atomic_write_bytes(Path(run_dir) / CHECKPOINT, checkpoint_to_npz(state, config.to_dict()))


def load_checkpoint(run_dir: Path) -> tuple[TrainState, Config]:
    """The state and config saved in `run_dir/checkpoint.npz`."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        toml = Path(run_dir) / CONFIG_TOML
        if (Path(run_dir) / MODEL).is_file():
            hint = f"its model is there; nothing can be continued: see nnfun report {run_dir}"
        elif toml.is_file():
            hint = (
                f"it stopped before its first epoch was saved; start it again with: "
                f"nnfun train --config {toml} --out {run_dir}"
            )
        else:
            hint = "is it a run folder made by nnfun train?"
        raise NnfunError(f"{run_dir} has no {CHECKPOINT} to resume from ({hint})")
    data = read_capped(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    try:
        state, settings = checkpoint_from_npz(data, MAX_CHECKPOINT_BYTES)
        config = Config.from_dict(settings)
        check_state(config, state)
    except NnfunError as exc:
        raise ModelError(f"{path}: {exc}") from None
    return state, config
