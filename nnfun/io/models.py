"""Models on disk: `model.npz` (plain arrays, never pickle) alone or inside a run folder."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from .. import checks
from ..ensemble import members
from ..errors import ModelError, NnfunError
from ..onnx_format import to_onnx
from ..params import Params
from ..serialize import params_from_npz, params_to_npz
from ..version import __version__
from .files import atomic_write_bytes, read_capped, read_json
from .runs import CHECKPOINT, CONFIG_JSON, METRICS, MODEL, RunNotFinished

MAX_MODEL_BYTES = 2 << 30
"""A model file larger than this (2 GiB, ~500 million float32 weights) is refused unread."""


def save_model(path: str | Path, params: Params) -> Path:
    """Write `params` to `path` as `.npz` (a folder gets `model.npz` inside); returns the file.

    Only what `load_model` reads back is written: a network of finite float arrays
    `W1, b1, ...` whose shapes chain, within `MAX_MODEL_BYTES`.
    """
    _check_target(path, params)
    size = sum(a.nbytes for a in params.values())
    if size > MAX_MODEL_BYTES:
        raise ModelError(
            f"params take {size:,} bytes; a model file holds at most {MAX_MODEL_BYTES:,}"
        )
    path = Path(path)
    file = path / MODEL if path.is_dir() else path
    atomic_write_bytes(file, params_to_npz(params))
    return file


def model_file(path: str | Path) -> tuple[Path, Path | None]:
    """`(model file, run folder or None)` for a run folder or a model file."""
    path = Path(path)
    if path.is_dir():
        return path / MODEL, path
    return path, path.parent if (path.parent / CONFIG_JSON).is_file() else None


def load_model(path: str | Path) -> Params:
    """The read-only network in a model `.npz` file, or in a run folder's `model.npz`."""
    file, run_dir = model_file(path)
    if not file.is_file():
        if run_dir is None or run_dir != Path(path):
            raise NnfunError(f"no model at {file}")
        raise RunNotFinished(
            f"no model at {file} (the run may still be training, or was interrupted)",
            run_dir=run_dir,
            resumable=(run_dir / CHECKPOINT).is_file(),
        )
    data = read_capped(file, MAX_MODEL_BYTES, "model file")
    try:
        return params_from_npz(data, MAX_MODEL_BYTES)
    except ModelError as exc:
        raise ModelError(f"{file}: {exc}") from None


def load_models(paths: Sequence[str | Path]) -> tuple[Params, ...]:
    """The networks at `paths` (files or run folders), checked to agree as an ensemble.

    ModelError names the two paths whose models read other images or tell other classes.
    """
    return members([load_model(p) for p in paths], names=[str(p) for p in paths])


def training_seconds(path: str | Path) -> float | None:
    """How long the model at `path` trained, from its run folder's `metrics.json`; None if unknown."""
    run_dir = model_file(path)[1]
    if run_dir is None or not (run_dir / METRICS).is_file():
        return None
    try:
        metrics = read_json(run_dir / METRICS)
    except NnfunError:
        return None
    value = metrics.get("train_seconds") if isinstance(metrics, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < math.inf else None


def export_onnx(params: Params, path: str | Path) -> Path:
    """Write the network as an ONNX model (see `nnfun.onnx_format`); returns the path written.

    Input `pixels`: `(n, 784)` float32 in [0, 1], as `scale_pixels` gives; output
    `probabilities`: `(n, 10)`. Written to a temporary name and renamed, like every nnfun file.
    """
    _check_target(path, params)
    target = Path(path)
    if target.suffix.lower() != ".onnx":
        raise NnfunError(f"path: an ONNX file's name ends in .onnx (got {target})")
    atomic_write_bytes(target, to_onnx(params, producer_version=__version__))
    return target


def _check_target(path: object, params: Params) -> None:
    """What every model writer checks first: a path, and a network that loads back."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file or folder name, got {checks.show(path)}")
    checks.finite_network(params)
