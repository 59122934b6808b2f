"""The `nnfun` command: the imperative shell around the pure core in `nnfun/`.

Each command lives in its own module; this one only assembles them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

import nnfun
from nnfun_cli import help_format
from nnfun_cli.compare_command import compare
from nnfun_cli.eval_command import evaluate
from nnfun_cli.export_command import export
from nnfun_cli.gradcheck_command import gradcheck
from nnfun_cli.options import resolve_config
from nnfun_cli.predict_command import predict
from nnfun_cli.report_command import report
from nnfun_cli.serve.command import serve
from nnfun_cli.shell import guard_stdout, out
from nnfun_cli.sweep.command import EPILOG as SWEEP_EPILOG
from nnfun_cli.sweep.command import sweep
from nnfun_cli.train_command import list_recipes, train

__all__ = ["app", "main", "resolve_config"]

help_format.apply()

app = typer.Typer(
    help="nnfun: a handwritten-digit recogniser, a neural network written from first principles in NumPy.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_callback(value: bool) -> None:
    """`--version`: print it and stop before any command runs."""
    if value:
        out.print(f"nnfun {nnfun.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """nnfun: train, evaluate and use a digit recogniser written from scratch in NumPy."""


app.command()(train)
app.command(name="recipes")(list_recipes)
app.command(name="eval")(evaluate)
app.command()(gradcheck)
app.command()(predict)
app.command()(serve)
app.command()(report)
app.command()(compare)
app.command()(export)
app.command(epilog=SWEEP_EPILOG)(sweep)


def main() -> Any:
    """Console-script entry point: a closed pipe on stdout ends it quietly (see `shell`)."""
    guard_stdout()
    return app()
