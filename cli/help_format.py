"""Two corrections to how Typer prints `--help`, applied once when the app is built.

Recent Typer versions print a flag's Python type as if it took a value (`--json <bool>`,
`-h <bool>`) and wrap required arguments in braces in the usage line (`{model} {files}...`).
A flag takes no value, and the usual convention for a required argument is its name alone
(`MODEL FILES...`), optional ones in brackets. `tests/test_terminal.py` reads every command's
help to keep it that way, whatever Typer's version. (Typer vendors its own Click: nothing here
imports `click`, which an install of nnfun need not have.)
"""

from __future__ import annotations

import functools
import re
from typing import Any

from typer import core

_LIST = re.compile(r"list\[(\w+)\]")


def _value_type(original: Any) -> Any:
    """A flag shows no type; a repeatable value shows its item's type (`<path>`, not `<list[Path]>`)."""

    @functools.wraps(original)
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False):
            return None
        text = original(self, ctx)
        return _LIST.sub(lambda m: m.group(1).lower(), text) if text else text

    return display_type_rich


def _usage_name(self: core.TyperArgument) -> str:
    name = (self.metavar or self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def apply() -> None:
    """Flags show no type, lists their item's; required arguments show as `NAME`, optional ones as `[NAME]`."""
    if not hasattr(core.TyperOption.display_type_rich, "__wrapped__"):  # once only
        core.TyperOption.display_type_rich = _value_type(core.TyperOption.display_type_rich)  # type: ignore[method-assign]
        core.TyperArgument.display_type_rich = _value_type(core.TyperArgument.display_type_rich)  # type: ignore[method-assign]
    if hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
