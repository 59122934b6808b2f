"""`nnfun predict`: the digit in each of the user's files, as a table, pictures or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import orjson
import typer
from rich.table import Table

import nnfun
from nnfun.errors import NnfunError
from nnfun.io import images
from nnfun.io.models import load_model
from nnfun.preprocess import to_grey, to_mnist
from nnfun_cli import digit_art
from nnfun_cli.shell import (
    FAILED,
    err,
    out,
    user_errors,
)


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
        params = load_model(model)
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
                digit_art.prediction_panel(label, seen, probs, color=out.color_system is not None)
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
