"""What every command shares: the consoles, exit codes, one-line errors, common options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nnfun.errors import ConfigError, DivergedError, NnfunError

# Exit codes, documented in the README.
OK, FAILED, BAD_INPUT, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 130

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Print one line `error: ...` on stderr and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's errors into one line and an exit code, never a traceback."""
    try:
        yield
    except DivergedError as exc:
        advice = f"; try a smaller learning rate, e.g. --lr {exc.lr / 10:g}" if exc.lr else ""
        raise fail(f"{exc}{advice}", DIVERGED) from None
    except NnfunError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", INTERRUPTED) from None


def parse_ints(text: str, name: str) -> tuple[int, ...]:
    """`"1024,512"` -> `(1024, 512)`, or a ConfigError naming the flag."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"{name} takes whole numbers separated by commas, e.g. 1024,512 (got {text!r})"
        ) from None
    if not values and name == "--hidden":
        raise ConfigError(
            f"{name} needs at least one layer width, e.g. 1024 or 1024,512 (got {text!r})"
        )
    return values


DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Folder holding `<dataset>/` with the IDX files [default: $NNFUN_DATA, else ./data].",
        show_default=False,
    ),
]
