"""A training run in a folder: settings, checkpoints, history, then model and metrics.

`fit_in_folder` is what `nnfun train` and `nnfun sweep` do, without a terminal: callers watch it
through callbacks. A checkpoint is written atomically after every epoch, so a Ctrl-C, a crash or
a killed worker loses at most the epoch in progress, and a rerun continues from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..averaging import average_of
from ..errors import NnfunError
from ..metrics import confusion_matrix, evaluate, per_class_accuracy
from ..params import Params
from ..recipes import Config, fit_config, split_data, to_toml
from ..train import BatchCallback, TrainState, final_params
from ..version import __version__
from .checkpoints import load_checkpoint, save_checkpoint
from .datasets import Dataset
from .files import atomic_write_bytes, write_json
from .lock import run_lock
from .models import save_model
from .preflight import check_trainable
from .runs import CHECKPOINT, CONFIG_JSON, CONFIG_TOML, HISTORY, METRICS, MODEL

EpochCallback = Callable[[TrainState], None]
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class RunExists(NnfunError):
    """The folder asked for already holds a run (continue it, or choose another folder)."""


def new_run_dir(out: Path | None, root: Path = Path("results")) -> Path:
    """`out` if given (it must not hold a run yet), else a fresh `root/<date>-<time>[-n]/`."""
    if out is not None:
        out = Path(out)
        if (out / CHECKPOINT).exists() or (out / MODEL).exists():
            raise RunExists(f"{out} already holds a run")
        _make_dir(out, exist_ok=True)
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        candidate = Path(root) / (stamp if n == 1 else f"{stamp}-{n}")
        if _make_dir(candidate, exist_ok=False):
            return candidate  # mkdir itself decides: two runs started in one second get two
    raise NnfunError(f"could not find a free folder name under {root}")


def _make_dir(path: Path, exist_ok: bool) -> bool:
    """Create `path`; False if it existed already (and `exist_ok` is False)."""
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        if not exist_ok:
            return False
        raise NnfunError(f"{path} exists and is not a folder") from None
    except OSError as exc:
        raise NnfunError(f"cannot create the run folder {path}: {exc.strerror or exc}") from None
    return True


def write_settings(run_dir: Path, config: Config) -> None:
    """`config.json` (read by tools) and `config.toml` (what `--config` takes to repeat the run)."""
    write_json(run_dir / CONFIG_JSON, {**config.to_dict(), "nnfun_version": __version__})
    header = f"# nnfun {__version__}: repeat this run with  nnfun train --config {run_dir / CONFIG_TOML}\n"
    atomic_write_bytes(run_dir / CONFIG_TOML, (header + to_toml(config.to_dict())).encode())


def save_epoch(run_dir: Path, state: TrainState, config: Config) -> None:
    """Checkpoint first (the source of truth for a resume), then the human-readable history."""
    save_checkpoint(run_dir, state, config)
    write_json(run_dir / HISTORY, [vars(r) for r in state.history])


def finish(
    run_dir: Path, state: TrainState, parts: Split, data: Dataset
) -> tuple[dict[str, Any], Params]:
    """Write `model.npz` and `metrics.json` for the finished run; return the metrics and weights.

    `history.json` is written again too: a finished run resumed because a file was deleted by
    hand gets every output back, not only the ones this step computes.
    """
    write_json(run_dir / HISTORY, [vars(r) for r in state.history])
    params = final_params(state)
    save_model(run_dir / MODEL, params)
    x, y, x_val, y_val = parts
    test_loss, test_acc, predicted = evaluate(params, data.test_x, data.test_y)
    matrix = confusion_matrix(data.test_y, predicted)
    metrics = {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "train_accuracy": evaluate(params, x, y)[1],
        "val_accuracy": evaluate(params, x_val, y_val)[1] if len(x_val) else None,
        "per_class_accuracy": per_class_accuracy(matrix).tolist(),
        "confusion_matrix": matrix.tolist(),
        "epochs": state.epoch,
        "train_seconds": sum(r.seconds for r in state.history),
        "saved_weights": saved_weights(state),
    }
    write_json(run_dir / METRICS, metrics)
    return metrics, params


def saved_weights(state: TrainState) -> dict[str, Any]:
    """Which weights `final_params` delivers: `{"averaged": EMA or raw, "epoch": whose}`."""
    epoch = state.epoch
    if state.best_params is not None:
        val = [r.val_accuracy for r in state.history]
        epoch = state.history[int(np.nanargmax(val))].epoch
    return {"averaged": average_of(state.opt_state) is not None, "epoch": epoch}


DELIVERED = (MODEL, METRICS, HISTORY, CONFIG_JSON, CONFIG_TOML)
"""What a finished run folder holds (besides its checkpoint); resuming restores any missing."""


def is_finished(run_dir: Path) -> bool:
    """Whether the run in `run_dir` has delivered all it writes (`DELIVERED`)."""
    return all((Path(run_dir) / name).is_file() for name in DELIVERED)


def _saved_state(run_dir: Path, config: Config) -> TrainState | None:
    """The checkpoint to continue, checked against the config; None for a new run."""
    if not (run_dir / CHECKPOINT).is_file():
        return None
    state, saved = load_checkpoint(run_dir)
    if saved != config:
        raise NnfunError(f"{run_dir} holds a run with other settings; choose another folder")
    if state.epoch >= config.epochs and is_finished(run_dir):
        raise NnfunError(f"{run_dir} has already finished ({state.epoch} epochs): nothing to do")
    return state


def fit_in_folder(
    config: Config,
    run_dir: Path,
    data: Dataset,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> tuple[dict[str, Any], Params]:
    """Train `config` in `run_dir` to the end, continuing from its checkpoint if it has one.

    Returns the metrics and the delivered weights. The folder's files are written as it goes:
    settings first, then a checkpoint and the history after each epoch, then model and metrics.
    The folder is locked for the whole run (a second writer gets RunBusy); a new run that stops
    before its first checkpoint takes its settings files away again, leaving nothing half-made.
    """
    run_dir = Path(run_dir)
    with run_lock(run_dir):
        state = _saved_state(run_dir, config)
        check_trainable(config, data, state)
        if state is None:
            write_settings(run_dir, config)
        try:
            return _train_and_finish(config, run_dir, data, state, on_epoch, on_batch)
        except BaseException:
            if state is None and not (run_dir / CHECKPOINT).exists():
                for name in (CONFIG_JSON, CONFIG_TOML):
                    (run_dir / name).unlink(missing_ok=True)
            raise


def _train_and_finish(
    config: Config,
    run_dir: Path,
    data: Dataset,
    state: TrainState | None,
    on_epoch: EpochCallback | None,
    on_batch: BatchCallback | None,
) -> tuple[dict[str, Any], Params]:
    parts = split_data(config, data.train_x, data.train_y)
    final = state
    for final in fit_config(config, *parts, start=state, on_batch=on_batch):
        save_epoch(run_dir, final, config)
        if on_epoch is not None:
            on_epoch(final)
    if final is None:
        raise NnfunError(f"{run_dir} holds no epochs to finish")
    if not all((run_dir / name).is_file() for name in (CONFIG_JSON, CONFIG_TOML)):
        write_settings(run_dir, config)  # deleted by hand: the checkpoint remembers them
    return finish(run_dir, final, parts, data)
