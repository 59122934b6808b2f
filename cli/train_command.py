"""`nnfun train` and `nnfun recipes`: settings from recipe, --config file and flags; the run."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from nnfun import Config, Params, TrainState, recipes
from nnfun.errors import ConfigError, DivergedError, NnfunError
from nnfun.io.checkpoints import load_checkpoint
from nnfun.io.datasets import Dataset, load_dataset, resolve_data_dir
from nnfun.io.fitting import RunExists, is_finished, new_run_dir
from nnfun.io.lock import check_free
from nnfun.io.preflight import check_trainable
from nnfun.io.runs import CHECKPOINT, CONFIG_JSON, HISTORY, METRICS, MODEL
from nnfun.recipes.settings import setting_named
from nnfun_cli import loading_display, plots, progress
from nnfun_cli.options import (
    DataDir,
    RecipeName,
    given,
    given_settings,
    in_flag_terms,
    resolve_config,
    with_setting_options,
)
from nnfun_cli.shell import INTERRUPTED, emit, err, fail, out, user_errors
from nnfun_cli.tables import percent, titled

RUN = "Run"


def _opt(help: str, *names: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=RUN, **kwargs)


def train(
    ctx: typer.Context,
    data_dir: DataDir = None,
    out_dir: Annotated[
        Path | None,
        _opt(
            "Run folder to create [default: a new folder under results/].",
            "--out",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        _opt("Continue the run in this folder from its last checkpoint.", show_default=False),
    ] = None,
    recipe: Annotated[
        RecipeName, _opt("Start from a shipped recipe (see `nnfun recipes`); flags override it.")
    ] = "seed",
    config_file: Annotated[
        Path | None,
        _opt(
            "TOML file of settings (keys as in config.json), applied over the recipe.",
            "--config",
            show_default=False,
        ),
    ] = None,
    figures: Annotated[bool, _opt("Draw the PNG figures at the end (needs nnfun[plots]).")] = True,
    **settings: Any,
) -> None:
    """Train a network. By default the seed recipe: 784-1024-10, SGD + momentum, 80 epochs.

    Shows progress, then writes model.npz, config.json, history.json, metrics.json and figures to
    the run folder. Ctrl-C stops after the current batch and keeps the last finished epoch.
    """
    with user_errors():
        flags = given_settings(ctx)
        state = None
        for folder in (resume, out_dir):  # a run folder that another process is writing
            if folder is not None:
                check_free(folder)
        if resume is not None:
            state, config = _resume(ctx, resume, flags)
        else:
            config = resolve_config(recipe, config_file, flags)
        data = _load_data(config, resolve_data_dir(data_dir))
        try:  # everything is checked before the run folder exists
            check_trainable(config, data, state)
        except ConfigError as exc:
            raise in_flag_terms(exc, flags) from None
        if state is not None:
            err.print(f"resuming {resume} after epoch {state.epoch}/{config.epochs}")
        created = resume is None and (out_dir is None or not os.path.lexists(out_dir))
        run_dir = resume or _new_run_dir(out_dir)
        _run_and_report(config, data, run_dir, state.epoch if state else 0, figures, created)


with_setting_options(train)


def _new_run_dir(out_dir: Path | None) -> Path:
    """The run folder to create, or an error that says which flag to change."""
    try:
        return new_run_dir(out_dir)
    except RunExists as exc:
        raise NnfunError(
            f"{exc}; pick another --out, or continue it with --resume {out_dir}"
        ) from None
    except NnfunError as exc:
        raise NnfunError(f"{exc}; choose another --out") from None


def _resume(ctx: typer.Context, run_dir: Path, flags: dict[str, Any]) -> tuple[TrainState, Config]:
    """The checkpoint to continue; flags that would change the run are refused, as is a finished run."""
    ignored = [flag for name, flag in RUN_OPTIONS.items() if given(ctx, name)]
    ignored += [", ".join(setting_named(k).flag for k in flags)] if flags else []
    if ignored:
        raise ConfigError(
            "--resume continues a run with its saved settings in its own folder; "
            f"drop {', '.join(ignored)}"
        )
    state, config = load_checkpoint(run_dir)
    if state.epoch >= config.epochs and is_finished(run_dir):
        raise NnfunError(
            f"{run_dir} has already finished ({state.epoch} epochs); nothing to resume "
            f"(see nnfun report {run_dir})"
        )
    return state, config


RUN_OPTIONS = {"out_dir": "--out", "config_file": "--config", "recipe": "--recipe"}


def list_recipes(
    name: Annotated[
        RecipeName | None,
        typer.Argument(
            help="Print this recipe's TOML (to start a --config file).", show_default=False
        ),
    ] = None,
) -> None:
    """List the shipped training recipes, or print one as TOML."""
    with user_errors():
        if name is not None:
            emit(recipes.recipe_text(name))
            return
        table = Table()
        table.add_column("name", style="bold")
        table.add_column("what it is")
        for recipe_name in recipes.recipe_names():
            table.add_row(recipe_name, recipes.describe(recipe_name))
        out.print(titled("Recipes (nnfun train --recipe NAME)", table))


def _load_data(config: Config, data_dir: Path) -> Dataset:
    """The dataset named in the config, downloading MNIST if it is missing."""
    with loading_display.loading(err, f"loading {config.dataset} from {data_dir}") as shown:
        return load_dataset(config.dataset, data_dir, log=shown.log, progress=shown.progress)


def _write_figures(run_dir: Path, params: Params, data: Dataset) -> None:
    """The run's PNG figures, or one line saying why there are none; the results stand either way."""
    try:
        with err.status("drawing the figures"):
            written = plots.write_run_figures(run_dir, params, data.test_x, data.test_y)
    except NnfunError as exc:  # PlotsUnavailable's message is already the hint
        prefix = "" if isinstance(exc, plots.PlotsUnavailable) else "figures not written: "
        err.print(f"{prefix}{exc}")
        return
    err.print(f"figures: {', '.join(p.name for p in written)}")


def _run_and_report(
    config: Config, data: Dataset, run_dir: Path, done: int, figures: bool, created: bool
) -> None:
    """Train with progress into `run_dir`, then write the figures and say where the results are."""
    sizes = "-".join(map(str, (data.train_x.shape[1], *config.hidden, 10)))
    err.print(f"training {sizes} on {config.dataset} into {run_dir}")
    try:
        metrics, params = progress.fit_with_progress(config, run_dir, data, done, err)
    except (progress.Interrupted, KeyboardInterrupt) as exc:
        how = (
            "interrupted" if isinstance(exc, progress.Interrupted) else "interrupted again, at once"
        )
        raise fail(f"{how}; {_what_was_saved(run_dir, created)}", INTERRUPTED) from None
    except DivergedError as exc:  # resuming would diverge again: no resume command here
        saved = _what_was_saved(run_dir, created, resume=False)
        raise DivergedError(f"{exc}; {saved}", lr=exc.lr) from None
    if figures:
        _write_figures(run_dir, params, data)
    out.print(
        Text.assemble(
            "test accuracy ",
            (f"{metrics['test_accuracy']:.2%}", "bold"),
            f"  (train {metrics['train_accuracy']:.2%}, "
            f"val {percent(metrics['val_accuracy'])}, "
            f"{metrics['train_seconds']:.0f} s of training)",
        )
    )
    # The folder alone is the last line of stdout, for scripts: RUN=$(nnfun train | tail -1).
    err.print(f"{MODEL}, {METRICS}, {HISTORY} and {CONFIG_JSON} are in:")
    out.print(Text(str(run_dir), style="bold"))


def _what_was_saved(run_dir: Path, created: bool, resume: bool = True) -> str:
    """The true state of a stopped run's folder: its last checkpoint, or nothing at all."""
    if (run_dir / CHECKPOINT).exists():
        try:
            epoch = load_checkpoint(run_dir)[0].epoch
        except NnfunError:
            return f"its last checkpoint is in {run_dir}"
        if not resume:
            return f"the last good checkpoint, after epoch {epoch}, is in {run_dir}"
        return f"{epoch} finished epoch(s) are saved in {run_dir}. Resume with: nnfun train --resume {run_dir}"
    if created:
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # empty: fit_in_folder took back the settings it had written
    return "it stopped in its first epoch, before anything was saved"
