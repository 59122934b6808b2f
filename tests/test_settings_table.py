"""The table of settings: one row per setting, and everything else derived from it.

A new setting is one `setting(...)` field plus its use: these tests add one (`width_scale`) to a
Config and find it range-checked, parsed from text, written to TOML and read back, and offered
as an option of a command, without touching any other code.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import nnfun as nf
from nnfun.recipes import parse_settings, to_toml
from nnfun.recipes.settings import NET, SETTINGS, Config, settings_of
from nnfun.recipes.table import Interval, setting
from nnfun_cli.options import given_settings, with_setting_options

Extended = dataclasses.make_dataclass(
    "Extended",
    [
        (
            "width_scale",
            float,
            setting(
                1.0, "Multiply every hidden width by this.", NET, bounds=Interval(0, 8, "right")
            ),
        )
    ],
    bases=(Config,),
    frozen=True,
)


def test_a_new_row_is_checked_for_type_and_range() -> None:
    assert Extended().width_scale == 1.0  # type: ignore[attr-defined]
    assert Extended(width_scale=2.5).width_scale == 2.5  # type: ignore[call-arg,attr-defined]
    with pytest.raises(nf.ConfigError, match=r"width_scale must be in \(0, 8\] \(got 9.0\)"):
        Extended(width_scale=9.0)  # type: ignore[call-arg]
    with pytest.raises(nf.ConfigError, match="width_scale must be a number"):
        Extended.from_dict({"width_scale": "big"})  # type: ignore[attr-defined]


def test_a_new_row_round_trips_through_toml_and_text() -> None:
    config = Extended.from_dict({"width_scale": 0.5, "hidden": [64]})  # type: ignore[attr-defined]
    assert Extended.from_dict(parse_settings(to_toml(config.to_dict()), "saved")) == config  # type: ignore[attr-defined]
    row = next(s for s in settings_of(Extended) if s.name == "width_scale")
    assert row.parse(" 0.25 ") == 0.25 and row.text(0.25) == "0.25"
    assert row.flag == "--width-scale"


def test_a_new_row_is_an_option_of_a_command() -> None:
    seen: dict[str, Any] = {}

    def command(ctx: typer.Context, **settings: Any) -> None:
        seen.update(given_settings(ctx, settings_of(Extended)))

    app = typer.Typer()
    app.command()(with_setting_options(command, settings_of(Extended)))
    runner = CliRunner()
    assert "--width-scale" in runner.invoke(app, ["--help"]).output
    result = runner.invoke(app, ["--width-scale", "3", "--hidden", "64,32"])
    assert result.exit_code == 0, result.output
    assert seen == {"width_scale": 3.0, "hidden": (64, 32)}
    assert Extended.from_dict(seen).width_scale == 3.0  # type: ignore[attr-defined]


def test_every_setting_has_a_row_with_help_and_a_panel() -> None:
    assert [s.name for s in SETTINGS] == [f.name for f in dataclasses.fields(Config)]
    assert all(s.rules.help.endswith(".") and s.rules.panel for s in SETTINGS)
    assert all(s.default == getattr(Config(), s.name) for s in SETTINGS)


@pytest.mark.parametrize("setting_row", SETTINGS, ids=lambda s: s.name)
def test_the_default_survives_its_own_text(setting_row: Any) -> None:
    """What `--help` shows as a default parses back to the default."""
    assert setting_row.parse(setting_row.text(setting_row.default)) == setting_row.default


@pytest.mark.parametrize(
    ("interval", "inside", "outside", "words"),
    [
        (Interval(0), [0, 5], [-1], ">= 0"),
        (Interval(0, closed="neither"), [1e-9], [0], "> 0"),
        (Interval(0, 1, "left"), [0, 0.5], [1], "in [0, 1)"),
        (Interval(0, 100, "neither"), [50], [0, 100], "in (0, 100)"),
        (Interval(1, 10), [1, 10], [0, 11], "between 1 and 10"),
    ],
)
def test_intervals_say_what_they_hold(
    interval: Interval, inside: list[float], outside: list[float], words: str
) -> None:
    assert all(v in interval for v in inside) and not any(v in interval for v in outside)
    assert str(interval) == words


def test_zero_turns_an_off_setting_off_everywhere() -> None:
    clip = next(s for s in SETTINGS if s.name == "clip")
    assert nf.Config(clip=0).clip is None and clip.parse("0") is None and clip.text(None) == "0"
    assert "clip = 0" in to_toml(nf.Config(clip=None).to_dict())
