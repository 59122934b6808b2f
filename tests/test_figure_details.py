"""Details a reader of the figures notices: whole epochs, complete legends, legends that cover
nothing, and captions that name the colours actually drawn.

Every figure is drawn for real; `Figure.savefig` is watched so each check sees the finished
matplotlib figure just before it becomes a PNG.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_sweep_summary import finished

from nnfun import Config
from nnfun.io.runs import Run
from nnfun_cli.plots import style
from nnfun_cli.plots.comparison import comparison
from nnfun_cli.plots.curves import training_curves
from nnfun_cli.plots.sweep import sweep_figure
from nnfun_cli.run_display import format_setting
from nnfun_cli.sweep.summary import TrialResult, rank

matplotlib = pytest.importorskip("matplotlib")


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The matplotlib figures drawn during the test, drawn to the end (layout included)."""
    from matplotlib.figure import Figure

    drawn: list[Any] = []
    save = Figure.savefig

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = save(self, *args, **kwargs)
        drawn.append(self)
        return result

    monkeypatch.setattr(Figure, "savefig", watched)
    return drawn


def a_run(name: str, epochs: int, **settings: Any) -> Run:
    history = [
        {"epoch": e, "lr": 0.05 * 0.5 ** (e // 3), "train_loss": 1 / e, "train_accuracy": 0.9,
         "val_loss": 1.1 / e, "val_accuracy": 0.9 + e / 1000, "seconds": 1.0}
        for e in range(1, epochs + 1)
    ]  # fmt: skip
    metrics = {"test_accuracy": 0.95, "train_accuracy": 0.96, "val_accuracy": 0.95,
               "train_seconds": 3.0, "test_loss": 0.2}  # fmt: skip
    return Run(Path(name), Config().to_dict() | settings, history, metrics)


def epoch_axes(fig: Any) -> list[Any]:
    return [ax for ax in fig.get_axes() if ax.get_xlabel() == "epoch"]


@pytest.mark.parametrize("epochs", [1, 2, 7, 80])
def test_epoch_axes_have_whole_epochs_only(epochs: int, figures: list[Any], tmp_path: Path) -> None:
    grid = [finished({"lr": lr}, 0, [0.9 + lr] * epochs, 0.9) for lr in (0.01, 0.05)]
    sweep_figure("s", rank(grid), ["lr"], tmp_path / "sweep.png", grid=True)
    training_curves(a_run("r", epochs), tmp_path / "curves.png")
    comparison([a_run("a", epochs), a_run("b", epochs, lr=0.1)], tmp_path / "cmp.png")
    axes = [ax for fig in figures for ax in epoch_axes(fig)]
    assert len(axes) == 4
    for ax in axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), (ax.get_title(), ticks)


def test_the_comparison_legend_names_every_differing_setting(
    figures: list[Any], tmp_path: Path
) -> None:
    changes = {"optimizer": "adamw", "lr": 0.001, "weight_decay": 0.0005, "schedule": "cosine",
               "dropout": 0.1, "label_smoothing": 0.1, "shift": 2.0}  # fmt: skip
    comparison([a_run("a", 5), a_run("b", 5, **changes)], tmp_path / "cmp.png")
    (legend,) = [ax.get_legend() for ax in figures[0].get_axes() if ax.get_legend()]
    for text in legend.get_texts():
        label = " ".join(text.get_text().split())
        assert all(f"{key} " in label for key in changes), label


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({}, "test, final model"),
        ({"keep_best": True}, "test, kept (best-validation) model"),
        ({"ema_decay": 0.999}, "test, final averaged weights"),
        ({"ema_decay": 0.999, "keep_best": True}, "test, kept (best-validation) averaged weights"),
    ],
)
def test_the_test_star_says_which_weights_and_is_drawn_whole(
    settings: dict[str, Any], said: str, figures: list[Any], tmp_path: Path
) -> None:
    """The star sits at the delivered epoch, often the last, on the axes' edge: never clipped."""
    training_curves(a_run("r", 12, **settings), tmp_path / "curves.png")
    stars = [
        line
        for ax in figures[0].get_axes()
        for line in ax.get_lines()
        if line.get_marker() == "*" and line.get_label().startswith("test, ")
    ]
    assert [line.get_label().rsplit(" (", 1)[0] for line in stars] == [said]
    assert not stars[0].get_clip_on()


def test_the_loss_legend_covers_no_curve(figures: list[Any], tmp_path: Path) -> None:
    """The loss panel's legend (with the learning-rate line) sits outside the plotting area."""
    training_curves(a_run("r", 30, label_smoothing=0.1), tmp_path / "curves.png")
    renderer = figures[0].canvas.get_renderer()
    for ax in figures[0].get_axes():
        legend = ax.get_legend()
        if legend and any("learning rate" in t.get_text() for t in legend.get_texts()):
            box, area = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            assert box.y1 <= area.y0, "the legend overlaps the loss panel"
            return
    pytest.fail("no legend names the learning rate")


def test_colour_words_match_the_colours() -> None:
    named = {
        style.BLUE: "blue", style.SKY: "blue", style.ORANGE: "orange", style.VERMILLION: "orange",
        style.GREEN: "green", style.YELLOW: "yellow", style.BLACK: "black", style.MUTED: "grey",
        style.FAINT: "grey", "#FF0000": "red", "#D00000": "red", "#800080": "purple",
    }  # fmt: skip
    assert {colour: style.colour_word(colour) for colour in named} == named


def test_captions_name_colours_only_through_colour_word() -> None:
    """A colour written into a caption by hand can drift from the colour drawn."""
    import ast

    words = {"red", "orange", "blue", "green", "yellow", "purple", "pink", "grey", "gray"}
    folder = Path(style.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "style.py":  # the vocabulary itself, in colour_word
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                found = words & set(node.value.lower().replace("(", " ").split())
                assert not found, f"{path.name}:{node.lineno}: {node.value!r} names {found}"


SETTINGS: dict[str, list[Any]] = {
    "hidden": [(1024, 1024), (1024, 1024, 1024), (2048, 1024)],
    "label_smoothing": [0.0, 0.05, 0.1],
    "ema_decay": [0.0, 0.999, 0.9995],
    "dropout": [0.0, 0.1],
    "elastic_alpha": [0.0, 24.0, 34.0],
    "lr": [0.0207, 0.04, 0.117],
    "weight_decay": [1.19e-5, 5e-5, 1.98e-4],
    "batch_size": [64, 128, 256],
}


def random_search(values: dict[str, list[Any]], trials: int = 12) -> list[TrialResult]:
    """Finished trials with each setting drawn from `values`, as a random search makes them."""
    rng = np.random.default_rng(0)
    return [
        finished(
            {k: v[int(rng.integers(len(v)))] for k, v in values.items()},
            0,
            [0.9, 0.95 + float(rng.uniform(0, 0.04))],
            0.9,
        )
        for _ in range(trials)
    ]


def setting_panels(fig: Any) -> list[Any]:
    return [ax for ax in fig.get_axes() if ax.get_title("left").startswith("Accuracy against")]


@pytest.mark.parametrize("count", [5, 7, 8])
def test_every_varied_setting_gets_a_panel_in_rows_of_four(
    count: int, figures: list[Any], tmp_path: Path
) -> None:
    varied = list(SETTINGS)[:count]
    results = random_search({k: SETTINGS[k] for k in varied})
    sweep_figure("s", rank(results), varied, tmp_path / "sweep.png", grid=False)
    (fig,) = figures
    renderer = fig.canvas.get_renderer()
    panels = setting_panels(fig)
    assert [ax.get_title("left") for ax in panels] == [f"Accuracy against {k}" for k in varied]
    rows: dict[float, int] = {}
    for ax in panels:
        y = round(ax.get_window_extent(renderer).y0)
        rows[y] = rows.get(y, 0) + 1
    assert len(rows) == -(-count // 4) and max(rows.values()) <= 4, rows
    # each panel with its title and labels: inside the figure, clear of every other panel
    boxes = [ax.get_tightbbox(renderer) for ax in panels]
    assert not [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]
    area = fig.bbox
    assert all(area.x0 <= b.x0 and b.x1 <= area.x1 and b.y1 <= area.y1 for b in boxes)
    (curves,) = epoch_axes(fig)
    assert curves.get_tightbbox(renderer).y1 < min(box.y0 for box in boxes)
    boxes = [t.get_window_extent(renderer) for sub in fig.subfigs for t in sub.texts]  # header
    boxes += [ax.get_tightbbox(renderer) for ax in fig.get_axes()]
    assert all(inside(box, area) for box in boxes), [b for b in boxes if not inside(b, area)]


def inside(box: Any, area: Any) -> bool:
    return bool(area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1)


def visible_tick_labels(ax: Any, renderer: Any) -> list[Any]:
    low, high = sorted(ax.get_xlim())
    return [
        label
        for label, tick in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
        if label.get_visible() and label.get_text() and low <= tick <= high
    ]


CROWDED: list[list[Any]] = [
    [0.0, 0.999, 0.9995],
    [1e-5, 1.1e-5, 1e-3],
    [0.1, 0.1001, 0.5],
    [0.0, 0.001, 0.002, 0.5, 1.0],
    [1, 2, 3, 1000],
]


def drawn_panels(
    settings: dict[str, list[Any]], figures: list[Any], tmp_path: Path
) -> tuple[list[Any], Any]:
    """Draw a sweep whose trials take the settings' values in turn: its panels and renderer."""
    trials = max(len(v) for v in settings.values())
    results = [
        finished({k: v[i % len(v)] for k, v in settings.items()}, 0, [0.9, 0.96 + i / 1000], 0.9)
        for i in range(trials)
    ]
    sweep_figure("s", rank(results), list(settings), tmp_path / "sweep.png", grid=False)
    (fig,) = figures
    panels = setting_panels(fig)
    assert [ax.get_xlabel() for ax in panels] == list(settings)
    return panels, fig.canvas.get_renderer()


@pytest.mark.parametrize("values", CROWDED, ids=str)
def test_crowded_setting_values_get_tick_labels_that_do_not_overlap(
    values: list[Any], figures: list[Any], tmp_path: Path
) -> None:
    """Each value keeps its label, and no two labels of a panel touch (four panels to a row)."""
    settings = {"ema_decay": values} | {k: SETTINGS[k] for k in ("hidden", "dropout", "lr")}
    panels, renderer = drawn_panels(settings, figures, tmp_path)
    for ax in panels:
        labels = visible_tick_labels(ax, renderer)
        if ax.get_xlabel() == "ema_decay":
            assert [t.get_text() for t in labels] == [format_setting(v) for v in values]
        boxes = [label.get_window_extent(renderer) for label in labels]
        overlapping = [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]
        assert not overlapping, (ax.get_xlabel(), [t.get_text() for t in labels])


@pytest.mark.parametrize(
    "values",
    [
        [float(f"{v:.3g}") for v in np.geomspace(0.02, 0.15, 12)],  # a sampled range: 12 values
        [(w,) * d for w in (512, 1024, 2048) for d in (1, 2, 3)],  # nine long layer lists
    ],
    ids=["sampled-lr", "layer-lists"],
)
def test_many_values_keep_their_tick_labels_apart(
    values: list[Any], figures: list[Any], tmp_path: Path
) -> None:
    settings = {"lr": values} | {k: SETTINGS[k] for k in ("dropout", "ema_decay", "batch_size")}
    panels, renderer = drawn_panels(settings, figures, tmp_path)
    for ax in panels:
        boxes = [label.get_window_extent(renderer) for label in visible_tick_labels(ax, renderer)]
        assert len(boxes) >= 2 and not any(a.overlaps(b) for a, b in combinations(boxes, 2))


@pytest.mark.parametrize("values", [[1e-4, 1e-3, 1e-2], [1, 2, 3, 1000]], ids=str)
def test_spread_positive_values_keep_a_log_axis(
    values: list[Any], figures: list[Any], tmp_path: Path
) -> None:
    results = [finished({"weight_decay": v}, 0, [0.9, 0.96 + v / 1e5], 0.9) for v in values]
    sweep_figure("s", rank(results), ["weight_decay"], tmp_path / "sweep.png", grid=True)
    (panel,) = setting_panels(figures[0])
    assert panel.get_xscale() == "log"
    assert [float(t) for t in panel.get_xticks()] == [float(v) for v in values]
