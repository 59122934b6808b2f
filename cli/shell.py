"""What every command shares: the consoles, exit codes, one-line errors.

Three rules hold for everything the commands print, so no command has to remember them:

* User text (paths, file names, option values, hints) is printed literally: the consoles never
  read Rich markup or emoji codes, and styled parts are built as `Text`, not as `[bold]` tags.
* Output that goes to a pipe or a file is never wrapped or cut, whatever `COLUMNS` says: lines
  stay whole for `tail`, `grep` and `cut`, and tables take their natural width. A terminal still
  gets lines and tables that fit it.
* A reader that goes away (`nnfun eval RUN | head -1`) ends the command quietly with success.

Colour follows Rich's rules: none when `NO_COLOR` is set (https://no-color.org), none and no
cursor movement on `TERM=dumb`, none into a pipe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TextIO, cast

import orjson
import typer
from rich.console import Console, ConsoleDimensions
from rich.text import Text

from nnfun.errors import ConfigError, DivergedError, NnfunError
from nnfun_cli.advice import with_advice

# Exit codes, documented in the README.
OK, FAILED, BAD_INPUT, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 130

PIPE_WIDTH = 1_000_000
"""Width of a console that is not a terminal: in effect, no wrapping at all."""


def quit_on_broken_pipe() -> NoReturn:
    """The reader of stdout has gone (`| head -1`): nothing more to say, and nothing failed.

    stdout is pointed at /dev/null first, so the interpreter's last flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit(OK)


class ShellConsole(Console):
    """A Rich console that prints user text literally and does not wrap into a pipe."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False)

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; a pipe or file is as wide as any line."""
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size

    @property
    def fit_width(self) -> int:
        """The width a drawing is laid out to: the terminal's, or `COLUMNS` (else 80) in a pipe.

        Lines of text are never wrapped to it; a drawing (a digit, a sparkline) is a picture
        that should fit the screen it will be read on.
        """
        return Console.size.fget(self).width  # type: ignore[attr-defined]

    @property
    def draws_in_colour(self) -> bool:
        """True when colours reach the reader: a colour terminal and no `NO_COLOR`."""
        return self.color_system is not None and not self.no_color

    def on_broken_pipe(self) -> None:
        quit_on_broken_pipe()


out = ShellConsole()
err = ShellConsole(stderr=True)


class _BrokenPipeGuard:
    """Wraps sys.stdout so that every writer (Rich, print, Typer's help) ends quietly on EPIPE."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            quit_on_broken_pipe()

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            quit_on_broken_pipe()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Install the broken-pipe guard on sys.stdout (once, at the entry point)."""
    if not isinstance(sys.stdout, _BrokenPipeGuard):
        sys.stdout = cast(TextIO, _BrokenPipeGuard(sys.stdout))


def emit(text: str) -> None:
    """Write `text` to stdout exactly as it is (JSON, TOML) and flush it."""
    sys.stdout.write(text)
    sys.stdout.flush()


def emit_json(document: Any) -> None:
    """One JSON document on one line of stdout."""
    emit(orjson.dumps(document).decode() + "\n")


def error_line(message: str) -> Text:
    """`error: <message>`, the message taken literally."""
    return Text.assemble(("error:", "bold red"), " ", message)


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Print one line `error: ...` on stderr and return the Exit to raise."""
    err.print(error_line(message))
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
        raise fail(with_advice(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", INTERRUPTED) from None
    except MemoryError as exc:
        raise fail(f"not enough memory ({exc or 'MemoryError'})", FAILED) from None
    except OSError as exc:  # a path the OS refuses: too long, a link loop, no permission...
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from None


def parse_ints(text: str, name: str) -> tuple[int, ...]:
    """`"1024,512"` -> `(1024, 512)`, or a ConfigError naming the flag."""
    try:
        values = tuple(int(part) for part in text.split(",")) if text.strip() else ()
    except ValueError:  # also an empty entry, as in 1,,2
        raise ConfigError(
            f"{name} takes whole numbers separated by commas, e.g. 1024,512 (got {text!r})"
        ) from None
    if not values and name == "--hidden":
        raise ConfigError(
            f"{name} needs at least one layer width, e.g. 1024 or 1024,512 (got {text!r})"
        )
    return values
