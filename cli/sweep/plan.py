"""A sweep as data: which settings vary and how, expanded into named trials. Pure: no files.

A grid (`--grid hidden=128,256 --grid lr=0.01,0.15`) runs every combination; with `--samples N`
each of N configurations instead picks every grid setting at random from its list and every
range (`--range lr=log:0.001..0.3`) from its interval. Each configuration runs once per seed.
A trial's folder name spells out its varied settings (`hidden-128_lr-0.01_seed-0`), so rerunning
the same sweep finds the same folders, and a grid that grows only adds folders.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnfun import Config
from nnfun.errors import ConfigError
from nnfun.recipes.settings import SETTINGS as TABLE
from nnfun.recipes.settings import setting_named

MAX_TRIALS = 10_000
"""The most trials one sweep plans; a larger grid or --samples is refused before any is made."""
MAX_SEED = 2**63 - 1
DEFAULTS = Config()
SETTINGS = tuple(s.name for s in TABLE)
LIST_SEPARATOR = "+"  # inside one value of a list setting: --grid hidden=512+512,1024


@dataclass(frozen=True)
class Range:
    """An interval to draw a setting from: uniformly, or uniformly in its logarithm."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(f"a range needs low < high (got {self.low:g}..{self.high:g})")
        if self.log and self.low <= 0:
            raise ConfigError(f"a log range needs low > 0 (got {self.low:g})")

    def draw(self, rng: np.random.Generator) -> float:
        if self.log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Spec:
    """What a sweep varies. Values are settings as `Config` takes them (tuples for layer lists)."""

    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    ranges: Mapping[str, Range] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    samples: int | None = None
    sample_seed: int | None = None  # seeds the random search; None means 0

    def varied(self) -> list[str]:
        """The settings that change from trial to trial (the seed is reported on its own)."""
        return [*self.grid, *self.ranges]


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: its folder name, varied values, seed and complete settings."""

    name: str
    varied: Mapping[str, Any]
    seed: int
    settings: Mapping[str, Any]


# --------------------------------------------------------------------------- parsing


def _check_key(key: str, flag: str) -> None:
    if key == "seed":
        raise ConfigError(f"vary the seed with --seeds 0,1,2, not {flag} seed=...")
    if key not in SETTINGS:
        raise ConfigError(f"{flag}: no setting {key!r}; settings: {', '.join(SETTINGS)}")


def _split_assignment(text: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, values = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key or not values.strip():
        raise ConfigError(f"{flag} takes SETTING=VALUES, e.g. {flag} {example} (got {text!r})")
    _check_key(key, flag)
    return key, values.strip()


def parse_value(key: str, text: str) -> Any:
    """One value of setting `key` from text: `0.01`, `1024`, `512+512` (layers), `true`, `adam`."""
    return setting_named(key).parse(text, LIST_SEPARATOR)


def parse_grid(text: str) -> tuple[str, tuple[Any, ...]]:
    """`"lr=0.01,0.15"` -> `("lr", (0.01, 0.15))`; repeated values are dropped."""
    key, values = _split_assignment(text, "--grid", "lr=0.01,0.05")
    parsed = [parse_value(key, part) for part in values.split(",") if part.strip()]
    return key, tuple(dict.fromkeys(parsed))


def parse_range(text: str) -> tuple[str, Range]:
    """`"lr=log:0.001..0.3"` -> `("lr", Range(0.001, 0.3, log=True))`; without `log:` uniform."""
    key, spec = _split_assignment(text, "--range", "lr=log:0.001..0.3")
    log = spec.startswith("log:")
    low, sep, high = spec.removeprefix("log:").partition("..")
    if not _is_numeric(key):
        raise ConfigError(f"--range is for numeric settings; give {key} values with --grid")
    try:
        return key, Range(float(low), float(high), log)
    except ConfigError:
        raise
    except ValueError:
        raise ConfigError(
            f"--range takes SETTING=LOW..HIGH or SETTING=log:LOW..HIGH, e.g. lr=log:0.001..0.3 (got {text!r})"
        ) from None


def _is_numeric(key: str) -> bool:
    """Whether a range can be drawn for `key`: a number, a count, or one layer's width."""
    return key == "hidden" or setting_named(key).kind in ("whole", "number")


def parse_seeds(text: str) -> tuple[int, ...]:
    """`"0,1,2"` -> `(0, 1, 2)`; a range `0..4` means 0, 1, 2, 3, 4."""
    low, sep, high = text.partition("..")
    try:
        if sep:
            if int(high) < int(low) or int(high) - int(low) >= MAX_TRIALS:
                raise ConfigError(
                    f"--seeds {text}: LOW..HIGH needs LOW <= HIGH, at most {MAX_TRIALS:,} seeds"
                )
            return tuple(range(int(low), int(high) + 1))
        return tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ConfigError:
        raise
    except ValueError:
        raise ConfigError(
            f"--seeds takes whole numbers, e.g. 0,1,2 or 0..4 (got {text!r})"
        ) from None


@dataclass(frozen=True)
class SweepFile:
    """A TOML sweep file: the base (recipe and settings) and the spec, as the flags would give them."""

    recipe: str | None
    name: str | None
    settings: Mapping[str, Any]
    spec: Spec
    ensemble: int | None = None


FILE_KEYS = (
    "name", "recipe", "seeds", "samples", "sample_seed", "ensemble", "settings", "grid", "range"
)  # fmt: skip


def parse_sweep_file(text: str, source: str) -> SweepFile:
    """Read a sweep file (see the README): `recipe`, `seeds`, `samples`, `ensemble`, `[settings]`,
    `[grid]`, `[range]`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML ({exc})") from None
    unknown = sorted(set(doc) - set(FILE_KEYS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(unknown)}; known: {', '.join(FILE_KEYS)}"
        )
    try:
        grid = {k: _grid_from_toml(k, v) for k, v in _table(doc, "grid").items()}
        ranges = {k: _range_from_toml(k, v) for k, v in _table(doc, "range").items()}
        seeds = _list(doc["seeds"], "seeds") if "seeds" in doc else []
        spec = Spec(
            grid=grid,
            ranges=ranges,
            seeds=tuple(dict.fromkeys(_whole(s, "seeds") for s in seeds)),
            samples=None if "samples" not in doc else _whole(doc["samples"], "samples"),
            sample_seed=None
            if "sample_seed" not in doc
            else _whole(doc["sample_seed"], "sample_seed"),
        )
        ensemble = None if "ensemble" not in doc else _whole(doc["ensemble"], "ensemble")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    recipe, name = doc.get("recipe"), doc.get("name")
    if not isinstance(recipe, str | None) or not isinstance(name, str | None):
        raise ConfigError(f"{source}: recipe and name are strings")
    return SweepFile(recipe, name, _table(doc, "settings"), spec, ensemble)


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table")
    return value


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key} must be a non-empty list")
    return value


def _whole(value: Any, key: str, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{key} must be a whole number >= 0 (got {value!r})")
    if high is not None and value > high:
        raise ConfigError(f"{key} must be at most {high:,} (got {value:,})")
    return value


def _grid_from_toml(key: str, values: Any) -> tuple[Any, ...]:
    """`hidden = [128, [512, 512]]`: each item one value; numbers are checked like flag values."""
    _check_key(key, "[grid]")
    items = _list(values, f"grid.{key}")
    return tuple(dict.fromkeys(parse_value(key, _toml_text(v)) for v in items))


def _toml_text(value: Any) -> str:
    """A TOML value written the way the flag would be: `[512, 512]` -> `512+512`, `true`."""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _range_from_toml(key: str, value: Any) -> Range:
    """`lr = { low = 0.001, high = 0.3, log = true }`."""
    _check_key(key, "[range]")
    if not isinstance(value, dict) or set(value) - {"low", "high", "log"}:
        raise ConfigError(
            f"range.{key} must be a table {{ low = ..., high = ..., log = true|false }}"
        )
    if not _is_numeric(key):
        raise ConfigError(f"ranges are for numeric settings; put {key} in [grid]")
    try:
        return Range(float(value["low"]), float(value["high"]), bool(value.get("log", False)))
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"range.{key} needs numbers low and high") from None


def merge(file: Spec, flags: Spec) -> Spec:
    """The flags over the file: a setting on the command line replaces the same one in the file."""
    grid = {k: v for k, v in file.grid.items() if k not in flags.ranges} | dict(flags.grid)
    ranges = {k: v for k, v in file.ranges.items() if k not in flags.grid} | dict(flags.ranges)
    return Spec(
        grid,
        ranges,
        flags.seeds or file.seeds,
        flags.samples if flags.samples is not None else file.samples,
        flags.sample_seed if flags.sample_seed is not None else file.sample_seed,
    )


# --------------------------------------------------------------------------- trials


def format_value(value: Any) -> str:
    """A setting value as it appears in a folder name: `0.01`, `512+512`, `true`, `off` (no clip)."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return LIST_SEPARATOR.join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def trial_name(varied: Mapping[str, Any], seed: int) -> str:
    """`hidden-128_lr-0.01_seed-0`: every varied setting and the seed, in the sweep's order."""
    return "_".join(f"{k}-{format_value(v)}" for k, v in [*varied.items(), ("seed", seed)])


def check_counts(spec: Spec) -> int:
    """The number of trials `spec` asks for, or ConfigError: counts and seeds are whole numbers
    >= 0, samples >= 1, and the sweep at most `MAX_TRIALS` trials (counted, not enumerated)."""
    for seed in spec.seeds:
        _whole(seed, "--seeds", MAX_SEED)
    if spec.sample_seed is not None:
        _whole(spec.sample_seed, "--sample-seed", MAX_SEED)
    if spec.samples is not None and _whole(spec.samples, "--samples") < 1:
        raise ConfigError("--samples must be at least 1")
    configurations = (
        spec.samples if spec.samples is not None else math.prod(len(v) for v in spec.grid.values())
    )
    count = configurations * max(1, len(spec.seeds))
    if count > MAX_TRIALS:
        raise ConfigError(
            f"this sweep has {count:,} trials; a sweep runs at most {MAX_TRIALS:,}: vary fewer "
            "settings, or draw some configurations with --samples"
        )
    return count


def expand(spec: Spec, base: Config) -> list[Trial]:
    """Every trial of the sweep, configurations in grid (or sampling) order, seeds innermost."""
    check_counts(spec)
    if spec.ranges and spec.samples is None:
        raise ConfigError(
            "--range draws random values: say how many configurations with --samples N"
        )
    if spec.samples == 0:
        raise ConfigError("--samples must be at least 1")
    if not spec.varied() and len(spec.seeds) < 2:
        raise ConfigError(
            "nothing to sweep: give --grid SETTING=A,B, --range with --samples, or --seeds 0,1,2"
        )
    empty = [k for k, v in spec.grid.items() if not v]
    if empty:
        raise ConfigError(f"--grid {empty[0]} has no values")
    seeds = spec.seeds or (base.seed,)
    trials = []
    for varied in _configurations(spec):
        for seed in seeds:
            name = trial_name(varied, seed)
            try:
                config = _trial_config(base, varied | {"seed": seed})
            except ConfigError as exc:
                raise ConfigError(f"trial {name}: {exc}") from None
            trials.append(Trial(name, varied, seed, _plain(config.to_dict())))
    return trials


def _trial_config(base: Config, changes: dict[str, Any]) -> Config:
    """The base with `changes`; a base setting they make meaningless goes back to its default.

    E.g. varying `elastic_alpha=0,34` over a recipe with `elastic_sigma = 6`: the trial without
    elastic distortions gets the default sigma, so its config.toml is a valid recipe again.
    """
    settings = base.to_dict() | changes
    while True:
        try:
            return Config.from_dict(settings)
        except ConfigError as exc:
            name = exc.setting
            if name is None or name in changes or settings[name] == getattr(DEFAULTS, name):
                raise
            settings[name] = getattr(DEFAULTS, name)


def _configurations(spec: Spec) -> Iterator[dict[str, Any]]:
    if spec.samples is None:
        keys = list(spec.grid)
        for values in itertools.product(*(spec.grid[k] for k in keys)):
            yield dict(zip(keys, values, strict=True))
        return
    rng = np.random.default_rng(np.random.SeedSequence(spec.sample_seed or 0))
    seen: set[str] = set()
    for _ in range(50 * spec.samples):  # a small grid may have fewer distinct points than asked
        varied = {k: v[int(rng.integers(len(v)))] for k, v in spec.grid.items()}
        varied |= {k: _sampled(k, r.draw(rng)) for k, r in spec.ranges.items()}
        name = trial_name(varied, 0)
        if name not in seen:
            seen.add(name)
            yield varied
        if len(seen) == spec.samples:
            return


def _sampled(key: str, value: float) -> Any:
    """A drawn number as the setting takes it: whole for counts, 3 significant digits for rates."""
    kind = setting_named(key).kind
    if kind == "whole list":
        return (round(value),)
    if kind == "whole":
        return round(value)
    return float(f"{value:.3g}")


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with lists for tuples, exactly as `config.json` holds them."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def default_name(spec: Spec) -> str:
    """The sweep's folder name when none is given: its varied settings, e.g. `hidden-lr`."""
    return "-".join(spec.varied()) or "seeds"
