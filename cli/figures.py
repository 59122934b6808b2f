"""Figures of a run as PNG files, drawn with matplotlib (the optional extra `nnfun[plots]`).

matplotlib is imported only when a figure is drawn, and never through pyplot: each figure is a
plain `Figure` on an Agg canvas, so nothing needs a display and no global backend is changed.
Without matplotlib every drawing function raises `PlotsUnavailable`, whose message is the one
line the CLI prints before carrying on. Each PNG is rendered in memory, then written atomically.

Colours are the Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies; meaning is never carried by colour alone (line styles, frames, labels).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import nnfun
from nnfun.errors import NnfunError
from nnfun_cli.files import atomic_write_bytes, read_json

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

HINT = "figures skipped: pip install 'nnfun[plots]' to get them"

RUN_FIGURES = (
    "training_curves.png",
    "confusion_matrix.png",
    "sample_predictions.png",
    "per_digit_accuracy.png",
)

DPI = 110

# Okabe-Ito: safe for deuteranopia, protanopia and tritanopia.
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, YELLOW, BLACK = "#CC79A7", "#56B4E9", "#F0E442", "#000000"
RUN_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, YELLOW)
INK, MUTED, FAINT = "#222222", "#666666", "#E8E8E8"

STYLE: dict[str, Any] = {
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#999999",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": FAINT,
    "grid.linewidth": 0.8,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
}

HISTORY_KEYS = (
    "epoch",
    "lr",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "seconds",
)


class PlotsUnavailable(NnfunError):
    """matplotlib is not installed; the message is the one-line hint to print."""

    def __init__(self, message: str = HINT) -> None:
        super().__init__(message)


def _matplotlib() -> tuple[Any, Any, Any]:
    """`(matplotlib, Figure, FigureCanvasAgg)`, or PlotsUnavailable."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailable from None
    return matplotlib, Figure, FigureCanvasAgg


def check_available() -> None:
    """Raise PlotsUnavailable now, before any slow work, if figures cannot be drawn."""
    _matplotlib()


# --------------------------------------------------------------------------- run folders


@dataclass(frozen=True)
class Run:
    """A finished run folder: its config, per-epoch history and final metrics, checked."""

    path: Path
    config: dict[str, Any]
    history: list[dict[str, float]]
    metrics: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.resolve().name or str(self.path)

    def column(self, key: str) -> np.ndarray:
        """One history field over the epochs as floats (NaN where it was null, e.g. no validation)."""
        return np.array([math.nan if r[key] is None else r[key] for r in self.history], dtype=float)

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.metrics["confusion_matrix"], dtype=np.int64)

    @property
    def test_accuracy(self) -> float:
        return float(self.metrics["test_accuracy"])

    @property
    def seconds(self) -> float:
        value = self.metrics.get("train_seconds")
        return (
            float(value)
            if isinstance(value, int | float)
            else float(np.nansum(self.column("seconds")))
        )

    def best_val(self) -> tuple[float, int | None]:
        """The best validation accuracy and its epoch; (NaN, None) for a run without validation."""
        val = self.column("val_accuracy")
        if not np.isfinite(val).any():
            return math.nan, None
        i = int(np.nanargmax(val))
        return float(val[i]), int(self.history[i]["epoch"])

    def model_epoch(self) -> int:
        """The epoch whose weights model.npz holds: the best one with keep_best, else the last."""
        best = self.best_val()[1]
        return best if self.config.get("keep_best") and best else int(self.history[-1]["epoch"])

    def network(self, sizes: Sequence[int] | None = None) -> str:
        """`784-1024-10`, from the model's layer sizes if given, else from the config."""
        if sizes is None:
            hidden = self.config.get("hidden") or []
            sizes = (784, *(hidden if isinstance(hidden, list) else [hidden]), 10)
        return "-".join(map(str, sizes))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_run(run_dir: Path) -> Run:
    """Read and check `config.json`, `history.json` and `metrics.json`, or raise a one-line NnfunError."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NnfunError(f"{run_dir} is not a folder (expected a run folder made by nnfun train)")
    if not (run_dir / "config.json").is_file():
        raise NnfunError(
            f"{run_dir} is not a run folder made by nnfun train: it has no config.json"
        )
    for name in ("history.json", "metrics.json"):
        if not (run_dir / name).is_file():
            raise NnfunError(
                f"{run_dir} has no {name}: the run has not finished "
                f"(continue it with: nnfun train --resume {run_dir})"
            )
    config = read_json(run_dir / "config.json")
    history = read_json(run_dir / "history.json")
    metrics = read_json(run_dir / "metrics.json")

    def garbled(name: str, problem: str) -> NnfunError:
        return NnfunError(f"{run_dir / name} is not an nnfun {name}: {problem}")

    if not isinstance(config, dict):
        raise garbled("config.json", "expected an object of settings")
    if not isinstance(history, list) or not history:
        raise garbled("history.json", "expected a non-empty list of epochs")
    for i, record in enumerate(history):
        if not isinstance(record, dict):
            raise garbled("history.json", f"entry {i + 1} is not an object")
        for key in HISTORY_KEYS:
            value = record.get(key)
            if not (_is_number(value) or (value is None and key.startswith("val_"))):
                raise garbled("history.json", f"entry {i + 1} has no number {key!r}")
    if not isinstance(metrics, dict):
        raise garbled("metrics.json", "expected an object")
    if not _is_number(metrics.get("test_accuracy")):
        raise garbled("metrics.json", "no number 'test_accuracy'")
    try:
        matrix = np.asarray(metrics.get("confusion_matrix"), dtype=float)
        per_class = np.asarray(metrics.get("per_class_accuracy"), dtype=float)
    except (TypeError, ValueError):
        raise garbled(
            "metrics.json", "'confusion_matrix' or 'per_class_accuracy' is not numeric"
        ) from None
    if (
        matrix.ndim != 2
        or matrix.shape[0] != matrix.shape[1]
        or not matrix.size
        or (matrix < 0).any()
    ):
        raise garbled("metrics.json", "'confusion_matrix' is not a square table of counts")
    if per_class.shape != (len(matrix),):
        raise garbled("metrics.json", f"'per_class_accuracy' should hold {len(matrix)} numbers")
    return Run(run_dir, config, history, metrics)


def format_setting(value: Any) -> str:
    """A config value for people: `[1024, 512]` -> `1024,512`, `0.0001` -> `0.0001`, None -> `off`."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(format_setting(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_differences(runs: Sequence[Run]) -> list[str]:
    """The config keys whose values are not the same in every run (a missing key counts as a value)."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.config if k not in keys]
    missing = object()
    return [k for k in keys if len({repr(run.config.get(k, missing)) for run in runs}) > 1]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Short, distinct names: the folder names, with their parent folder where two would clash."""
    names = [run.name for run in runs]
    labels = []
    for run, name in zip(runs, names, strict=True):
        if names.count(name) > 1:
            name = f"{run.path.resolve().parent.name}/{name}"
        labels.append(name)
    return [
        f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]


# --------------------------------------------------------------------------- drawing helpers


def _render(path: Path, size: tuple[float, float], draw: Callable[[Figure], None]) -> Path:
    """Draw on a new Agg figure of `size` inches, render it to PNG bytes and write them atomically."""
    matplotlib, figure_class, canvas_class = _matplotlib()
    with matplotlib.rc_context(STYLE):
        fig = figure_class(figsize=size, dpi=DPI, layout="constrained")
        canvas_class(fig)
        draw(fig)
        buffer = BytesIO()
        fig.savefig(
            buffer, format="png", dpi=DPI, metadata={"Software": f"nnfun {nnfun.__version__}"}
        )
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _pct(fraction: float, digits: int = 2) -> str:
    return f"{100 * fraction:.{digits}f} %"


def _zoom(values: np.ndarray, *, floor: float = 0.0, ceiling: float = 100.0) -> tuple[float, float]:
    """An axis range in % that shows the spread of `values` with a margin, snapped to round numbers."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return floor, ceiling
    low, high = float(finite.min()), float(finite.max())
    spread = max(high - low, 0.5)
    step = 0.5 if spread < 2 else 1.0 if spread < 6 else 5.0 if spread < 25 else 10.0
    lo = max(floor, math.floor((low - 0.25 * spread) / step) * step)
    hi = min(ceiling, math.ceil((high + 0.15 * spread) / step) * step)
    return lo, max(hi, lo + step)


def _ink_on(rgba: Sequence[float]) -> str:
    """Black or white text, whichever reads better on a cell of colour `rgba`."""
    r, g, b = rgba[:3]
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else INK


def _with_header(fig: Figure, title: str, subtitle: str, inches: float = 0.64) -> SubFigure:
    """A bold title and a grey line under it across the top; returns the sub-figure below them."""
    height = float(fig.get_size_inches()[1])
    header, body = np.asarray(fig.subfigures(2, 1, height_ratios=[inches, height - inches])).ravel()
    header.text(0.008, 0.9, title, va="top", ha="left", fontsize=14, fontweight="bold", color=INK)
    header.text(0.008, 0.1, subtitle, va="bottom", ha="left", fontsize=10.5, color=MUTED)
    return body


def _plain_log_axis(ax: Axes) -> None:
    """Label a log-scaled y axis with plain numbers (0.05, 0.1, 0.2) instead of 5 x 10^-2."""
    from matplotlib.ticker import FuncFormatter

    low, high = ax.get_ylim()
    decades = math.log10(high / low) if low > 0 else 3.0
    keep = (1, 2, 3, 5) if decades <= 1.5 else (1, 3) if decades <= 3 else (1,)

    def label(value: float, _: Any) -> str:
        if value <= 0:
            return ""
        mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
        return f"{value:g}" if mantissa in keep else ""

    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_formatter(FuncFormatter(label))


def _rgba(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour)


def describe(run: Run) -> str:
    """`sgd, lr 0.01 (x0.1 at epochs 30, 50, 65), batch 128, 10 epochs in 24 s`."""
    c = run.config
    parts = [f"{c.get('optimizer', 'sgd')}, lr {format_setting(c.get('lr'))}"]
    schedule = c.get("schedule", "step")
    epochs = len(run.history)
    if schedule == "step":
        steps = [m for m in c.get("milestones") or [] if _is_number(m) and m < epochs]
        if steps:
            parts[0] += (
                f" (x{format_setting(c.get('gamma'))} at epoch {', '.join(map(str, steps))})"
            )
    elif schedule:
        parts[0] += f" ({schedule} schedule)"
    parts.append(f"batch {c.get('batch_size', '?')}")
    for key, label in (("dropout", "dropout"), ("label_smoothing", "label smoothing")):
        if c.get(key):
            parts.append(f"{label} {format_setting(c[key])}")
    if any(c.get(k) for k in ("shift", "rotate", "scale", "elastic_alpha")):
        parts.append("augmented")
    took = f"{run.seconds:.1f}" if run.seconds < 10 else f"{run.seconds:.0f}"
    parts.append(f"{epochs} epoch{'s' * (epochs != 1)} in {took} s")
    return ", ".join(parts)


# --------------------------------------------------------------------------- training curves


def training_curves(run: Run, path: Path, sizes: Sequence[int] | None = None) -> Path:
    """`training_curves.png`: loss and accuracy per epoch, learning-rate drops marked."""
    return _render(path, (13.5, 5.4), partial(_draw_curves, run=run, sizes=sizes))


def _lr_drops(run: Run) -> list[tuple[float, float]]:
    """`(x, new lr)` for each epoch that starts with a lower rate; x is the epochs done by then."""
    lr, epochs = run.column("lr"), run.column("epoch")
    drops = [(epochs[i] - 1, lr[i]) for i in range(1, len(lr)) if lr[i] < lr[i - 1] * (1 - 1e-9)]
    return drops if len(drops) <= 6 else []  # a smooth schedule (cosine...) would draw a fence


def _mark_lr_drops(ax: Axes, drops: Sequence[tuple[float, float]]) -> int:
    """A dotted line at each drop, labelled just above the plot; returns the rows of labels."""
    left, right = ax.get_xlim()
    last = -1.0
    raised_rows = []
    for x, lr in drops:
        ax.axvline(x, color=MUTED, linestyle=":", linewidth=1.4, zorder=1)
        where = (x - left) / (right - left)
        raised = where - last < 0.15  # two drops close together: stagger their labels
        last = -1.0 if raised else where
        raised_rows.append(raised)
        ax.text(
            x,
            1.075 if raised else 1.01,
            f"lr {lr:g}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color=MUTED,
        )
    return 0 if not drops else 2 if any(raised_rows) else 1


def _draw_curves(figure: Figure, *, run: Run, sizes: Sequence[int] | None) -> None:
    from matplotlib.ticker import MaxNLocator

    dataset = run.config.get("dataset", "mnist")
    fig = _with_header(
        figure,
        f"{run.network(sizes)} on {dataset}: test accuracy {_pct(run.test_accuracy)}",
        describe(run),
    )

    epochs = run.column("epoch")
    n = len(epochs)
    style: dict[str, Any] = {"linewidth": 2, "marker": "o" if n <= 40 else None, "markersize": 4}
    train_style = {**style, "color": BLUE, "linestyle": "--"}
    val_style = {**style, "color": ORANGE}
    has_val = bool(np.isfinite(run.column("val_accuracy")).any())
    ax_loss, ax_acc = fig.subplots(1, 2)

    ax_loss.plot(epochs, run.column("train_loss"), label="train", **train_style)
    if has_val:
        ax_loss.plot(epochs, run.column("val_loss"), label="validation", **val_style)
    losses = np.concatenate([run.column("train_loss"), run.column("val_loss")])
    losses = losses[np.isfinite(losses) & (losses > 0)]
    if losses.size and losses.max() / losses.min() > 8:
        ax_loss.set_yscale("log")
        _plain_log_axis(ax_loss)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy")
    ax_loss.legend(loc="upper right")

    train_acc, val_acc = 100 * run.column("train_accuracy"), 100 * run.column("val_accuracy")
    ax_acc.plot(epochs, train_acc, label="train", **train_style)
    if has_val:
        best, best_epoch = run.best_val()
        ax_acc.plot(
            epochs,
            val_acc,
            label=f"validation (best {_pct(best)}, epoch {best_epoch})",
            **val_style,
        )
    test = 100 * run.test_accuracy
    ax_acc.plot(
        [run.model_epoch()],
        [test],
        linestyle="none",
        marker="*",
        markersize=15,
        color=VERMILLION,
        markeredgecolor="white",
        zorder=5,
        label=f"test, final model ({_pct(run.test_accuracy)})",
    )
    # Zoom in on the interesting part: leave out the first epoch (often far below) when there are many.
    later = slice(1, None) if n >= 4 else slice(None)
    lo, hi = _zoom(np.concatenate([train_acc[later], val_acc[later], [test]]))
    ax_acc.set_ylim(lo, hi)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.legend(loc="lower right")

    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5 if n > 1 else 0, epochs[-1] + 0.5 if n > 1 else epochs[-1] + 1)
        rows = _mark_lr_drops(ax, _lr_drops(run))
    pad = 6 + 15 * rows
    ax_loss.set_title("Loss (log scale)" if ax_loss.get_yscale() == "log" else "Loss", pad=pad)
    ax_acc.set_title(f"Accuracy (zoomed in: {lo:g} to {hi:g} %)", pad=pad)


# --------------------------------------------------------------------------- confusion matrix


def confusion_matrix(matrix: np.ndarray, path: Path, title: str = "") -> Path:
    """`confusion_matrix.png`: counts; blue diagonal and orange mistakes, each shaded by row share."""
    return _render(
        path, (10.5, 8.6), partial(_draw_confusion, matrix=np.asarray(matrix), title=title)
    )


def _draw_confusion(fig: Figure, *, matrix: np.ndarray, title: str) -> None:
    import matplotlib as mpl
    from matplotlib.colors import ListedColormap, Normalize, PowerNorm
    from matplotlib.ticker import FuncFormatter

    k = len(matrix)
    totals = matrix.sum(axis=1)
    share = matrix / np.maximum(totals, 1)[:, None]
    eye = np.eye(k, dtype=bool)
    off = np.where(eye, 0.0, share)
    worst = float(off.max())

    # Two colour scales: the diagonal (~98 %) would wash out the mistakes (~0.1-2 %) on one scale.
    blues = ListedColormap(mpl.colormaps["Blues"](np.linspace(0.25, 1.0, 256)))
    oranges = ListedColormap(mpl.colormaps["Oranges"](np.linspace(0.08, 0.95, 256)))
    diag_low = min(0.9, float(share[eye].min())) if totals.any() else 0.9
    diag_norm = Normalize(vmin=100 * diag_low, vmax=100)
    # Relative to the worst mistake, but at least 2 %: a good model's matrix should look calm.
    off_top = 100 * max(worst, 0.02)
    off_norm = PowerNorm(0.5, vmin=0, vmax=off_top)

    ax = fig.subplots()
    ax.set_facecolor("white")
    ax.grid(False)
    diag_image = ax.imshow(np.ma.masked_where(~eye, 100 * share), cmap=blues, norm=diag_norm)
    off_image = ax.imshow(
        np.ma.masked_where(eye | (matrix == 0), 100 * share), cmap=oranges, norm=off_norm
    )
    for i in range(k):
        for j in range(k):
            count = int(matrix[i, j])
            if not count:
                continue
            value = 100 * share[i, j]
            colour = blues(diag_norm(value)) if i == j else oranges(off_norm(value))
            text = f"{count:,}\n{value:.1f} %" if i == j else f"{count:,}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                color=_ink_on(colour),
                fontsize=10 if i == j else 11,
                fontweight="bold" if i == j or share[i, j] >= worst / 2 else "normal",
                linespacing=1.1,
            )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticks(np.arange(-0.5, k), minor=True)
    ax.set_yticks(np.arange(-0.5, k), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="both", length=0)
    ax.tick_params(labelsize=11)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("predicted digit", fontsize=11.5)
    ax.set_ylabel("true digit", fontsize=11.5)
    secondary = ax.secondary_yaxis("right")
    secondary.set_yticks(range(k), [f"{n:,}" for n in totals])
    secondary.tick_params(length=0, labelsize=9.5, labelcolor=MUTED)
    secondary.set_ylabel("images of the true digit", color=MUTED)
    for spine in secondary.spines.values():
        spine.set_visible(False)

    bar = fig.colorbar(diag_image, ax=ax, shrink=0.8, pad=0.02, aspect=30)
    bar.set_label("correct: % of the true digit's images")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    bar = fig.colorbar(off_image, ax=ax, shrink=0.8, pad=0.01, aspect=30)
    bar.set_label("mistakes: % of the true digit's images (square-root scale)")
    bar.set_ticks([t for t in (0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if t <= off_top])
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    mistakes = int(matrix.sum() - np.trace(matrix))
    total = int(matrix.sum())
    heading = title or "Confusion matrix"
    ax.set_title(
        f"{heading}: {total:,} test images, {mistakes:,} mistakes "
        f"({_pct(np.trace(matrix) / max(total, 1))} correct)",
        loc="left",
        pad=12,
    )


# --------------------------------------------------------------------------- sample predictions


def sample_predictions(
    images: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    path: Path,
    *,
    grid: tuple[int, int] = (4, 12),
    mistakes: tuple[int, int] = (2, 8),
    seed: int = 0,
) -> Path:
    """`sample_predictions.png`: random test digits with their predictions, then the most confident mistakes."""
    images = np.asarray(images)
    side = math.isqrt(images.shape[1])
    if side * side != images.shape[1]:
        raise NnfunError(f"cannot draw images of {images.shape[1]} pixels: they are not square")
    draw = partial(
        _draw_samples,
        images=images.reshape(-1, side, side),
        labels=np.asarray(labels),
        proba=np.asarray(proba),
        grid=grid,
        mistakes=mistakes,
        seed=seed,
    )
    return _render(path, (13.2, 9.6), draw)


def _digit(ax: Axes, image: np.ndarray, frame: str, width: float) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(frame)
        spine.set_linewidth(width)


def _draw_samples(
    fig: Figure,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    grid: tuple[int, int],
    mistakes: tuple[int, int],
    seed: int,
) -> None:
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    rows, cols = grid
    count = min(rows * cols, len(labels))
    chosen = np.sort(np.random.default_rng(seed).choice(len(labels), size=count, replace=False))
    wrong = np.flatnonzero(predicted != labels)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][: mistakes[0] * mistakes[1]]
    mistake_rows = max(1, math.ceil(len(worst) / mistakes[1]))

    panels = fig.subfigures(
        2, 1, height_ratios=[rows * 1.0 + 0.5, mistake_rows * 1.45 + 0.5], hspace=0.02
    )
    top, bottom = np.asarray(panels).ravel()
    shown_wrong = int(np.count_nonzero(predicted[chosen] != labels[chosen]))
    _samples_panel(top, images, labels, predicted, chosen, rows, cols)
    top.suptitle(
        f"{count} random test digits, each under the network's answer: "
        f"{shown_wrong} wrong (red frame, true digit in brackets)",
        x=0.01,
        ha="left",
        fontsize=13,
    )
    if not len(worst):
        bottom.text(0.5, 0.5, "No mistakes on the test set.", ha="center", va="center", fontsize=13)
        return
    _mistakes_panel(bottom, images, labels, predicted, confidence, worst, mistake_rows, mistakes[1])
    bottom.suptitle(
        f"The {len(worst)} most confident mistakes, of {len(wrong):,} on {len(labels):,} test images",
        x=0.01,
        ha="left",
        fontsize=13,
    )


def _samples_panel(
    panel: Figure | SubFigure,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    chosen: np.ndarray,
    rows: int,
    cols: int,
) -> None:
    axes = np.atleast_1d(panel.subplots(rows, cols)).ravel()
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    for ax, i in zip(axes, chosen, strict=False):
        ok = predicted[i] == labels[i]
        _digit(ax, images[i], "#CCCCCC" if ok else VERMILLION, 0.8 if ok else 3)
        if ok:
            ax.set_title(
                str(predicted[i]), fontsize=11, color=INK, pad=3, loc="center", fontweight="normal"
            )
        else:
            ax.set_title(
                f"{predicted[i]} (true {labels[i]})",
                fontsize=10.5,
                color=VERMILLION,
                pad=3,
                loc="center",
                fontweight="bold",
            )


def _sure(probability: float) -> str:
    """`97 %`, or `99.7 %` near certainty: never a rounded-up `100 %` for a mistake."""
    value = 100 * float(probability)
    return f"{math.floor(value * 10) / 10:.1f} %" if value >= 99.5 else f"{value:.0f} %"


def _mistakes_panel(
    panel: Figure | SubFigure,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    worst: np.ndarray,
    rows: int,
    cols: int,
) -> None:
    axes = np.atleast_1d(panel.subplots(rows, cols)).ravel()
    for ax in axes[len(worst) :]:
        ax.set_visible(False)
    for ax, i in zip(axes, worst, strict=False):
        _digit(ax, images[i], VERMILLION, 2)
        ax.set_title(
            f"true {labels[i]} → predicted {predicted[i]}\n({_sure(confidence[i])} sure)",
            fontsize=10,
            color=INK,
            pad=4,
            loc="center",
            fontweight="normal",
            linespacing=1.25,
        )


# --------------------------------------------------------------------------- per-digit accuracy


def per_digit_accuracy(matrix: np.ndarray, path: Path, title: str = "") -> Path:
    """`per_digit_accuracy.png`: a bar per digit with its accuracy, the overall accuracy as a line."""
    return _render(
        path, (12.5, 6.2), partial(_draw_per_digit, matrix=np.asarray(matrix), title=title)
    )


def _draw_per_digit(fig: Figure, *, matrix: np.ndarray, title: str) -> None:
    from matplotlib.patches import Patch

    totals = matrix.sum(axis=1)
    correct = np.diag(matrix)
    accuracy = 100 * np.asarray(nnfun.per_class_accuracy(matrix))
    overall = 100 * np.trace(matrix) / max(int(matrix.sum()), 1)
    lo, _ = _zoom(np.append(accuracy[totals > 0], overall))
    ax = fig.subplots()
    digits = np.arange(len(matrix))
    colours = [BLUE if a >= overall else ORANGE for a in accuracy]
    ax.barh(digits, accuracy - lo, left=lo, height=0.68, color=colours)
    ax.axvline(overall, color=INK, linestyle="--", linewidth=1.4, zorder=3)
    ax.text(
        overall,
        1.005,
        f"all digits: {overall:.2f} %",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="bottom",
        fontsize=10,
        color=INK,
    )
    ax.set_xlim(lo, 100)
    ax.set_ylim(len(matrix) - 0.5, -0.5)
    ax.set_yticks(digits, [str(d) for d in digits], fontsize=12)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    ax.set_ylabel("true digit")
    ax.set_xlabel(f"test accuracy (%); the axis starts at {lo:g} %")
    for d in range(len(matrix)):
        ax.text(
            1.01,
            d,
            f"{accuracy[d]:6.2f} %   {totals[d] - correct[d]:,} wrong of {totals[d]:,}",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=10.5,
            color=INK if totals[d] else MUTED,
            family="monospace",
        )
    ax.text(
        1.01,
        -0.75,
        "accuracy   mistakes",
        transform=ax.get_yaxis_transform(),
        va="center",
        ha="left",
        fontsize=10,
        color=MUTED,
        family="monospace",
    )
    ax.set_axisbelow(True)
    ax.legend(
        handles=[
            Patch(color=BLUE, label="at or above all digits"),
            Patch(color=ORANGE, label="below all digits"),
        ],
        loc="upper right",
        bbox_to_anchor=(1.0, -0.09),
        ncols=2,
        fontsize=10,
        handlelength=1.2,
        borderaxespad=0,
    )
    ax.set_title(title or "Accuracy per digit", loc="left", pad=22)


# --------------------------------------------------------------------------- comparison


def comparison(runs: Sequence[Run], path: Path) -> Path:
    """`comparison.png`: test accuracy per run (bars) and their validation curves overlaid."""
    height = max(5.4, 3.2 + 0.35 * len(runs))
    return _render(path, (13.5, height), partial(_draw_comparison, runs=list(runs)))


def _draw_comparison(figure: Figure, *, runs: list[Run]) -> None:
    from matplotlib.ticker import MaxNLocator

    differs = [k for k in config_differences(runs) if k != "nnfun_version"]
    what = f"they differ in {', '.join(differs)}" if differs else "same settings"
    fig = _with_header(
        figure,
        f"{len(runs)} runs compared",
        f"{what}; test accuracy of each final model, validation accuracy by epoch",
    )
    names = run_labels(runs)
    legend_names = []
    for run, name in zip(runs, names, strict=True):
        settings = ", ".join(f"{k} {format_setting(run.config.get(k))}" for k in differs[:4])
        legend_names.append(f"{name} ({settings})" if settings else name)
    colours = [RUN_COLOURS[i % len(RUN_COLOURS)] for i in range(len(runs))]
    ax_bar, ax_curve = fig.subplots(1, 2, width_ratios=[1, 1.7])

    tests = np.array([100 * run.test_accuracy for run in runs])
    lo, _ = _zoom(tests)
    positions = np.arange(len(runs))
    ax_bar.barh(
        positions, tests - lo, left=lo, color=colours, height=0.6 if len(runs) > 3 else 0.45
    )
    for y, value, colour in zip(positions, tests, colours, strict=True):
        inside = (value - lo) / (100 - lo) > 0.3
        ax_bar.text(
            value,
            y,
            f" {value:.2f} % " if inside else f" {value:.2f} %",
            va="center",
            ha="right" if inside else "left",
            fontsize=10.5,
            fontweight="bold",
            color=_ink_on(_rgba(colour)) if inside else INK,
        )
    ax_bar.set_xlim(lo, 100)
    ax_bar.set_axisbelow(True)
    ax_bar.set_yticks(positions, names)
    ax_bar.set_ylim(len(runs) - 0.5, -0.5)
    ax_bar.tick_params(axis="y", length=0)
    ax_bar.grid(axis="y", visible=False)
    ax_bar.set_xlabel(f"test accuracy (%); the axis starts at {lo:g} %")
    ax_bar.set_title("Test accuracy")

    values = []
    for run, name, colour in zip(runs, legend_names, colours, strict=True):
        val = 100 * run.column("val_accuracy")
        if not np.isfinite(val).any():
            ax_curve.plot([], [], color=colour, linewidth=2, label=f"{name}: no validation data")
            continue
        epochs = run.column("epoch")
        values.append(val[1:] if len(val) >= 4 else val)
        ax_curve.plot(
            epochs,
            val,
            color=colour,
            linewidth=2,
            label=name,
            marker="o" if len(val) <= 30 else None,
            markersize=3.5,
        )
        best, epoch = run.best_val()
        ax_curve.plot(
            [epoch],
            [100 * best],
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor=colour,
            markeredgewidth=2,
        )
    if values:
        low, high = _zoom(np.concatenate(values))
        ax_curve.set_ylim(low, high)
        ax_curve.legend(loc="lower right", fontsize=9.5)
        ax_curve.set_title(
            f"Validation accuracy (best epoch circled; zoomed in: {low:g} to {high:g} %)"
        )
    else:
        ax_curve.text(
            0.5, 0.5, "no validation data in these runs", transform=ax_curve.transAxes, ha="center"
        )
        ax_curve.set_title("Validation accuracy")
    ax_curve.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_curve.set(xlabel="epoch", ylabel="accuracy (%)")


# --------------------------------------------------------------------------- a run's figures


def write_run_figures(
    run_dir: Path, params: nnfun.Params, test_x: np.ndarray, test_y: np.ndarray
) -> list[Path]:
    """Write the four figures of a run into `run_dir`, from its JSON files and the model's predictions."""
    check_available()
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    proba = nnfun.predict_proba(params, nnfun.scale_pixels(test_x))
    matrix = run.matrix
    name = run.network(nnfun.layer_sizes(params))
    return [
        training_curves(run, run_dir / RUN_FIGURES[0], nnfun.layer_sizes(params)),
        confusion_matrix(matrix, run_dir / RUN_FIGURES[1], f"{name}"),
        sample_predictions(test_x, test_y, proba, run_dir / RUN_FIGURES[2]),
        per_digit_accuracy(matrix, run_dir / RUN_FIGURES[3], f"Accuracy per digit, {name}"),
    ]


__all__ = [
    "HINT",
    "RUN_FIGURES",
    "PlotsUnavailable",
    "Run",
    "check_available",
    "comparison",
    "config_differences",
    "confusion_matrix",
    "format_setting",
    "load_run",
    "per_digit_accuracy",
    "run_labels",
    "sample_predictions",
    "training_curves",
    "write_run_figures",
]
