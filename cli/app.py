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
from rich.table import Table

import nnfun
from nnfun import Config
from nnfun.errors import ConfigError, DivergedError, NnfunError
from nnfun_cli import training
from nnfun_cli.datasets import Dataset, load_dataset, resolve_data_dir
from nnfun_cli.files import read_json, write_json
from nnfun_cli.models import load_model
from nnfun_cli.views import confusion_table, per_digit_table

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


@app.command()
def train(
    data_dir: DataDir = None,
    dataset: Annotated[
        str, typer.Option(help="Subfolder of the data dir with the four IDX files.")
    ] = D.dataset,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Run folder to create [default: a new folder under results/].",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue the run in this folder from its last checkpoint.", show_default=False
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training set.")] = D.epochs,
    batch_size: Annotated[int, typer.Option(help="Images per gradient step.")] = D.batch_size,
    lr: Annotated[float, typer.Option(help="Initial learning rate.")] = D.lr,
    momentum: Annotated[float, typer.Option(help="Momentum of SGD.")] = D.momentum,
    weight_decay: Annotated[
        float, typer.Option(help="L2 penalty added to the gradient: g + wd * w.")
    ] = D.weight_decay,
    clip: Annotated[
        float, typer.Option(help="Clip each gradient value to [-clip, clip]; 0 turns it off.")
    ] = 5.0,
    hidden: Annotated[
        str, typer.Option(help="Hidden layer widths, comma-separated: 1024 or 1024,512.")
    ] = "1024",
    milestones: Annotated[
        str, typer.Option(help="Epochs at which the learning rate is multiplied by gamma.")
    ] = "30,50,65",
    gamma: Annotated[float, typer.Option(help="Learning-rate factor at each milestone.")] = D.gamma,
    val_size: Annotated[
        int, typer.Option(help="Training images held out for validation.")
    ] = D.val_size,
    seed: Annotated[
        int, typer.Option(help="Seed for initial weights, split, shuffling: same seed, same run.")
    ] = D.seed,
) -> None:
    """Train a network (by default the seed recipe: 784-1024-10, SGD + momentum, 80 epochs).

    Shows progress, then writes model.npz, config.json, history.json and metrics.json to the run
    folder. Ctrl-C stops after the current batch and keeps the last finished epoch.
    """
    with user_errors():
        state = None
        if resume is not None:
            state, config = training.load_checkpoint(resume)
            err.print(f"resuming {resume} after epoch {state.epoch}/{config.epochs}")
        else:
            config = Config(
                hidden=parse_ints(hidden, "--hidden"),
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                momentum=momentum,
                weight_decay=weight_decay,
                clip=clip or None,
                milestones=parse_ints(milestones, "--milestones"),
                gamma=gamma,
                val_size=val_size,
                seed=seed,
                dataset=dataset,
            )
        data = training.load_data(config, resolve_data_dir(data_dir), err)
        if len(data.train_x) <= config.val_size:
            raise ConfigError(
                f"--val-size {config.val_size} leaves no training images (the set has {len(data.train_x)})"
            )
        run_dir = resume or training.new_run_dir(out_dir)
        _train(config, data, run_dir, state)


def _train(config: Config, data: Dataset, run_dir: Path, state: nnfun.TrainState | None) -> None:
    """Train with progress into `run_dir`, then write the model and metrics and say where they are."""
    write_json(run_dir / "config.json", {**config.to_dict(), "nnfun_version": nnfun.__version__})
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
        loss, acc, predicted = nnfun.evaluate(params, nnfun.scale_pixels(data.test_x), data.test_y)
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


def main() -> Any:
    """Console-script entry point."""
    return app()
