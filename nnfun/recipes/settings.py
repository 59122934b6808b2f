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
import math
import typing
from collections.abc import Callable, Iterator, Mapping
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

RUN, NET, SCHED, REG = (
    "Run",
    "Network and optimizer",
    "Learning-rate schedule",
    "Regularisation and augmentation",
)
Kind = Literal["whole", "number", "flag", "text", "choice", "whole list"]


@dataclass(frozen=True)
class Interval:
    """The numbers from `low` to `high` (None: unbounded); `closed` says which ends belong."""

    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def __contains__(self, value: float) -> bool:
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        above = self.low is None or value > self.low or (left and value == self.low)
        return above and (self.high is None or value < self.high or (right and value == self.high))

    def __str__(self) -> str:
        """`>= 0`, `> 0`, `in [0, 1)`, `between 1 and 1,000,000,000`."""
        low, high = _bound_text(self.low), _bound_text(self.high)
        if self.high is None:
            return (">= " if self.closed in ("both", "left") else "> ") + low
        if self.closed == "both":
            return f"between {low} and {high}"
        left, right = "[("[self.closed not in ("left",)], ")]"[self.closed == "right"]
        return f"in {left}{low}, {high}{right}"


def _bound_text(x: float | None) -> str:
    if x is None:
        return ""
    return "2^63 - 1" if x == MAX_SEED else f"{x:,}" if isinstance(x, int) else f"{x:g}"


@dataclass(frozen=True)
class When:
    """A setting means something only when `setting`'s value passes `test`, said as `text`."""

    setting: str
    test: Callable[[Any], bool]
    text: str


def only_with(setting: str, *values: str) -> When:
    """Only with `setting` set to one of `values`: momentum only with sgd or nesterov."""
    return When(setting, lambda v: v in values, f"{setting} {' or '.join(values)}")


def only_when_on(setting: str) -> When:
    """Only when `setting` is above 0: elastic_sigma only with elastic_alpha."""
    return When(setting, lambda v: v > 0, f"{setting} > 0")


@dataclass(frozen=True)
class Rules:
    """A setting's row of the table, besides its name, type and default (see `setting`)."""

    help: str
    panel: str
    bounds: Interval | None = None
    length: Interval | None = None
    off: str = ""
    unit: str = ""
    gloss: str = ""
    example: str = ""
    applies: When | None = None
    valid: tuple[Callable[[Any], bool], str] | None = None
    flags: tuple[str, ...] = ()


def setting(default: Any, help: str, panel: str, **rules: Any) -> Any:
    """One row of the table: a dataclass field with its default and its `Rules`.

    `bounds` holds for a number, or each item of a list (`length` bounds the list); `off` says
    what 0 means (`"no clipping"`; for a `float | None` setting 0 is stored as None); `unit`
    and `gloss` word the messages (`shift must be >= 0 pixels`); `applies` names the setting
    this one depends on; `valid` is any further test, with what it wants; `flags` are the
    command-line names when not just `--name-with-dashes`.
    """
    return dataclasses.field(default=default, metadata={"rules": Rules(help, panel, **rules)})


@dataclass(frozen=True)
class Setting:
    """One setting as every consumer sees it: name, kind, default and the rules of its row."""

    name: str
    kind: Kind
    default: Any
    rules: Rules
    choices: tuple[str, ...] = ()
    none_when_off: bool = False

    @property
    def flag(self) -> str:
        """The command-line spelling: `--batch-size`."""
        return self.rules.flags[-1] if self.rules.flags else "--" + self.name.replace("_", "-")

    def type_problem(self, value: Any) -> str | None:
        """What is wrong with the value's type (TOML and JSON hold anything), or None."""
        ok, want = {
            "whole": (is_whole(value), "a whole number"),
            "number": (is_number(value) or (value is None and self.none_when_off), "a number"),
            "flag": (isinstance(value, bool), "true or false"),
            "text": (isinstance(value, str), "a text"),
            "choice": (value in self.choices, "one of " + ", ".join(self.choices)),
            "whole list": (
                isinstance(value, tuple) and all(is_whole(v) for v in value),
                "a list of whole numbers",
            ),
        }[self.kind]
        return None if ok else f"{self.name} must be {want} (got {value!r})"

    def range_problem(self, value: Any) -> str | None:
        """What is out of range in a value of the right type: a sentence that says what is valid."""
        r = self.rules
        if self.kind == "whole list":
            return self._list_problem(value)
        if self.kind == "number" and value is not None and not math.isfinite(value):
            return f"{self.name} must be a finite number (got {value})"
        if r.bounds is not None and value is not None and value not in r.bounds:
            gloss = f" ({r.gloss})" if r.gloss else ""
            unit = f" {r.unit}" if r.unit else ""
            off = f"{', ' if 0 in r.bounds else ', or '}0 for {r.off}" if r.off else ""
            return f"{self.name}{gloss} must be {r.bounds}{unit}{off} (got {value})"
        if r.valid is not None and not r.valid[0](value):
            return f"{self.name} must be {r.valid[1]} (got {value!r})"
        return None

    def _list_problem(self, values: tuple[int, ...]) -> str | None:
        r = self.rules
        if r.length is not None and r.length.high is not None and len(values) > r.length.high:
            return f"{self.name} takes at most {r.length.high} {r.unit} (got {len(values)})"
        too_short = r.length is not None and len(values) not in r.length
        if too_short or (r.bounds is not None and any(v not in r.bounds for v in values)):
            example = f", e.g. {r.example}" if r.example else ""
            return f"{self.name} must be {r.gloss} {r.bounds}{example} (got {list(values)})"
        return None

    def parse(self, text: str, separator: str = ",") -> Any:
        """A value from text as typed: `0.01`, `1024,512`, `true`, `adam`; 0 for "off" as stored.

        A list's items are joined by `separator` (a sweep's grid separates values with commas,
        so there a list of layers is `512+512`).
        """
        text = text.strip()
        try:
            value = _PARSERS[self.kind](text, separator)
        except (ValueError, KeyError):
            raise ConfigError(
                f"{self.name} takes {self.text_kind(separator)} (got {text!r})", setting=self.name
            ) from None
        return None if self.none_when_off and value == 0 else value

    def text_kind(self, separator: str = ",") -> str:
        """What `parse` reads, in words."""
        if self.kind == "whole list":
            return f"whole numbers joined by {separator!r}, e.g. 512{separator}512"
        return {"whole": "a whole number", "number": "a number", "flag": "true or false"}.get(
            self.kind, "a name"
        )

    def text(self, value: Any, separator: str = ",") -> str:
        """The inverse of `parse`: `1024,512`, `true`, `0` for a setting that is off."""
        if value is None:
            return "0"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple | list):
            return separator.join(map(str, value))
        return str(value)


def _parse_flag(text: str, _: str) -> bool:
    return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}[
        text.lower()
    ]


def _parse_name(text: str, _: str) -> str:
    if not text:
        raise ValueError("empty")
    return text


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "whole": lambda text, _: int(text),
    "number": lambda text, _: float(text),
    "flag": _parse_flag,
    "text": _parse_name,
    "choice": _parse_name,
    "whole list": lambda text, sep: tuple(int(part) for part in text.split(sep)) if text else (),
}


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


_KINDS: dict[Any, Kind] = {int: "whole", float: "number", bool: "flag", str: "text"}


def settings_of(cls: type[Config] = Config) -> tuple[Setting, ...]:
    """The table: one `Setting` per field of `cls`, in order, its kind read off the field's type."""
    hints = typing.get_type_hints(cls)
    table = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        choices: tuple[str, ...] = ()
        if typing.get_origin(hint) is Literal:
            kind: Kind = "choice"
            choices = typing.get_args(hint)
        else:
            kind = _KINDS.get(hint, "whole list" if typing.get_origin(hint) is tuple else "number")
        nullable = type(None) in typing.get_args(hint)
        table.append(Setting(f.name, kind, f.default, f.metadata["rules"], choices, nullable))
    return tuple(table)


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
