"""A run described as flat, typed settings: the `Config`, whose fields are the table of settings.

In the manner of scikit-learn's parameter constraints, each field of `Config` is one row of a
declarative table: its type and default, and through `setting(...)` its bounds, help text, help
panel, what 0 means when it turns the setting off, and which other setting it depends on. The
checks below, the text parser (flags, sweep values), TOML writing and the options of
`nnfun train` and `nnfun sweep` are all derived from the table: a new setting is one field here
plus its use. The training loop never sees a Config: the builders turn it into `fit`'s parts.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from ..values import is_number
from .table import Interval, Setting, only_when_on, only_with, rows, setting

OptimizerName = Literal["sgd", "nesterov", "adam", "adamw"]
ScheduleName = Literal["step", "cosine", "onecycle", "constant"]
OPTIMIZERS: tuple[str, ...] = typing.get_args(OptimizerName)
SCHEDULES: tuple[str, ...] = typing.get_args(ScheduleName)

MAX_SEED = 2**63 - 1
MAX_COUNT = 10**9  # epochs, batch size, widths: far above anything sensible, far below overflow
MAX_LAYERS = 1000  # a model file holds two arrays a layer, and the reader takes 4,096 arrays

RUN, NET, SCHED, REG = (
    "Run",
    "Network and optimizer",
    "Learning-rate schedule",
    "Regularisation and augmentation",
)


def _is_folder_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not set(name) & set("/\\\0")


COUNT, FRACTION = Interval(1, MAX_COUNT), Interval(0, 1, "left")
AT_LEAST_0, ABOVE_0 = Interval(0), Interval(0, closed="neither")


@dataclass(frozen=True)
class Config:
    """Every setting of a run. The defaults are the seed recipe (784-1024-10, SGD, 80 epochs)."""

    hidden: tuple[int, ...] = setting(
        (1024,), "Hidden layer widths, comma-separated: 1024 or 1024,1024.", NET,
        bounds=COUNT, length=Interval(1, MAX_LAYERS), unit="layers", gloss="layer widths",
        example="1024 or 1024,512",
    )  # fmt: skip
    epochs: int = setting(80, "Passes over the training set.", NET, bounds=COUNT)
    batch_size: int = setting(128, "Images per gradient step.", NET, bounds=COUNT)
    optimizer: OptimizerName = setting("sgd", "sgd (with momentum), nesterov, adam or adamw.", NET)
    lr: float = setting(
        0.01, "Initial (peak) learning rate.", NET, bounds=ABOVE_0, gloss="learning rate"
    )
    momentum: float = setting(
        0.9, "Momentum of SGD.", NET, bounds=FRACTION, applies=only_with("optimizer", "sgd", "nesterov")
    )  # fmt: skip
    weight_decay: float = setting(
        1e-4, "L2 added to the gradient (g + wd * w); decoupled for adamw.", NET, bounds=AT_LEAST_0
    )
    clip: float | None = setting(
        5.0, "Clip each gradient value to [-clip, clip]; 0 turns it off.", NET,
        bounds=ABOVE_0, off="no clipping",
    )  # fmt: skip
    schedule: ScheduleName = setting(
        "step",
        "Learning-rate schedule after the warm-up: step, cosine, onecycle or constant.",
        SCHED,
    )
    milestones: tuple[int, ...] = setting(
        (30, 50, 65), "Epochs at which a step schedule multiplies the rate by gamma.", SCHED,
        bounds=COUNT, gloss="epochs", applies=only_with("schedule", "step"),
    )  # fmt: skip
    gamma: float = setting(
        0.1, "Learning-rate factor at each milestone.", SCHED, bounds=ABOVE_0,
        applies=only_with("schedule", "step"),
    )  # fmt: skip
    warmup: float = setting(
        0.0,
        "Epochs of linear warm-up before the schedule.",
        SCHED,
        bounds=AT_LEAST_0,
        gloss="epochs",
    )
    dropout: float = setting(
        0.0, "Dropout rate on hidden layers (inverted dropout).", REG, bounds=FRACTION
    )
    input_dropout: float = setting(0.0, "Dropout rate on input pixels.", REG, bounds=FRACTION)
    label_smoothing: float = setting(
        0.0, "Mix this much of a uniform target into the one-hot labels.", REG, bounds=FRACTION
    )
    shift: float = setting(
        0.0, "Random translation of training images, up to this many pixels.", REG,
        bounds=AT_LEAST_0, unit="pixels",
    )  # fmt: skip
    rotate: float = setting(
        0.0, "Random rotation, up to this many degrees.", REG, bounds=AT_LEAST_0, unit="degrees"
    )
    scale: float = setting(
        0.0, "Random scaling by up to this fraction (0.1 = +-10 %).", REG, bounds=FRACTION
    )
    elastic_alpha: float = setting(
        0.0, "Strength of elastic distortions (Simard et al.; 0 = off).", REG, bounds=AT_LEAST_0
    )
    elastic_sigma: float = setting(
        4.0, "Smoothness of elastic distortions, in pixels.", REG,
        bounds=Interval(0, 100, "neither"), applies=only_when_on("elastic_alpha"),
    )  # fmt: skip
    keep_best: bool = setting(False, "Deliver the weights of the best validation epoch.", REG)
    ema_decay: float = setting(
        0.0, "Average the weights (EMA, e.g. 0.999): validate, keep and save the average; 0 = off.",
        REG, bounds=FRACTION, off="no averaging", flags=("--ema", "--ema-decay"),
    )  # fmt: skip
    val_size: int = setting(
        5000, "Training images held out for validation.", RUN, bounds=Interval(0, MAX_COUNT)
    )
    seed: int = setting(
        0, "Seed for weights, split, shuffling, dropout: same seed, same run.", RUN,
        bounds=Interval(0, MAX_SEED),
    )  # fmt: skip
    dataset: str = setting(
        "mnist", "Subfolder of the data dir with the four IDX files (mnist is downloaded if missing).",
        RUN, valid=(_is_folder_name, "a folder name like 'mnist'"),
    )  # fmt: skip

    def __post_init__(self) -> None:
        for s in settings_of(type(self)):
            value = getattr(self, s.name)
            if s.none_when_off and is_number(value) and value == 0:
                object.__setattr__(self, s.name, None)  # 0 turns it off
        for name, problem in _problems(self):
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
        names = [s.name for s in settings_of(cls)]
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


def settings_of(cls: type[Config] = Config) -> tuple[Setting, ...]:
    """The table: one `Setting` per field of `cls` (Config, or a Config with more fields)."""
    return rows(cls)


SETTINGS = settings_of(Config)
"""Every setting of a run, in the order of `config.json`."""


def _problems(c: Config) -> Iterator[tuple[str, str]]:
    """Each setting whose value has the wrong type, then each one out of range."""
    table = settings_of(type(c))
    for check in (Setting.type_problem, Setting.range_problem):
        for s in table:
            problem = check(s, getattr(c, s.name))
            if problem:
                yield s.name, problem


def _inapplicable(c: Config, given: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Settings changed from their default although they do nothing in this recipe."""
    for s in settings_of(type(c)):
        when = s.rules.applies
        if when is None or s.name not in given or getattr(c, s.name) == s.default:
            continue
        other = getattr(c, when.setting)
        if not when.test(other):
            yield (
                s.name,
                f"{s.name} applies only with {when.text}; remove it "
                f"(this recipe has {when.setting} {other})",
            )


def setting_named(name: str, cls: type[Config] = Config) -> Setting:
    """The row of the table for `name`."""
    return next(s for s in settings_of(cls) if s.name == name)
