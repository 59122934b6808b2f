"""The `nnfun` command: the imperative shell around the pure core in `nnfun/`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun import Config
from nnfun.errors import ConfigError, DivergedError, NnfunError
from nnfun.gradient_check import extended_precision
from nnfun.preprocess import to_grey, to_mnist
from nnfun_cli import figures, images, pictures, recipes, training
from nnfun_cli.datasets import Dataset, load_dataset, resolve_data_dir
from nnfun_cli.files import atomic_write_bytes, read_json, write_json
from nnfun_cli.models import load_model
from nnfun_cli.views import confusion_table, per_digit_table, sparkline

# Exit codes, documented in the README.
OK, FAILED, BAD_INPUT, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    help="nnfun: a handwritten-digit recogniser, a neural network written from first principles in NumPy.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
        raise fail(str(exc), DIVERGED) from None
    except NnfunError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", INTERRUPTED) from None


def version_callback(value: bool) -> None:
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


D = Config()  # the seed recipe: every default below comes from here

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Folder holding `<dataset>/` with the IDX files [default: $NNFUN_DATA, else ./data].",
        show_default=False,
    ),
]


RUN, NET, SCHED, REG = (
    "Run",
    "Network and optimizer",
    "Learning-rate schedule",
    "Regularisation and augmentation",
)


def _opt(help: str, panel: str, **kwargs: Any) -> Any:
    return typer.Option(help=help, rich_help_panel=panel, **kwargs)


@app.command()
def train(
    ctx: typer.Context,
    data_dir: DataDir = None,
    dataset: Annotated[
        str, _opt("Subfolder of the data dir with the four IDX files.", RUN)
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
        str, _opt("Start from a shipped recipe (see `nnfun recipes`); flags override it.", RUN)
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
    seed: Annotated[
        int, _opt("Seed for weights, split, shuffling, dropout: same seed, same run.", RUN)
    ] = D.seed,
    val_size: Annotated[int, _opt("Training images held out for validation.", RUN)] = D.val_size,
    epochs: Annotated[int, _opt("Passes over the training set.", NET)] = D.epochs,
    hidden: Annotated[
        str, _opt("Hidden layer widths, comma-separated: 1024 or 1024,1024.", NET)
    ] = "1024",
    batch_size: Annotated[int, _opt("Images per gradient step.", NET)] = D.batch_size,
    optimizer: Annotated[str, _opt("sgd, nesterov, adam or adamw.", NET)] = D.optimizer,
    lr: Annotated[float, _opt("Initial (peak) learning rate.", NET)] = D.lr,
    momentum: Annotated[float, _opt("Momentum of SGD.", NET)] = D.momentum,
    weight_decay: Annotated[
        float, _opt("L2 added to the gradient (g + wd * w); decoupled for adamw.", NET)
    ] = D.weight_decay,
    clip: Annotated[
        float, _opt("Clip each gradient value to [-clip, clip]; 0 turns it off.", NET)
    ] = 5.0,
    schedule: Annotated[str, _opt("step, cosine, onecycle or constant.", SCHED)] = D.schedule,
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
) -> None:
    """Train a network. By default the seed recipe: 784-1024-10, SGD + momentum, 80 epochs.

    Shows progress, then writes model.npz, config.json, history.json, metrics.json and figures to
    the run folder. Ctrl-C stops after the current batch and keeps the last finished epoch.
    """
    with user_errors():
        flags = {k: v for k, v in ctx.params.items() if k not in NOT_SETTINGS and _given(ctx, k)}
        state = None
        if resume is not None:
            if flags:
                raise ConfigError(
                    f"--resume continues a run with its saved settings; drop {_flag_names(flags)}"
                )
            state, config = training.load_checkpoint(resume)
            err.print(f"resuming {resume} after epoch {state.epoch}/{config.epochs}")
        else:
            config = resolve_config(recipe, config_file, flags)
        data = training.load_data(config, resolve_data_dir(data_dir), err)
        if len(data.train_x) <= config.val_size:
            raise ConfigError(
                f"--val-size {config.val_size} leaves no training images (the set has {len(data.train_x)})"
            )
        run_dir = resume or training.new_run_dir(out_dir)
        _train(config, data, run_dir, state)


NOT_SETTINGS = {"data_dir", "out_dir", "resume", "recipe", "config_file"}


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed this option (rather than it taking its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _flag_names(settings: dict[str, Any]) -> str:
    return ", ".join("--" + k.replace("_", "-") for k in settings)


def resolve_config(recipe: str, config_file: Path | None, flags: dict[str, Any]) -> Config:
    """Recipe, then the --config file, then the flags the user typed: later ones win."""
    settings = recipes.load_recipe(recipe)
    if config_file is not None:
        settings |= recipes.load_config_file(config_file)
    for name in ("hidden", "milestones"):
        if name in flags:
            flags[name] = parse_ints(flags[name], "--" + name)
    if "clip" in flags:
        flags["clip"] = flags["clip"] or None
    return Config.from_dict(settings | flags)


@app.command(name="recipes")
def list_recipes(
    name: Annotated[
        str | None, typer.Argument(help="Print this recipe's TOML (to start a --config file).")
    ] = None,
) -> None:
    """List the shipped training recipes, or print one as TOML."""
    with user_errors():
        if name is not None:
            print(recipes.recipe_text(name), end="")
            return
        table = Table(title="Recipes (nnfun train --recipe NAME)", title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("what it is")
        for recipe_name in recipes.recipe_names():
            table.add_row(recipe_name, recipes.describe(recipe_name))
        out.print(table)


def _train(config: Config, data: Dataset, run_dir: Path, state: nnfun.TrainState | None) -> None:
    """Train with progress into `run_dir`, then write the model and metrics and say where they are."""
    write_json(run_dir / "config.json", {**config.to_dict(), "nnfun_version": nnfun.__version__})
    header = f"# nnfun {nnfun.__version__}: repeat this run with  nnfun train --config {run_dir / 'config.toml'}\n"
    atomic_write_bytes(
        run_dir / "config.toml", (header + recipes.to_toml(config.to_dict())).encode()
    )
    sizes = "-".join(map(str, (data.train_x.shape[1], *config.hidden, 10)))
    err.print(f"training {sizes} on {config.dataset} into {run_dir}")
    try:
        final = training.train_with_progress(config, data, run_dir, state, err)
    except training.Interrupted:
        saved = (
            training.load_checkpoint(run_dir)[0].epoch
            if (run_dir / training.CHECKPOINT).exists()
            else 0
        )
        raise fail(
            f"interrupted; {saved} finished epoch(s) are saved in {run_dir}. "
            f"Resume with: nnfun train --resume {run_dir}",
            INTERRUPTED,
        ) from None
    except DivergedError as exc:
        raise DivergedError(f"{exc}. The last good checkpoint is in {run_dir}.") from None
    metrics = training.finish(run_dir, config, final, data)
    out.print(
        f"test accuracy [bold]{metrics['test_accuracy']:.2%}[/]  (train {metrics['train_accuracy']:.2%}, "
        f"val {metrics['val_accuracy'] or float('nan'):.2%}, {metrics['train_seconds']:.0f} s of training)"
    )
    out.print(f"results in [bold]{run_dir}[/]: model.npz, metrics.json, history.json, config.json")


@app.command(name="eval")
def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A run folder, or a model.npz file.", show_default=False)
    ],
    data_dir: DataDir = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset to test on [default: the run's, else mnist].", show_default=False
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON only.")] = False,
) -> None:
    """Evaluate a trained model on the test set: accuracy, loss, per-digit table, confusion matrix."""
    with user_errors():
        params, run_dir = load_model(model)
        name = dataset or _run_dataset(run_dir)
        data = load_dataset(
            resolve_data_dir(data_dir), name, log=lambda line: err.print(line, style="dim")
        )
        loss, acc, predicted = nnfun.evaluate(params, data.test_x, data.test_y)
        matrix = nnfun.confusion_matrix(data.test_y, predicted)
        per_class = nnfun.per_class_accuracy(matrix)
        if json:
            report = {
                "test_accuracy": acc,
                "test_loss": loss,
                "per_class_accuracy": per_class.tolist(),
                "confusion_matrix": matrix.tolist(),
            }
            print(orjson.dumps(report).decode())
            return
        out.print(
            f"test accuracy [bold]{acc:.2%}[/]   loss {loss:.4f}   ({len(data.test_y):,} {name} test images)"
        )
        out.print(per_digit_table(per_class.tolist(), matrix.sum(axis=1).tolist()))
        out.print(confusion_table(matrix))


def _run_dataset(run_dir: Path | None) -> str:
    """The dataset a run was trained on, from its config.json; mnist when unknown."""
    if run_dir is not None and (run_dir / "config.json").is_file():
        return str(read_json(run_dir / "config.json").get("dataset", "mnist"))
    return "mnist"


@app.command()
def gradcheck(
    sizes: Annotated[
        str, typer.Option(help="Layer widths of the test network, input to output.")
    ] = "32,16,16,10",
    batch: Annotated[int, typer.Option(help="Random inputs in the test batch.")] = 8,
    eps: Annotated[float, typer.Option(help="Step of the central differences.")] = 1e-6,
    tolerance: Annotated[float, typer.Option(help="Largest acceptable relative error.")] = 1e-7,
    dropout: Annotated[
        float, typer.Option(help="Check with a fixed dropout mask of this rate.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the weights and inputs.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print the errors as JSON only.")] = False,
) -> None:
    """Check backprop against numerical derivatives on a small float64 network, every parameter.

    Exits with 1 if any relative error exceeds the tolerance.
    """
    with user_errors():
        widths = parse_ints(sizes, "--sizes")
        if len(widths) < 2 or min(widths) < 1 or batch < 1 or not 0 <= dropout < 1 or eps <= 0:
            raise ConfigError(
                "need --sizes with at least two positive widths, --batch >= 1, --eps > 0, 0 <= --dropout < 1"
            )
        rng = np.random.default_rng(seed)
        params = nnfun.init_params(widths, rng, np.float64)
        x = rng.random((batch, widths[0]))
        y = rng.integers(0, widths[-1], batch)
        masks = (
            nnfun.dropout_masks(widths, batch, rng, rate=dropout, dtype=np.float64)
            if dropout
            else None
        )
        errors = nnfun.gradcheck(params, x, y, eps=eps, masks=masks)
        if not extended_precision():
            err.print(
                "note: no extended precision (np.longdouble is float64 here): expect ~1e-5 errors"
            )
    worst = max(errors.values())
    if json:
        print(
            orjson.dumps(
                {
                    "errors": errors,
                    "max_error": worst,
                    "tolerance": tolerance,
                    "passed": worst <= tolerance,
                }
            ).decode()
        )
    else:
        table = Table(
            title=f"Gradient check, network {sizes}, float64, eps {eps:g}", title_justify="left"
        )
        for column in ("parameter", "shape", "max relative error", ""):
            table.add_column(column, justify="right" if column != "" else "left")
        for name, error in errors.items():
            ok = error <= tolerance
            table.add_row(
                name,
                "x".join(map(str, params[name].shape)),
                f"{error:.2e}",
                "[green]ok[/]" if ok else "[bold red]FAIL[/]",
            )
        out.print(table)
        verdict = "[green]passed[/]" if worst <= tolerance else "[bold red]failed[/]"
        out.print(f"{verdict}: largest error {worst:.2e} (tolerance {tolerance:.0e})")
    if worst > tolerance:
        raise typer.Exit(FAILED)


@app.command()
def predict(
    model: Annotated[
        Path, typer.Argument(help="A run folder, or a model.npz file.", show_default=False)
    ],
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Images (PNG, JPEG, BMP, GIF, PGM/PPM), .npy arrays, IDX files or folders of them.",
            show_default=False,
        ),
    ],
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="Skip MNIST-style preprocessing (input is already 28x28, white on black)."
        ),
    ] = False,
    show: Annotated[
        bool,
        typer.Option(
            "--show", help="Draw the 28x28 image the network saw, next to its probabilities."
        ),
    ] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Look into sub-folders too.")
    ] = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per input file, nothing else.")
    ] = False,
) -> None:
    """Recognise the digit in each file: predicted digit, confidence and the top 3.

    Photos and drawings are converted like MNIST was made (greyscale, ink made white on black,
    cropped, scaled to 20 px, centred by mass in 28x28). A file that cannot be read gets its own
    error line; the others are still predicted, and the exit code is 1.
    """
    with user_errors():
        params, _ = load_model(model)
        paths = images.collect_inputs(files, recursive=recursive)
    results, failures = [], 0
    for path in paths:
        try:
            for label, picture in images.read_images(path):
                seen = _as_network_input(picture, raw)
                probs = nnfun.predict_proba(params, seen.reshape(1, -1))[0]
                results.append((label, seen, probs))
        except NnfunError as exc:
            failures += 1
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    if json:
        for label, _, probs in results:
            top = np.argsort(probs)[::-1][:3]
            record = {
                "file": label,
                "digit": int(top[0]),
                "confidence": float(probs[top[0]]),
                "top3": [{"digit": int(d), "probability": float(probs[d])} for d in top],
                "probabilities": probs.tolist(),
            }
            print(orjson.dumps(record).decode())
    else:
        _print_predictions(results, show)
    if failures:
        raise typer.Exit(FAILED)


def _as_network_input(picture: np.ndarray, raw: bool) -> np.ndarray:
    """28x28 floats in [0, 1]: MNIST-style preprocessing unless `raw`."""
    if not raw:
        return to_mnist(picture)
    grey = to_grey(picture)
    if grey.size != 784:
        raise NnfunError(f"--raw needs 28x28 (784-pixel) input, got shape {picture.shape}")
    return grey.reshape(28, 28)


def _print_predictions(results: list[tuple[str, np.ndarray, np.ndarray]], show: bool) -> None:
    if show:
        for label, seen, probs in results:
            out.print(
                pictures.prediction_panel(label, seen, probs, color=out.color_system is not None)
            )
        return
    table = Table()
    table.add_column("file", overflow="fold")
    table.add_column("digit", justify="center")
    table.add_column("confidence", justify="right")
    table.add_column("top 3", no_wrap=True)
    for label, _, probs in results:
        top = np.argsort(probs)[::-1][:3]
        table.add_row(
            label,
            f"[bold]{top[0]}[/]",
            f"{probs[top[0]]:.1%}",
            "  ".join(f"{d} {probs[d]:.1%}" for d in top),
        )
    if results:
        out.print(table)


RunDir = Annotated[
    Path, typer.Argument(help="A run folder made by nnfun train.", show_default=False)
]


def _figures_note(exc: figures.PlotsUnavailable) -> None:
    """The one line said when matplotlib is missing (plain text: `[plots]` is not Rich markup)."""
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _percent(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "-"


@app.command()
def report(
    run_dir: RunDir,
    data_dir: DataDir = None,
    draw: Annotated[
        bool,
        typer.Option(
            "--figures/--no-figures",
            help="(Re)draw the run's PNG figures (needs model.npz and the test set).",
        ),
    ] = True,
) -> None:
    """Summarise a finished run: accuracy per digit, confusion matrix, validation curve; redraw its figures.

    The figures (training_curves.png, confusion_matrix.png, sample_predictions.png,
    per_digit_accuracy.png) are written into the run folder.
    """
    with user_errors():
        run = figures.load_run(run_dir)
        m, matrix = run.metrics, run.matrix
        out.print(
            f"[bold]{escape(str(run_dir))}[/]: {run.network()} on {escape(str(run.config.get('dataset', 'mnist')))}",
            highlight=False,
        )
        out.print(figures.describe(run), style="dim", highlight=False, markup=False)
        loss = m.get("test_loss")
        out.print(
            f"test accuracy [bold]{run.test_accuracy:.2%}[/]"
            + (f"   loss {loss:.4f}" if isinstance(loss, int | float) else "")
            + f"   (train {_percent(m.get('train_accuracy'))}, val {_percent(m.get('val_accuracy'))})",
            highlight=False,
        )
        val = run.column("val_accuracy")
        if np.isfinite(val).any():
            best, epoch = run.best_val()
            prefix = "validation accuracy  "
            suffix = f"  {np.nanmin(val):.2%} to {best:.2%} (best, epoch {epoch})"
            width = max(8, min(60, out.width - len(prefix) - len(suffix) - 1))
            out.print(
                f"{prefix}[dodger_blue1]{sparkline(val, width)}[/]{suffix}",
                highlight=False,
            )
        counts = matrix.sum(axis=1).tolist()
        out.print(per_digit_table(m["per_class_accuracy"], counts, overall=run.test_accuracy))
        out.print(confusion_table(matrix))
        if not draw:
            return
        try:
            figures.check_available()
        except figures.PlotsUnavailable as exc:
            _figures_note(exc)
            return
        params, _ = load_model(run_dir)
        data = load_dataset(
            resolve_data_dir(data_dir),
            str(run.config.get("dataset", "mnist")),
            log=lambda line: err.print(line, style="dim"),
        )
        with err.status("drawing the figures"):
            written = figures.write_run_figures(run_dir, params, data.test_x, data.test_y)
        out.print(
            f"figures in [bold]{escape(str(run_dir))}[/]: {', '.join(p.name for p in written)}",
            highlight=False,
        )


def _compare_table(runs: list[figures.Run], names: list[str], differs: list[str]) -> Table:
    """One row per run: its differing settings, best validation accuracy, test accuracy, time."""
    top = max(run.test_accuracy for run in runs)
    table = Table(title=f"{len(runs)} runs", title_justify="left")
    table.add_column("run")
    for key in differs:
        table.add_column(key.replace("_", " "), justify="right", style="cyan")
    table.add_column("best val (epoch)", justify="right")
    table.add_column("test", justify="right")
    table.add_column("training", justify="right")
    for run, name in zip(runs, names, strict=True):
        best, epoch = run.best_val()
        table.add_row(
            Text(name),
            *(figures.format_setting(run.config[k]) if k in run.config else "-" for k in differs),
            "-" if epoch is None else f"{best:.2%} ({epoch})",
            Text(f"{run.test_accuracy:.2%}", style="bold" if run.test_accuracy == top else ""),
            _duration(run.seconds),
        )
    return table


@app.command()
def compare(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Two or more run folders made by nnfun train.", show_default=False),
    ],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also draw comparison.png: a .png path, or a folder to put it in.",
            show_default=False,
        ),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON only.")
    ] = False,
) -> None:
    """Compare runs: the settings that differ, best validation and test accuracy, training time."""
    with user_errors():
        if len(run_dirs) < 2:
            raise NnfunError(
                "compare needs at least two run folders, e.g. nnfun compare results/a results/b"
            )
        runs = [figures.load_run(path) for path in run_dirs]
        differs = figures.config_differences(runs)
        names = figures.run_labels(runs)
        written: Path | None = None
        if out_path is not None:
            target = out_path if out_path.suffix.lower() == ".png" else out_path / "comparison.png"
            try:
                written = figures.comparison(runs, target)
            except figures.PlotsUnavailable as exc:
                _figures_note(exc)
    if json:
        rows = []
        for run, name in zip(runs, names, strict=True):
            best, epoch = run.best_val()
            rows.append(
                {
                    "run": str(run.path),
                    "name": name,
                    "settings": {key: run.config.get(key) for key in differs},
                    "best_val_accuracy": None if epoch is None else best,
                    "best_val_epoch": epoch,
                    "test_accuracy": run.test_accuracy,
                    "epochs": len(run.history),
                    "train_seconds": run.seconds,
                }
            )
        report = {"differing_settings": differs, "runs": rows, "figure": written and str(written)}
        print(orjson.dumps(report).decode())
        return
    out.print(_compare_table(runs, names, differs))
    out.print(
        f"settings that differ: {', '.join(differs)}" if differs else "all settings are the same",
        highlight=False,
        markup=False,
    )
    if written is not None:
        out.print(f"comparison figure: [bold]{escape(str(written))}[/]", highlight=False)


def main() -> Any:
    """Console-script entry point."""
    return app()
