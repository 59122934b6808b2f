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
from nnfun.io.fitting import is_finished, new_run_dir
from nnfun.io.lock import check_free
from nnfun.io.preflight import check_trainable
from nnfun.io.runs import CHECKPOINT, CONFIG_JSON, HISTORY, METRICS, MODEL
from nnfun_cli import loading_display, plots, progress
from nnfun_cli.options import (
    DataDir,
    OptimizerName,
    RecipeName,
    ScheduleName,
    complete_dataset,
)
from nnfun_cli.shell import (
    INTERRUPTED,
    emit,
    err,
    fail,
    out,
    parse_ints,
    user_errors,
)
from nnfun_cli.tables import titled

D = Config()  # the seed recipe: every default below comes from here

RUN, NET, SCHED, REG = (
    "Run",
    "Network and optimizer",
    "Learning-rate schedule",
    "Regularisation and augmentation",
)


def _opt(help: str, panel: str, **kwargs: Any) -> Any:
    return typer.Option(help=help, rich_help_panel=panel, **kwargs)


def train(
    ctx: typer.Context,
    data_dir: DataDir = None,
    dataset: Annotated[
        str,
        _opt(
            "Subfolder of the data dir with the four IDX files (mnist is downloaded if missing).",
            RUN,
            autocompletion=complete_dataset,
        ),
    ] = D.dataset,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Run folder to create [default: a new folder under results/].",
            show_default=False,
            rich_help_panel=RUN,
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        _opt("Continue the run in this folder from its last checkpoint.", RUN, show_default=False),
    ] = None,
    recipe: Annotated[
        RecipeName,
        _opt("Start from a shipped recipe (see `nnfun recipes`); flags override it.", RUN),
    ] = "seed",
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of settings (keys as in config.json), applied over the recipe.",
            show_default=False,
            rich_help_panel=RUN,
        ),
    ] = None,
    figures: Annotated[
        bool, _opt("Draw the PNG figures at the end (needs nnfun[plots]).", RUN)
    ] = True,
    seed: Annotated[
        int, _opt("Seed for weights, split, shuffling, dropout: same seed, same run.", RUN)
    ] = D.seed,
    val_size: Annotated[int, _opt("Training images held out for validation.", RUN)] = D.val_size,
    epochs: Annotated[int, _opt("Passes over the training set.", NET)] = D.epochs,
    hidden: Annotated[
        str, _opt("Hidden layer widths, comma-separated: 1024 or 1024,1024.", NET)
    ] = "1024",
    batch_size: Annotated[int, _opt("Images per gradient step.", NET)] = D.batch_size,
    optimizer: Annotated[
        OptimizerName,
        _opt("sgd (with momentum), nesterov, adam or adamw.", NET, metavar="<name>"),
    ] = D.optimizer,
    lr: Annotated[float, _opt("Initial (peak) learning rate.", NET)] = D.lr,
    momentum: Annotated[float, _opt("Momentum of SGD.", NET)] = D.momentum,
    weight_decay: Annotated[
        float, _opt("L2 added to the gradient (g + wd * w); decoupled for adamw.", NET)
    ] = D.weight_decay,
    clip: Annotated[
        float, _opt("Clip each gradient value to [-clip, clip]; 0 turns it off.", NET)
    ] = 5.0,
    schedule: Annotated[
        ScheduleName,
        _opt(
            "Learning-rate schedule after the warm-up: step, cosine, onecycle or constant.",
            SCHED,
            metavar="<name>",
        ),
    ] = D.schedule,
    milestones: Annotated[
        str, _opt("Epochs at which a step schedule multiplies the rate by gamma.", SCHED)
    ] = "30,50,65",
    gamma: Annotated[float, _opt("Learning-rate factor at each milestone.", SCHED)] = D.gamma,
    warmup: Annotated[
        float, _opt("Epochs of linear warm-up before the schedule.", SCHED)
    ] = D.warmup,
    dropout: Annotated[
        float, _opt("Dropout rate on hidden layers (inverted dropout).", REG)
    ] = D.dropout,
    input_dropout: Annotated[float, _opt("Dropout rate on input pixels.", REG)] = D.input_dropout,
    label_smoothing: Annotated[
        float, _opt("Mix this much of a uniform target into the one-hot labels.", REG)
    ] = D.label_smoothing,
    shift: Annotated[
        float, _opt("Random translation of training images, up to this many pixels.", REG)
    ] = D.shift,
    rotate: Annotated[float, _opt("Random rotation, up to this many degrees.", REG)] = D.rotate,
    scale: Annotated[
        float, _opt("Random scaling by up to this fraction (0.1 = +-10 %).", REG)
    ] = D.scale,
    elastic_alpha: Annotated[
        float, _opt("Strength of elastic distortions (Simard et al.; 0 = off).", REG)
    ] = D.elastic_alpha,
    elastic_sigma: Annotated[
        float, _opt("Smoothness of elastic distortions, in pixels.", REG)
    ] = D.elastic_sigma,
    keep_best: Annotated[
        bool, _opt("Deliver the weights of the best validation epoch.", REG)
    ] = D.keep_best,
    ema_decay: Annotated[
        float,
        typer.Option(
            "--ema",
            "--ema-decay",
            help="Average the weights (EMA, e.g. 0.999): validate, keep and save the average; 0 = off.",
            rich_help_panel=REG,
        ),
    ] = D.ema_decay,
) -> None:
    """Train a network. By default the seed recipe: 784-1024-10, SGD + momentum, 80 epochs.

    Shows progress, then writes model.npz, config.json, history.json, metrics.json and figures to
    the run folder. Ctrl-C stops after the current batch and keeps the last finished epoch.
    """
    with user_errors():
        flags = {k: v for k, v in ctx.params.items() if k not in NOT_SETTINGS and _given(ctx, k)}
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
            raise _where(exc, flags, None) from None
        if state is not None:
            err.print(f"resuming {resume} after epoch {state.epoch}/{config.epochs}")
        created = resume is None and (out_dir is None or not os.path.lexists(out_dir))
        run_dir = resume or new_run_dir(out_dir)
        _run_and_report(config, data, run_dir, state.epoch if state else 0, figures, created)


def _resume(ctx: typer.Context, run_dir: Path, flags: dict[str, Any]) -> tuple[TrainState, Config]:
    """The checkpoint to continue; flags that would change the run are refused, as is a finished run."""
    ignored = [flag for name, flag in RUN_OPTIONS.items() if _given(ctx, name)]
    ignored += [_flag_names(flags)] if flags else []
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
NOT_SETTINGS = {"data_dir", "out_dir", "resume", "recipe", "config_file", "figures"}


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed this option (rather than it taking its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _flag_names(settings: dict[str, Any]) -> str:
    return ", ".join("--" + k.replace("_", "-") for k in settings)


def resolve_config(recipe: str, config_file: Path | None, flags: dict[str, Any]) -> Config:
    """Recipe, then the --config file, then the flags the user typed: later ones win."""
    settings = recipes.load_recipe(recipe)
    from_file = recipes.load_config_file(config_file) if config_file is not None else {}
    settings |= from_file
    for name in ("hidden", "milestones"):
        if name in flags:
            flags[name] = parse_ints(flags[name], "--" + name)
    if "clip" in flags:
        flags["clip"] = flags["clip"] or None
    try:
        return Config.from_dict(settings | flags)
    except ConfigError as exc:
        raise _where(exc, flags, config_file if exc.setting in from_file else None) from None


def _where(exc: ConfigError, flags: dict[str, Any], config_file: Path | None) -> ConfigError:
    """The core names settings (`batch_size`); say where the bad one came from.

    A value typed as a flag is named as that flag; one from the --config file gets the file's name.
    """
    name = exc.setting
    if name is None:
        return exc
    if name not in flags:
        return ConfigError(f"{config_file}: {exc}", setting=name) if config_file else exc
    flag = "--" + name.replace("_", "-")
    message = str(exc)
    message = flag + message[len(name) :] if message.startswith(name) else f"{flag}: {message}"
    return ConfigError(message, setting=name)


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
            f"val {metrics['val_accuracy'] or float('nan'):.2%}, "
            f"{metrics['train_seconds']:.0f} s of training)",
        )
    )
    out.print(
        Text.assemble(
            "results in ", (str(run_dir), "bold"), f": {MODEL}, {METRICS}, {HISTORY}, {CONFIG_JSON}"
        )
    )


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
