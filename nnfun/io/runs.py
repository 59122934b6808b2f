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
from ..inference import DIGITS
from ..recipes import Config
from ..values import is_finite_number, is_whole
from .files import MAX_JSON_BYTES, read_json

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
RUN_FILES = (CONFIG_JSON, CONFIG_TOML, HISTORY, METRICS, MODEL, CHECKPOINT, *FIGURES)
MAX_CELL = 10**12
"""A confusion-matrix cell holds at most this many images."""
HISTORY_KEYS = (
    "epoch",
    "lr",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
)


class RunNotFinished(NnfunError):
    """A run folder whose run has not delivered its results yet; `resumable` if it has a checkpoint."""

    def __init__(self, message: str, *, run_dir: Path, resumable: bool) -> None:
        super().__init__(message)
        self.run_dir, self.resumable = run_dir, resumable


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


def _is_fraction(value: Any) -> bool:
    return is_finite_number(value) and 0 <= value <= 1


def _is_count(value: Any) -> bool:
    return is_whole(value) and 0 <= value <= MAX_CELL


def settings(config: Any) -> Config:
    """The settings in a run's `config.json` content, checked like any other settings."""
    if not isinstance(config, dict):
        raise NnfunError("expected an object of settings")
    return Config.from_dict({k: v for k, v in config.items() if k != "nnfun_version"})


def read_config(run_dir: Path) -> dict[str, Any]:
    """The content of a run's `config.json`, checked to hold valid settings."""
    path = Path(run_dir) / CONFIG_JSON
    config = read_json(path, MAX_JSON_BYTES)
    try:
        settings(config)
    except NnfunError as exc:
        raise NnfunError(f"{path} is not an nnfun {CONFIG_JSON}: {exc}") from None
    return dict(config)


def run_dataset(run_dir: Path | None) -> str:
    """The dataset a run was trained on, from its config.json; mnist for a model outside a run."""
    if run_dir is None or not (Path(run_dir) / CONFIG_JSON).is_file():
        return "mnist"
    return settings(read_config(run_dir)).dataset


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
            resumable = (run_dir / CHECKPOINT).is_file()
            why = (
                "it can continue from its checkpoint"
                if resumable
                else "it stopped before its first epoch was saved"
            )
            raise RunNotFinished(
                f"{run_dir} has no {name}: the run has not finished ({why})",
                run_dir=run_dir,
                resumable=resumable,
            )
    config = read_config(run_dir)
    history = read_json(run_dir / HISTORY, MAX_JSON_BYTES)
    metrics = read_json(run_dir / METRICS, MAX_JSON_BYTES)

    def garbled(name: str, problem: str) -> NnfunError:
        return NnfunError(f"{run_dir / name} is not an nnfun {name}: {problem}")

    problem = _history_problem(history)
    if problem:
        raise garbled(HISTORY, problem)
    problem = _metrics_problem(metrics)
    if problem:
        raise garbled(METRICS, problem)
    return Run(run_dir, config, history, metrics)


def _history_problem(history: Any) -> str | None:
    """What is wrong with `history.json`'s content: a list of epochs 1, 2, ... of numbers."""
    if not isinstance(history, list) or not history:
        return "expected a non-empty list of epochs"
    for i, record in enumerate(history):
        if not isinstance(record, dict):
            return f"entry {i + 1} is not an object"
        for key in HISTORY_KEYS:
            value = record.get(key)
            if not (is_finite_number(value) or (value is None and key.startswith("val_"))):
                return f"entry {i + 1} has no number {key!r}"
            if value is not None and value < 0:
                return f"entry {i + 1} has a negative {key!r}"
        if record["epoch"] != i + 1:
            return f"entry {i + 1} is numbered epoch {record['epoch']!r}"
        if not all(
            _is_fraction(record[k])
            for k in ("train_accuracy", "val_accuracy")
            if record[k] is not None
        ):
            return f"entry {i + 1} has an accuracy outside [0, 1]"
    return None


def _metrics_problem(metrics: Any) -> str | None:
    """What is wrong with `metrics.json`'s content: accuracies, counts and seconds in range."""
    if not isinstance(metrics, dict):
        return "expected an object"
    if not _is_fraction(metrics.get("test_accuracy")):
        return "no 'test_accuracy' between 0 and 1"
    for key in ("train_accuracy", "val_accuracy"):
        if metrics.get(key) is not None and not _is_fraction(metrics[key]):
            return f"{key!r} is not between 0 and 1"
    for key in ("test_loss", "train_seconds"):
        value = metrics.get(key)
        if value is not None and not (is_finite_number(value) and value >= 0):
            return f"{key!r} is not a number >= 0"
    matrix: Any = metrics.get("confusion_matrix")
    per_class = metrics.get("per_class_accuracy")
    side = len(matrix) if isinstance(matrix, list) else 0
    square = 1 <= side <= DIGITS and all(
        isinstance(row, list) and len(row) == side and all(_is_count(v) for v in row)
        for row in matrix
    )
    if not square:
        return f"'confusion_matrix' is not a square table of image counts, at most {DIGITS} by {DIGITS}"
    if not (
        isinstance(per_class, list)
        and len(per_class) == side
        and all(_is_fraction(v) for v in per_class)
    ):
        return f"'per_class_accuracy' should hold {side} fractions between 0 and 1"
    return None
