"""`nnfun predict`: the digit in each of the user's files, as a table, pictures or JSON."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun.errors import ConfigError, NnfunError
from nnfun.io import images
from nnfun.io.models import load_models
from nnfun.recognition import read_digit
from nnfun_cli import digit_art
from nnfun_cli.options import ModelPath
from nnfun_cli.shell import FAILED, emit_json, err, error_line, out, user_errors


@dataclass(frozen=True)
class Prediction:
    """What the network made of one image; `probs` is None when the image holds no digit."""

    file: str
    seen: np.ndarray
    """The 28x28 image in [0, 1] the network read."""
    probs: np.ndarray | None


@dataclass(frozen=True)
class Failure:
    """A file (or folder) that could not be read, and why."""

    file: str
    error: str


def predict_picture(params: nnfun.Model, file: str, picture: np.ndarray, raw: bool) -> Prediction:
    """The network's probabilities for one picture, or none when it has no ink (`read_digit`)."""
    seen, _, probs = read_digit(params, picture, raw=raw)
    return Prediction(file, seen, probs)


def prediction_record(p: Prediction) -> dict[str, Any]:
    """The JSON form of one prediction (also the shape `nnfun predict --json` documents)."""
    if p.probs is None:
        return {
            "file": p.file,
            "digit": None,
            "confidence": None,
            "blank": True,
            "top3": [],
            "probabilities": None,
        }
    top = np.argsort(p.probs)[::-1][:3]
    return {
        "file": p.file,
        "digit": int(top[0]),
        "confidence": float(p.probs[top[0]]),
        "blank": False,
        "top3": [{"digit": int(d), "probability": float(p.probs[d])} for d in top],
        "probabilities": p.probs.tolist(),
    }


def predict(
    model: ModelPath,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Images (PNG, JPEG, BMP, GIF, PGM/PPM), .npy arrays, IDX files or folders of them.",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        bool,
        typer.Option(
            "--samples",
            help="Also read the sample digits shipped with nnfun (drawn, photographed, a blank page).",
        ),
    ] = False,
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
        bool,
        typer.Option("--json", help="Print one JSON document: the predictions and the errors."),
    ] = False,
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl", help="Print JSON Lines: one object per image or error, as they come."
        ),
    ] = False,
    also: Annotated[
        list[Path] | None,
        typer.Option(
            "--with",
            help="Another model (run folder or model.npz) to average with: an ensemble. Repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Recognise the digit in each file: predicted digit, confidence and the top 3.

    No pictures at hand? `--samples` reads the ones shipped with nnfun.

    Photos and drawings are converted like MNIST was made (greyscale, ink made white on black,
    cropped, scaled to 20 px, centred by mass in 28x28). A picture with no ink gets "no digit
    found". A file that cannot be read gets its own error line; the others are still predicted.
    The exit code is 1 if any file could not be read or held no digit. With --with, several
    models answer together: their probabilities are averaged.
    """
    with user_errors():
        if json and jsonl:
            raise ConfigError("choose one of --json and --jsonl")
        files = [*(files or []), *(nnfun.samples().values() if samples else [])]
        if not files:
            raise ConfigError("name the pictures to read, or add --samples to try nnfun's own")
        params = load_models([model, *(also or [])])
        nnfun.check_fits(params, 28 * 28)  # every picture becomes a 28x28 MNIST-style image
    predictions: list[Prediction] = []
    failures: list[Failure] = []
    for outcome in _outcomes(params, files, raw=raw, recursive=recursive):
        if isinstance(outcome, Failure):
            failures.append(outcome)
            err.print(error_line(outcome.error))
        else:
            predictions.append(outcome)
        if jsonl:
            emit_json(vars(outcome) if isinstance(outcome, Failure) else prediction_record(outcome))
    if json:
        emit_json(
            {
                "predictions": [prediction_record(p) for p in predictions],
                "errors": [vars(f) for f in failures],
            }
        )
    elif not jsonl:
        _print_predictions(predictions, show)
    if failures or any(p.probs is None for p in predictions):
        raise typer.Exit(FAILED)


def _outcomes(
    params: nnfun.Model, files: list[Path], *, raw: bool, recursive: bool
) -> Iterator[Prediction | Failure]:
    """A prediction for every image in `files` (folders expanded), a Failure for each bad one."""
    for given in files:
        try:
            paths = images.collect_inputs([given], recursive=recursive)
        except NnfunError as exc:
            hint = "" if recursive or not _has_deeper_images(given) else _RECURSIVE_HINT
            yield failure(given, f"{exc}{hint}")
            continue
        for path in paths:
            try:
                pictures = images.read_images(path)
                found = [predict_picture(params, _shown(label), p, raw) for label, p in pictures]
            except NnfunError as exc:
                yield failure(path, str(exc))
                continue
            except MemoryError:
                yield Failure(str(path), "too large to read in the memory available")
                continue
            except Exception as exc:  # a fault of ours on this file: the others still get read
                yield Failure(str(path), f"could not be read ({type(exc).__name__}: {exc})")
                continue
            yield from found


def _shown(label: str) -> str:
    """How a picture is named in the output: a shipped sample as `samples/NAME`."""
    folder = str(next(iter(nnfun.samples().values())).parent)
    return "samples" + label[len(folder) :] if label.startswith(folder + os.sep) else label


_RECURSIVE_HINT = "; its sub-folders hold some: add --recursive to read them"


def failure(path: Path, message: str) -> Failure:
    """A Failure whose message names the file, so each error line says which file it is about."""
    name = str(path)
    return Failure(name, message if name in message else f"{name}: {message}")


def _has_deeper_images(folder: Path, look_at: int = 10_000) -> bool:
    """Whether a folder's sub-folders hold a picture: stops at the first, or after `look_at` entries."""
    try:
        entries = itertools.islice(folder.rglob("*"), look_at) if folder.is_dir() else ()
        return any(p.suffix.lower() in images.IMAGE_SUFFIXES and p.is_file() for p in entries)
    except OSError:
        return False


def _print_predictions(predictions: list[Prediction], show: bool) -> None:
    if show:
        for p in predictions:
            out.print(
                digit_art.prediction_panel(
                    p.file, p.seen, p.probs, color=out.draws_in_colour, width=out.fit_width
                )
            )
        return
    if not predictions:
        return
    table = Table()
    table.add_column("file", overflow="fold")
    table.add_column("digit", justify="center")
    table.add_column("confidence", justify="right")
    table.add_column("top 3", no_wrap=True)
    for p in predictions:
        if p.probs is None:
            table.add_row(p.file, "-", "-", Text("no digit found", style="bold"))
            continue
        top = np.argsort(p.probs)[::-1][:3]
        table.add_row(
            p.file,
            Text(str(top[0]), style="bold"),
            f"{p.probs[top[0]]:.1%}",
            "  ".join(f"{d} {p.probs[d]:.1%}" for d in top),
        )
    out.print(table)
