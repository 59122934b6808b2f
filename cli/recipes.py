"""Recipes as data: TOML files of `Config` settings, merged as recipe < --config file < flags."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from nnfun.errors import ConfigError


def recipe_names() -> list[str]:
    """The recipes shipped with nnfun (`cli/recipes/*.toml`)."""
    folder = resources.files("nnfun_cli") / "recipes"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def recipe_text(name: str) -> str:
    """The TOML source of a shipped recipe."""
    if name not in recipe_names():
        raise ConfigError(f"no recipe {name!r}; choose one of: {', '.join(recipe_names())}")
    return (resources.files("nnfun_cli") / "recipes" / f"{name}.toml").read_text()


def parse_settings(text: str, source: str) -> dict[str, Any]:
    """TOML text to a settings dict (`null` clip written as 0 in TOML means no clipping)."""
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML ({exc})") from None
    if "clip" in settings and not settings["clip"]:
        settings["clip"] = None
    return settings


def load_recipe(name: str) -> dict[str, Any]:
    """The settings of a shipped recipe."""
    return parse_settings(recipe_text(name), f"recipe {name!r}")


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings in a user's TOML file (same keys as config.json)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read --config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--config {path} is not a text file") from None
    return parse_settings(text, str(path))


def describe(name: str) -> str:
    """The first comment line of a recipe: what it is for."""
    for line in recipe_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def to_toml(settings: dict[str, Any]) -> str:
    """Flat settings as TOML that `--config` reads back to the same `Config` (None clip as 0)."""
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
