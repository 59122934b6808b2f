"""A run described as flat, typed settings: the `Config`, checked once.

A `Config` is what `config.json`, `config.toml`, `--config` files and the CLI's flags hold: one
value per setting, checked here once (types, ranges, settings that do not apply). The training
loop never sees it: the builders (`build_optimizer`, `build_schedule`, ...) turn it into the
values `nnfun.fit` takes.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from ..values import is_number, is_whole

OptimizerName = Literal["sgd", "nesterov", "adam", "adamw"]
ScheduleName = Literal["step", "cosine", "onecycle", "constant"]
OPTIMIZERS: tuple[str, ...] = typing.get_args(OptimizerName)
SCHEDULES: tuple[str, ...] = typing.get_args(ScheduleName)

MAX_SEED = 2**63 - 1
MAX_COUNT = 10**9  # epochs, batch size, widths: far above anything sensible, far below overflow
MAX_LAYERS = 1000  # a model file holds two arrays a layer, and the reader takes 4,096 arrays


@dataclass(frozen=True)
class Config:
    """Every setting of a run. The defaults are the seed recipe (784-1024-10, SGD, 80 epochs)."""

    hidden: tuple[int, ...] = (1024,)
    epochs: int = 80
    batch_size: int = 128
    optimizer: OptimizerName = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    clip: float | None = 5.0
    schedule: ScheduleName = "step"
    milestones: tuple[int, ...] = (30, 50, 65)
    gamma: float = 0.1
    warmup: float = 0.0
    dropout: float = 0.0
    input_dropout: float = 0.0
    label_smoothing: float = 0.0
    shift: float = 0.0
    rotate: float = 0.0
    scale: float = 0.0
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    keep_best: bool = False
    ema_decay: float = 0.0
    val_size: int = 5000
    seed: int = 0
    dataset: str = "mnist"

    def __post_init__(self) -> None:
        for name, problem in itertools.chain(_type_problems(self), _range_problems(self)):
            raise ConfigError(problem, setting=name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Config:
        """The inverse of `to_dict`; unknown keys are an error, missing ones take the defaults."""
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"settings must be a table of name = value, got {type(values).__name__}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(
                f"unknown setting(s): {', '.join(map(str, unknown))}; known: {', '.join(sorted(names))}"
            )
        fixed: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in values.items()
        }
        config = cls(**fixed)
        for name, problem in _inapplicable(config, fixed):
            raise ConfigError(problem, setting=name)
        return config


# --------------------------------------------------------------------------- checks


def _type_problems(c: Config) -> Iterator[tuple[str, str]]:
    """Each setting whose value has the wrong type (TOML and JSON can hold anything)."""
    for f in dataclasses.fields(c):
        value, kind = getattr(c, f.name), f.type
        if kind in ("tuple[int, ...]",):
            ok = isinstance(value, tuple) and all(is_whole(v) for v in value)
            want = "a list of whole numbers"
        elif kind == "int":
            ok, want = is_whole(value), "a whole number"
        elif kind in ("float", "float | None"):
            ok = is_number(value) or (value is None and kind != "float")
            want = "a number"
        elif kind == "bool":
            ok, want = isinstance(value, bool), "true or false"
        elif kind == "str":
            ok, want = isinstance(value, str), "a text"
        else:  # a Literal of choices
            choices = typing.get_args(typing.get_type_hints(Config)[f.name])
            ok, want = value in choices, "one of " + ", ".join(choices)
        if not ok:
            yield f.name, f"{f.name} must be {want} (got {value!r})"


def _range_problems(c: Config) -> Iterator[tuple[str, str]]:
    """Each out-of-range setting, as a sentence that says what would be valid."""
    whole = [("epochs", c.epochs, 1), ("batch_size", c.batch_size, 1), ("val_size", c.val_size, 0)]
    for name, value, low in whole:
        if not low <= value <= MAX_COUNT:
            yield name, f"{name} must be between {low} and {MAX_COUNT:,} (got {value})"
    if len(c.hidden) > MAX_LAYERS:
        yield "hidden", f"hidden takes at most {MAX_LAYERS} layers (got {len(c.hidden)})"
    elif not c.hidden or not all(1 <= h <= MAX_COUNT for h in c.hidden):
        yield (
            "hidden",
            f"hidden sizes must be whole numbers >= 1, e.g. 1024 or 1024,512 (got {list(c.hidden)})",
        )
    if any(not 1 <= m <= MAX_COUNT for m in c.milestones):
        yield "milestones", f"milestones must be epochs >= 1 (got {list(c.milestones)})"
    if not 0 <= c.seed <= MAX_SEED:
        yield "seed", f"seed must be between 0 and 2^63 - 1 (got {c.seed})"
    numbers = {f.name: getattr(c, f.name) for f in dataclasses.fields(c) if "float" in str(f.type)}
    for name, value in numbers.items():
        if value is not None and not math.isfinite(value):
            yield name, f"{name} must be a finite number (got {value})"
    checks = [
        ("lr", c.lr > 0, f"lr (learning rate) must be > 0 (got {c.lr})"),
        ("momentum", 0 <= c.momentum < 1, f"momentum must be in [0, 1) (got {c.momentum})"),
        ("weight_decay", c.weight_decay >= 0, f"weight_decay must be >= 0 (got {c.weight_decay})"),
        (
            "clip",
            c.clip is None or c.clip > 0,
            f"clip must be > 0, or 0 for no clipping (got {c.clip})",
        ),
        ("gamma", c.gamma > 0, f"gamma must be > 0 (got {c.gamma})"),
        ("warmup", c.warmup >= 0, f"warmup (epochs) must be >= 0 (got {c.warmup})"),
        (
            "ema_decay",
            0 <= c.ema_decay < 1,
            f"ema_decay must be in [0, 1), 0 for no averaging (got {c.ema_decay})",
        ),
        ("dropout", 0 <= c.dropout < 1, f"dropout must be in [0, 1) (got {c.dropout})"),
        (
            "input_dropout",
            0 <= c.input_dropout < 1,
            f"input_dropout must be in [0, 1) (got {c.input_dropout})",
        ),
        (
            "label_smoothing",
            0 <= c.label_smoothing < 1,
            f"label_smoothing must be in [0, 1) (got {c.label_smoothing})",
        ),
        ("shift", c.shift >= 0, f"shift must be >= 0 pixels (got {c.shift})"),
        ("rotate", c.rotate >= 0, f"rotate must be >= 0 degrees (got {c.rotate})"),
        ("scale", 0 <= c.scale < 1, f"scale must be in [0, 1) (got {c.scale})"),
        (
            "elastic_alpha",
            c.elastic_alpha >= 0,
            f"elastic_alpha must be >= 0 (got {c.elastic_alpha})",
        ),
        (
            "elastic_sigma",
            0 < c.elastic_sigma < 100,
            f"elastic_sigma must be in (0, 100) (got {c.elastic_sigma})",
        ),
        (
            "dataset",
            _is_folder_name(c.dataset),
            f"dataset must be a folder name like 'mnist' (got {c.dataset!r})",
        ),
    ]
    yield from ((name, message) for name, ok, message in checks if not ok)


def _is_folder_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not set(name) & set("/\\\0")


# Which settings only mean something for some values of another: (setting, applies?, when).
_APPLIES = (
    ("momentum", lambda c: c.optimizer in ("sgd", "nesterov"), "optimizer sgd or nesterov"),
    ("milestones", lambda c: c.schedule == "step", "schedule step"),
    ("gamma", lambda c: c.schedule == "step", "schedule step"),
    ("elastic_sigma", lambda c: c.elastic_alpha > 0, "elastic_alpha > 0"),
)


def _inapplicable(c: Config, given: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Settings changed from their default although they do nothing in this recipe."""
    defaults = Config()
    for name, applies, when in _APPLIES:
        if name in given and getattr(c, name) != getattr(defaults, name) and not applies(c):
            yield (
                name,
                f"{name} applies only with {when}; remove it (this recipe has {_context(c, name)})",
            )


def _context(c: Config, name: str) -> str:
    key = {"momentum": "optimizer", "elastic_sigma": "elastic_alpha"}.get(name, "schedule")
    return f"{key} {getattr(c, key)}"
