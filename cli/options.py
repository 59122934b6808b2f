"""The arguments and options that several commands share, each defined once.

The settings of a run are options of `train` and `sweep` alike, made from the table of settings,
and come together the same way for both: recipe, then the --config file, then the flags.

Fixed lists are typed as `Literal`s so `--help` lists them and tab completes them. The values are
the Config's own strings (`"sgd"`, `"cosine"`), so they go into a Config as they are. Recipes are
files shipped with nnfun, so their list is read from the package; a dataset is any subfolder of
the data folder, so it stays free text and completion offers the ones present.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

from nnfun.errors import ConfigError
from nnfun.io.datasets import FILES, find_file, resolve_data_dir
from nnfun.recipes import (
    Config,
    OptimizerName,
    ScheduleName,
    load_config_file,
    load_recipe,
    recipe_names,
)
from nnfun.recipes.settings import SETTINGS
from nnfun.recipes.table import Setting

__all__ = [
    "DataDir",
    "ModelPath",
    "ModelPaths",
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
ModelPaths = Annotated[
    list[Path],
    typer.Argument(
        help="A run folder or a model.npz file; several make an ensemble.", show_default=False
    ),
]
RunDir = Annotated[
    Path, typer.Argument(help="A run folder made by nnfun train.", show_default=False)
]


def json_option(what: str) -> Any:
    """`--json`: print `what` (e.g. "the metrics") as JSON only."""
    return typer.Option("--json", help=f"Print {what} as JSON only.")


# --------------------------------------------------------------------------- the settings as options

COMPLETION = {"dataset": complete_dataset}
"""Tab completion for the free-text settings (choices complete by themselves)."""

_TYPES: dict[str, Any] = {"whole": int, "number": float, "flag": bool, "text": str}


def setting_option(s: Setting) -> inspect.Parameter:
    """A keyword-only parameter that Typer reads as the option for setting `s`.

    Its type, default, help text and panel come from the table; a list is typed as text and
    parsed by the table's parser (`1024,512`), and a choice is a `Literal`, so `--help` lists it
    and the shell completes it.
    """
    kind: Any = _TYPES.get(s.kind, str)
    if s.kind == "choice":
        kind = Literal[s.choices]
    option = typer.Option(
        *s.rules.flags,
        help=s.rules.help,
        rich_help_panel=s.rules.panel,
        metavar="<name>" if s.kind == "choice" else None,
        autocompletion=COMPLETION.get(s.name),
    )
    default = s.text(s.default) if s.kind == "whole list" else s.default
    return inspect.Parameter(
        s.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option]
    )


Command = TypeVar("Command", bound=Callable[..., None])


def with_setting_options(command: Command, table: Sequence[Setting] = SETTINGS) -> Command:
    """`command`, which takes `**settings`, with one option per setting in its signature."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    setattr(  # noqa: B010 (Typer reads the signature)
        command,
        "__signature__",
        signature.replace(parameters=[*own, *(setting_option(s) for s in table)]),
    )
    return command


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed this option (rather than it taking its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def given_settings(ctx: typer.Context, table: Sequence[Setting] = SETTINGS) -> dict[str, Any]:
    """The settings the user typed as flags, as the Config takes them (lists parsed from text)."""
    flags = {s.name: ctx.params[s.name] for s in table if given(ctx, s.name)}
    try:
        return {
            s.name: s.parse(flags[s.name]) if s.kind == "whole list" else flags[s.name]
            for s in table
            if s.name in flags
        }
    except ConfigError as exc:
        raise in_flag_terms(exc, flags) from None


def _flag(name: str) -> str:
    """The flag of a setting (`--ema` for ema_decay), or of another option (`--sizes`)."""
    known = [s for s in SETTINGS if s.name == name]
    return known[0].flag if known else "--" + name.replace("_", "-")


def in_flag_terms(
    exc: ConfigError, flags: Mapping[str, Any], config_file: Path | None = None
) -> ConfigError:
    """The core names settings (`batch_size`); say where the bad one came from.

    A value typed as a flag is named as that flag; one from the --config file gets the file's name.
    """
    name = exc.setting
    if name is None:
        return exc
    if name not in flags:
        return ConfigError(f"{config_file}: {exc}", setting=name) if config_file else exc
    flag = _flag(name)
    message = str(exc)
    message = flag + message[len(name) :] if message.startswith(name) else f"{flag}: {message}"
    return ConfigError(message, setting=name)


def resolve_config(recipe: str, config_file: Path | None, flags: Mapping[str, Any]) -> Config:
    """Recipe, then the --config file, then the flags the user typed: later ones win."""
    settings = load_recipe(recipe)
    from_file = load_config_file(config_file) if config_file is not None else {}
    try:
        return Config.from_dict(settings | from_file | dict(flags))
    except ConfigError as exc:
        where = config_file if exc.setting in from_file else None
        raise in_flag_terms(exc, flags, where) from None
