"""Recipe files: the recipes shipped with nnfun (`nnfun/recipes/*.toml`), and a user's own TOML file.

The only module of `nnfun.recipes` that reads files; the rest of the package is pure.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .toml_text import parse_settings


def recipe_names() -> list[str]:
    """The recipes shipped with nnfun (`nnfun/recipes/*.toml`)."""
    folder = resources.files("nnfun.recipes")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def recipe_text(name: str) -> str:
    """The TOML source of a shipped recipe."""
    if name not in recipe_names():
        raise ConfigError(f"no recipe {name!r}; choose one of: {', '.join(recipe_names())}")
    return (resources.files("nnfun.recipes") / f"{name}.toml").read_text()


def load_recipe(name: str) -> dict[str, Any]:
    """The settings of a shipped recipe."""
    return parse_settings(recipe_text(name), f"recipe {name!r}")


def describe(name: str) -> str:
    """The first comment line of a recipe: what it is for."""
    for line in recipe_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


MAX_CONFIG_BYTES = 1 << 20  # a settings file is a few hundred bytes


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings in a user's TOML file (same keys as config.json)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist or is not a file")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is over 1 MB: not a settings file")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a UTF-8 text file") from None
    return parse_settings(text, str(path))
