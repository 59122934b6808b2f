"""The fixed lists behind options: typed as `Literal`s so `--help` lists them and tab completes them.

The values are the Config's own strings (`"sgd"`, `"cosine"`), so they go into a Config as they
are. Recipes are files shipped with nnfun, so their list is read from the package; a dataset is
any subfolder of the data folder, so it stays free text and completion offers the ones present.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import typer

from nnfun.io.datasets import FILES, find_file, resolve_data_dir
from nnfun.io.recipes import recipe_names
from nnfun.recipe import OptimizerName, ScheduleName

__all__ = ["OptimizerName", "RecipeName", "ScheduleName", "complete_dataset"]

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
