"""What a row of the settings table is: a setting's kind, bounds, help, parser and off-rule.

`setting(...)` declares a row as a dataclass field; `rows(cls)` reads the rows of a class back
as `Setting`s, each of which checks a value's type and range, parses it from text and writes it
as text. The table itself, the `Config`, is in `settings`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from ..values import is_number, is_whole

Kind = Literal["whole", "number", "flag", "text", "choice", "whole list"]


@dataclass(frozen=True)
class Interval:
    """The numbers from `low` to `high` (None: unbounded); `closed` says which ends belong."""

    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    @property
    def _left_closed(self) -> bool:
        return self.closed in ("both", "left")

    @property
    def _right_closed(self) -> bool:
        return self.closed in ("both", "right")

    def __contains__(self, value: float) -> bool:
        above = self.low is None or value > self.low or (self._left_closed and value == self.low)
        below = (
            self.high is None or value < self.high or (self._right_closed and value == self.high)
        )
        return above and below

    def __str__(self) -> str:
        """`>= 0`, `> 0`, `in [0, 1)`, `between 1 and 1,000,000,000`."""
        low, high = _bound_text(self.low), _bound_text(self.high)
        if self.high is None:
            return f"{'>=' if self._left_closed else '>'} {low}"
        if self.closed == "both":
            return f"between {low} and {high}"
        left, right = "[" if self._left_closed else "(", "]" if self._right_closed else ")"
        return f"in {left}{low}, {high}{right}"


def _bound_text(x: float | None) -> str:
    if x is None:
        return ""
    return "2^63 - 1" if x == 2**63 - 1 else f"{x:,}" if isinstance(x, int) else f"{x:g}"


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


_KINDS: dict[Any, Kind] = {int: "whole", float: "number", bool: "flag", str: "text"}


def rows(cls: type) -> tuple[Setting, ...]:
    """One `Setting` per field of the dataclass `cls`, in order, its kind read off the field's type."""
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
