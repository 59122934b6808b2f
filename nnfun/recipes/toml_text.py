"""Recipes as TOML text: what `config.toml`, `--config` files and the shipped recipes hold."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError


def parse_settings(text: str, source: str) -> dict[str, Any]:
    """TOML text to a settings dict, as written (the `Config` reads `clip = 0` as no clipping)."""
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML ({exc})") from None
    except RecursionError:  # tomllib parses nested arrays recursively
        raise ConfigError(f"{source} nests arrays too deeply to be settings") from None
    return settings


def to_toml(settings: Mapping[str, Any]) -> str:
    """Flat settings as TOML that `parse_settings` reads back to the same config.

    TOML has no null: a setting that is off (None) is written as 0, which turns it off again.
    """
    lines = []
    for key, value in settings.items():
        if value is None:
            value = 0
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(value, list | tuple):
            text = "[" + ", ".join(repr(v) for v in value) + "]"
        else:
            text = repr(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"
