"""The run folder: every file name defined once, and a finished run read back and checked.

A run folder holds `config.json` and `config.toml` (the settings), `history.json` (one record per
epoch), `checkpoint.npz` (to resume), and once finished `model.npz`, `metrics.json` and the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NnfunError
from .files import read_json

CONFIG_JSON = "config.json"
CONFIG_TOML = "config.toml"
HISTORY = "history.json"
METRICS = "metrics.json"
MODEL = "model.npz"
CHECKPOINT = "checkpoint.npz"
FIGURES = (
    "training_curves.png",
    "confusion_matrix.png",
    "sample_predictions.png",
    "per_digit_accuracy.png",
)
HISTORY_KEYS = (
    "epoch",
    "lr",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
)


@dataclass(frozen=True)
class Run:
    """A finished run folder: its config, per-epoch history and final metrics, checked."""

    path: Path
    config: dict[str, Any]
    history: list[dict[str, float]]
    metrics: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.resolve().name or str(self.path)

    def column(self, key: str) -> np.ndarray:
        """One history field over the epochs as floats (NaN where it was null, e.g. no validation)."""
        return np.array([math.nan if r[key] is None else r[key] for r in self.history], dtype=float)

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.metrics["confusion_matrix"], dtype=np.int64)

    @property
    def test_accuracy(self) -> float:
        return float(self.metrics["test_accuracy"])

    @property
    def seconds(self) -> float:
        value = self.metrics.get("train_seconds")
        return (
            float(value)
            if isinstance(value, int | float)
            else float(np.nansum(self.column("seconds")))
        )

    def best_val(self) -> tuple[float, int | None]:
        """The best validation accuracy and its epoch; (NaN, None) for a run without validation."""
        val = self.column("val_accuracy")
        if not np.isfinite(val).any():
            return math.nan, None
        i = int(np.nanargmax(val))
        return float(val[i]), int(self.history[i]["epoch"])

    def model_epoch(self) -> int:
        """The epoch whose weights model.npz holds: the best one with keep_best, else the last."""
        best = self.best_val()[1]
        return best if self.config.get("keep_best") and best else int(self.history[-1]["epoch"])

    def network(self, sizes: Sequence[int] | None = None) -> str:
        """`784-1024-10`, from the model's layer sizes if given, else from the config."""
        if sizes is None:
            hidden = self.config.get("hidden") or []
            sizes = (784, *(hidden if isinstance(hidden, list) else [hidden]), 10)
        return "-".join(map(str, sizes))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_run(run_dir: Path) -> Run:
    """Read and check `config.json`, `history.json` and `metrics.json`, or raise a one-line NnfunError."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NnfunError(f"{run_dir} is not a folder (expected a run folder made by nnfun train)")
    if not (run_dir / CONFIG_JSON).is_file():
        raise NnfunError(
            f"{run_dir} is not a run folder made by nnfun train: it has no config.json"
        )
    for name in (HISTORY, METRICS):
        if not (run_dir / name).is_file():
            raise NnfunError(
                f"{run_dir} has no {name}: the run has not finished "
                f"(continue it with: nnfun train --resume {run_dir})"
            )
    config = read_json(run_dir / CONFIG_JSON)
    history = read_json(run_dir / HISTORY)
    metrics = read_json(run_dir / METRICS)

    def garbled(name: str, problem: str) -> NnfunError:
        return NnfunError(f"{run_dir / name} is not an nnfun {name}: {problem}")

    if not isinstance(config, dict):
        raise garbled(CONFIG_JSON, "expected an object of settings")
    if not isinstance(history, list) or not history:
        raise garbled(HISTORY, "expected a non-empty list of epochs")
    for i, record in enumerate(history):
        if not isinstance(record, dict):
            raise garbled(HISTORY, f"entry {i + 1} is not an object")
        for key in HISTORY_KEYS:
            value = record.get(key)
            if not (_is_number(value) or (value is None and key.startswith("val_"))):
                raise garbled(HISTORY, f"entry {i + 1} has no number {key!r}")
    if not isinstance(metrics, dict):
        raise garbled(METRICS, "expected an object")
    if not _is_number(metrics.get("test_accuracy")):
        raise garbled(METRICS, "no number 'test_accuracy'")
    try:
        matrix = np.asarray(metrics.get("confusion_matrix"), dtype=float)
        per_class = np.asarray(metrics.get("per_class_accuracy"), dtype=float)
    except (TypeError, ValueError):
        raise garbled(
            METRICS, "'confusion_matrix' or 'per_class_accuracy' is not numeric"
        ) from None
    if (
        matrix.ndim != 2
        or matrix.shape[0] != matrix.shape[1]
        or not matrix.size
        or (matrix < 0).any()
    ):
        raise garbled(METRICS, "'confusion_matrix' is not a square table of counts")
    if per_class.shape != (len(matrix),):
        raise garbled(METRICS, f"'per_class_accuracy' should hold {len(matrix)} numbers")
    return Run(run_dir, config, history, metrics)


def format_setting(value: Any) -> str:
    """A config value for people: `[1024, 512]` -> `1024,512`, `0.0001` -> `0.0001`, None -> `off`."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(format_setting(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_differences(runs: Sequence[Run]) -> list[str]:
    """The config keys whose values are not the same in every run (a missing key counts as a value)."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.config if k not in keys]
    missing = object()
    return [k for k in keys if len({repr(run.config.get(k, missing)) for run in runs}) > 1]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Short, distinct names: the folder names, with their parent folder where two would clash."""
    names = [run.name for run in runs]
    labels = []
    for run, name in zip(runs, names, strict=True):
        if names.count(name) > 1:
            name = f"{run.path.resolve().parent.name}/{name}"
        labels.append(name)
    return [
        f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]
