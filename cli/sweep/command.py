"""`nnfun sweep`: many runs of a base recipe with some settings varied, ranked on validation.

The base is built as for `nnfun train` (recipe < --config file < setting flags: the same options
as train's, made from the same table of settings). The trials run on this machine or on a Dask
cluster; every trial is a run folder under `ROOT/NAME/`, and the sweep ends with a table,
`sweep.json` and `sweep.png` in that folder. Rerunning the same command skips what is done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from nnfun import Config, recipes
from nnfun.errors import ConfigError, NnfunError
from nnfun.io.datasets import Dataset, load_dataset, resolve_data_dir
from nnfun.io.files import write_json
from nnfun_cli.options import (
    DataDir,
    RecipeName,
    given,
    given_settings,
    resolve_config,
    with_setting_options,
)
from nnfun_cli.plots.style import PlotsUnavailable
from nnfun_cli.plots.sweep import sweep_figure
from nnfun_cli.progress import Interrupted
from nnfun_cli.shell import FAILED, INTERRUPTED, err, fail, out, user_errors
from nnfun_cli.sweep.events import LiveView, TrialEnd
from nnfun_cli.sweep.local import cores, run_local, threads_per_worker
from nnfun_cli.sweep.plan import (
    Spec,
    SweepFile,
    Trial,
    default_name,
    expand,
    merge,
    parse_grid,
    parse_range,
    parse_seeds,
    parse_sweep_file,
)
from nnfun_cli.sweep.summary import (
    ensemble_json,
    ensemble_line,
    rank,
    read_result,
    summary_json,
    table,
    top_on_validation,
)
from nnfun_cli.sweep.trial import diverged_message, saved_config, trial_state

SWEEP, BASE, ENGINE = "What to vary", "Base recipe", "Where the trials run"

EPILOG = (
    "The setting options (--epochs, --hidden, --batch-size, --optimizer, ...) are `nnfun train`'s "
    "and set the base recipe. Example: `nnfun sweep --grid hidden=128,256,512,1024 --grid "
    "lr=0.01,0.15 --epochs 5`."
)


def sweep(
    ctx: typer.Context,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="SETTING=A,B,C: try each value (repeat for more settings; layers as 512+512).",
            rich_help_panel=SWEEP,
            show_default=False,
        ),
    ] = None,
    ranges: Annotated[
        list[str] | None,
        typer.Option(
            "--range",
            help="SETTING=LOW..HIGH or SETTING=log:LOW..HIGH, drawn at random (needs --samples).",
            rich_help_panel=SWEEP,
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="Run every configuration with each seed, e.g. 0,1,2 or 0..4.",
            rich_help_panel=SWEEP,
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            help="Random search: N configurations drawn from the --grid lists and --range intervals.",
            rich_help_panel=SWEEP,
            show_default=False,
        ),
    ] = None,
    sample_seed: Annotated[
        int | None,
        typer.Option(help="Seed of the random search [default: 0].", rich_help_panel=SWEEP),
    ] = None,
    sweep_file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="TOML sweep file (recipe, seeds, samples, [settings], [grid], [range]); flags override it.",
            rich_help_panel=SWEEP,
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Sweep folder name [default: the file's name, else the varied settings].",
            rich_help_panel=SWEEP,
            show_default=False,
        ),
    ] = None,
    root: Annotated[
        Path, typer.Option(help="Where sweep folders go.", rich_help_panel=SWEEP)
    ] = Path("sweeps"),
    recipe: Annotated[
        RecipeName,
        typer.Option(help="The shipped recipe to start from.", rich_help_panel=BASE),
    ] = "seed",
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of settings applied over the recipe.",
            rich_help_panel=BASE,
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Trials at once on this machine [default: the cores].",
            rich_help_panel=ENGINE,
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="BLAS threads per worker [default: cores // workers].",
            rich_help_panel=ENGINE,
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run the trials on this Dask cluster, e.g. tcp://HOST:8786 (nnfun[cluster]).",
            rich_help_panel=ENGINE,
            show_default=False,
        ),
    ] = None,
    figures: Annotated[
        bool, typer.Option(help="Draw sweep.png (needs nnfun[plots]).", rich_help_panel=ENGINE)
    ] = True,
    ensemble: Annotated[
        int,
        typer.Option(
            help="Name the K trials whose models did best on validation as an ensemble.",
            rich_help_panel=SWEEP,
            min=0,
            metavar="K",
        ),
    ] = 0,
    **settings: Any,
) -> None:
    """Train many runs of a recipe with some settings varied; rank them on validation accuracy.

    Each trial is a run folder in ROOT/NAME/ (eval, report and compare work on it). Run the same
    command again to continue an interrupted sweep: finished trials are skipped, the others
    resume from their checkpoints, and the results are the same as without the interruption.
    """
    with user_errors():
        engine = _engine(workers, threads, scheduler)
        file = _read_sweep_file(sweep_file)
        spec = merge(
            file.spec,
            Spec(
                grid=_unique("--grid", [parse_grid(g) for g in grid or []]),
                ranges=_unique("--range", [parse_range(r) for r in ranges or []]),
                seeds=parse_seeds(seeds) if seeds else (),
                samples=samples,
                sample_seed=sample_seed,
            ),
        )
        chosen_recipe = recipe if given(ctx, "recipe") or file.recipe is None else file.recipe
        base = _base_config(chosen_recipe, file.settings, config_file, given_settings(ctx))
        if "dataset" in spec.varied():
            raise ConfigError("a sweep trains on one dataset; run one sweep per dataset")
        trials = expand(spec, base)
        sweep_name = name or file.name or (sweep_file.stem if sweep_file else default_name(spec))
        sweep_dir = root / _folder_name(sweep_name)
        _check_existing(trials, sweep_dir)
        data_path = resolve_data_dir(data_dir)
        data = _load_data(base.dataset, data_path, trials)
        ends = _run(trials, sweep_dir, data_path, data, engine)
        size = ensemble if given(ctx, "ensemble") else file.ensemble or ensemble
        _summarise(sweep_name, sweep_dir, base, spec, trials, figures, size)
        failed = {name: end.message for name, end in ends.items() if end.status == "failed"}
        if failed:
            names = ", ".join(list(failed)[:3]) + (", ..." if len(failed) > 3 else "")
            first = next(iter(failed.values()))
            raise fail(f"{len(failed)} trial(s) did not finish ({names}): {first}", FAILED)


def _read_sweep_file(path: Path | None) -> SweepFile:
    if path is None:
        return SweepFile(None, None, {}, Spec())
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read --file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--file {path} is not a text file") from None
    return parse_sweep_file(text, str(path))


def _unique(flag: str, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = [k for k in keys if keys.count(k) > 1]
    if twice:
        raise ConfigError(f"{flag} {twice[0]} is given twice; list all its values in one {flag}")
    return dict(pairs)


with_setting_options(sweep)


def _base_config(
    recipe: str, file_settings: dict[str, Any], config_file: Path | None, flags: dict[str, Any]
) -> Config:
    """Recipe, then the sweep file's [settings], then --config, then the flags: later ones win."""
    settings = recipes.load_recipe(recipe) | file_settings
    if config_file is not None:
        settings |= recipes.load_config_file(config_file)
    resolve_config(recipe, None, flags)  # a bad flag is named as the flag
    return Config.from_dict(settings | flags)


def _folder_name(name: str) -> str:
    if not re.fullmatch(r"[\w.+=-]+", name) or name in (".", ".."):
        raise ConfigError(f"--name {name!r}: use letters, digits and . _ - + = only")
    return name


def _check_existing(trials: list[Trial], sweep_dir: Path) -> None:
    """Refuse to continue trial folders that were started with other settings, or that are
    not folders at all (a file put in a trial's place)."""
    for path in (sweep_dir, *(sweep_dir / t.name for t in trials)):
        if path.exists() and not path.is_dir():
            raise NnfunError(f"{path} is a file where a sweep folder belongs; move it away")
    for trial in trials:
        if trial_state(sweep_dir / trial.name) == "diverged":
            diverged_message(sweep_dir / trial.name)  # a hand-edited record: one line, up front
        saved, planned = saved_config(sweep_dir / trial.name), Config.from_dict(trial.settings)
        if saved is not None and saved != planned:
            now = planned.to_dict()
            changed = [k for k, v in saved.to_dict().items() if now[k] != v]
            raise NnfunError(
                f"{sweep_dir / trial.name} was run with other settings ({', '.join(changed)}); "
                f"choose another --name, or move that folder away"
            )


@dataclass(frozen=True)
class Engine:
    """Where the trials run: a Dask scheduler's address, or `workers` x `threads` on this machine."""

    scheduler: str | None
    workers: int
    threads: int

    def __str__(self) -> str:
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        return f"{self.workers} local worker(s) x {self.threads} BLAS thread(s)"


def _engine(workers: int | None, threads: int | None, scheduler: str | None) -> Engine:
    """The engine the options ask for; locally `cores` workers and cores // workers threads."""
    workers = cores() if workers is None else workers
    if workers < 1 or (threads is not None and threads < 1):
        raise ConfigError("--workers and --threads must be at least 1")
    if scheduler is not None:
        from nnfun_cli.sweep.cluster import check_scheduler

        check_scheduler(scheduler)  # before the data is read: a wrong address fails fast
    return Engine(scheduler, workers, threads or threads_per_worker(workers, cores()))


def _load_data(dataset: str, data_dir: Path, trials: list[Trial]) -> Dataset:
    """The data set, read once here (downloading MNIST if missing), checked against val_size."""
    with err.status(f"loading {dataset} from {data_dir}"):
        data = load_dataset(dataset, data_dir, log=lambda line: err.print(line, style="dim"))
    too_big = [t for t in trials if t.settings["val_size"] >= len(data.train_x)]
    if too_big:
        raise ConfigError(
            f"trial {too_big[0].name}: val_size leaves no training images "
            f"(the set has {len(data.train_x)})"
        )
    return data


def _run(
    trials: list[Trial], sweep_dir: Path, data_dir: Path, data: Dataset, engine: Engine
) -> dict[str, TrialEnd]:
    """Run the trials that are not done yet, with the live view; say how far an interruption got."""
    states = [trial_state(sweep_dir / t.name) for t in trials]
    todo = [t for t, s in zip(trials, states, strict=True) if s in ("new", "partial")]
    counts = ", ".join(f"{states.count(s)} {s}" for s in ("finished", "diverged", "partial", "new"))
    err.print(f"sweep {sweep_dir}: {len(trials)} trials ({counts})", markup=False, highlight=False)
    err.print(f"running on {engine}", markup=False, highlight=False)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    try:
        with LiveView(err, len(trials), len(trials) - len(todo)) as view:
            if engine.scheduler:
                from nnfun_cli.sweep.cluster import run_dask

                return run_dask(engine.scheduler, todo, sweep_dir, data, view)
            return run_local(
                todo,
                sweep_dir,
                data_dir.resolve(),
                workers=engine.workers,
                threads=engine.threads,
                watcher=view,
            )
    except Interrupted:
        done = sum(trial_state(sweep_dir / t.name) in ("finished", "diverged") for t in trials)
        raise fail(
            f"interrupted; {done} of {len(trials)} trials are done and the others keep their last "
            f"finished epoch. Run the same command again to continue.",
            INTERRUPTED,
        ) from None


def _summarise(
    name: str,
    sweep_dir: Path,
    base: Config,
    spec: Spec,
    trials: list[Trial],
    figures: bool,
    size: int,
) -> None:
    """The ranked table on stdout, sweep.json and sweep.png in the sweep folder."""
    results = [read_result(t, sweep_dir) for t in trials]
    ranked = rank(results)
    varied = spec.varied()
    out.print(table(name, ranked, varied))
    chosen = ensemble_json(top_on_validation(results, size), sweep_dir) if size else None
    summary = summary_json(name, base, varied, ranked)
    write_json(sweep_dir / "sweep.json", summary | ({"ensemble": chosen} if chosen else {}))
    written = ["sweep.json"]
    if figures and ranked[0].best_val.values:
        try:
            sweep_figure(name, ranked, varied, sweep_dir / "sweep.png", grid=spec.samples is None)
            written.append("sweep.png")
        except PlotsUnavailable as exc:
            err.print(str(exc), markup=False, highlight=False)
    best = ranked[0]
    if best.best_val.values:
        folders = ", ".join(r.trial.name for r in best.results if r.run)
        out.print(Text.assemble("best on validation: ", (folders, "bold")), highlight=False)
    if chosen is not None:
        out.print(ensemble_line(chosen, size), highlight=False, soft_wrap=True)
    out.print(
        Text.assemble("summary in ", (str(sweep_dir), "bold"), f": {', '.join(written)}"),
        highlight=False,
    )
