"""The arguments and options that several commands share, each defined once.

Fixed lists are typed as `Literal`s so `--help` lists them and tab completes them. The values are
the Config's own strings (`"sgd"`, `"cosine"`), so they go into a Config as they are. Recipes are
files shipped with nnfun, so their list is read from the package; a dataset is any subfolder of
the data folder, so it stays free text and completion offers the ones present.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from nnfun.io.datasets import FILES, find_file, resolve_data_dir
from nnfun.recipes import OptimizerName, ScheduleName, recipe_names

__all__ = [
    "DataDir",
    "ModelPath",
    "OptimizerName",
    "RecipeName",
    "RunDir",
    "ScheduleName",
    "complete_dataset",
    "json_option",
]

if TYPE_CHECKING:
    RecipeName = str
else:  # the shipped recipes' names, read once: a Literal built at run time for Typer
    RecipeName = Literal[tuple(recipe_names())]


def complete_dataset(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tab completion for `--dataset`: "mnist" and the data folder's subfolders with IDX files."""
    data_dir = resolve_data_dir(ctx.params.get("data_dir"))
    names = {"mnist"}
    if data_dir.is_dir():
        names |= {
            folder.name
            for folder in data_dir.iterdir()
            if folder.is_dir() and any(find_file(data_dir, folder.name, f) for f in FILES.values())
        }
    return sorted(name for name in names if name.startswith(incomplete))


DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Folder holding `<dataset>/` with the IDX files [default: $NNFUN_DATA, else ./data].",
        show_default=False,
    ),
]
ModelPath = Annotated[
    Path, typer.Argument(help="A run folder, or a model.npz file.", show_default=False)
]
RunDir = Annotated[
    Path, typer.Argument(help="A run folder made by nnfun train.", show_default=False)
]


def json_option(what: str) -> Any:
    """`--json`: print `what` (e.g. "the metrics") as JSON only."""
    return typer.Option("--json", help=f"Print {what} as JSON only.")
