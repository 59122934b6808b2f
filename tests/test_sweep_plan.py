"""Sweep plans: parsing --grid, --range, --seeds and sweep files, and expanding them into trials."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnfun import Config
from nnfun.errors import ConfigError
from nnfun.recipes.settings import SETTINGS
from nnfun_cli.app import app
from nnfun_cli.sweep.plan import (
    Range,
    Spec,
    expand,
    format_value,
    merge,
    parse_grid,
    parse_range,
    parse_seeds,
    parse_sweep_file,
    parse_value,
)

BASE = Config(epochs=3, hidden=(16,))


def test_a_grid_is_every_combination_with_seeds_innermost() -> None:
    spec = Spec(grid=dict([parse_grid("hidden=16,32"), parse_grid("lr=0.01,0.15")]), seeds=(0, 1))
    trials = expand(spec, BASE)
    assert [t.name for t in trials[:3]] == [
        "hidden-16_lr-0.01_seed-0",
        "hidden-16_lr-0.01_seed-1",
        "hidden-16_lr-0.15_seed-0",
    ]
    assert len(trials) == 8 and len({t.name for t in trials}) == 8
    last = trials[-1]
    assert last.settings["hidden"] == [32] and last.settings["lr"] == 0.15
    assert last.settings["seed"] == 1 and last.settings["epochs"] == 3
    assert Config.from_dict(last.settings) == Config(hidden=(32,), lr=0.15, seed=1, epochs=3)


def test_values_take_the_type_of_their_setting() -> None:
    assert parse_grid("hidden=512+512, 1024") == ("hidden", ((512, 512), (1024,)))
    assert parse_grid("batch-size=64,128,64") == ("batch_size", (64, 128))
    assert parse_grid("keep_best=true,no") == ("keep_best", (True, False))
    assert parse_grid("optimizer=sgd,adam") == ("optimizer", ("sgd", "adam"))
    assert parse_grid("clip=0,5") == ("clip", (None, 5.0))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("lr", "SETTING=VALUES"),
        ("learning_rate=0.1", "no setting 'learning_rate'"),
        ("seed=1,2", "--seeds"),
        ("epochs=2.5", "epochs takes a whole number"),
        ("hidden=512x512", "joined by '+'"),
        ("lr=fast", "lr takes a number"),
    ],
)
def test_bad_grids_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        parse_grid(text)


@given(st.text(max_size=40))
def test_any_grid_text_parses_or_raises_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_grid(text)


float_values = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False)


@given(float_values)
def test_a_float_in_a_folder_name_reads_back_as_the_same_float(value: float) -> None:
    assert parse_value("lr", format_value(value)) == value


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=4))
def test_layer_lists_read_back_from_their_folder_names(layers: list[int]) -> None:
    assert parse_value("hidden", format_value(tuple(layers))) == tuple(layers)


def test_ranges_and_seeds() -> None:
    assert parse_range("lr=log:0.001..0.3") == ("lr", Range(0.001, 0.3, log=True))
    assert parse_range("momentum=0.8..0.99") == ("momentum", Range(0.8, 0.99))
    assert parse_seeds("0..3") == (0, 1, 2, 3) and parse_seeds("4,2,4") == (4, 2)
    for bad, needle in [
        ("lr=0.3..0.001", "low < high"),
        ("lr=log:0..1", "low > 0"),
        ("optimizer=1..2", "numeric settings"),
        ("lr=0.1", "LOW..HIGH"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            parse_range(bad)


@given(st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_random_search_is_reproducible_and_stays_in_range(seed: int, samples: int) -> None:
    spec = Spec(
        grid={"optimizer": ("sgd", "nesterov")},
        ranges={"lr": Range(0.001, 0.3, log=True), "hidden": Range(16, 64)},
        samples=samples,
        sample_seed=seed,
    )
    trials = expand(spec, BASE)
    assert [t.name for t in trials] == [t.name for t in expand(spec, BASE)]
    assert len(trials) == samples and len({t.name for t in trials}) == samples
    for trial in trials:
        assert 0.001 <= trial.varied["lr"] <= 0.3 and 16 <= trial.varied["hidden"][0] <= 64
        assert trial.varied["lr"] == float(f"{trial.varied['lr']:.3g}")


def test_a_small_space_gives_fewer_samples_not_repeats() -> None:
    trials = expand(Spec(grid={"lr": (0.1, 0.2)}, samples=10), BASE)
    assert sorted(t.varied["lr"] for t in trials) == [0.1, 0.2]


def test_nothing_to_sweep_and_ranges_without_samples_are_errors() -> None:
    with pytest.raises(ConfigError, match="nothing to sweep"):
        expand(Spec(), BASE)
    with pytest.raises(ConfigError, match="--samples"):
        expand(Spec(ranges={"lr": Range(0.1, 0.2)}), BASE)
    with pytest.raises(ConfigError, match="trial momentum-2.0_seed-0: momentum"):
        expand(Spec(grid={"momentum": (2.0,)}), BASE)


def test_a_setting_the_variation_makes_meaningless_falls_back_to_its_default() -> None:
    augmented = Config(elastic_alpha=34.0, elastic_sigma=6.0)
    trials = expand(Spec(grid={"elastic_alpha": (0.0, 34.0)}), augmented)
    assert [t.settings["elastic_sigma"] for t in trials] == [Config().elastic_sigma, 6.0]


SWEEP_FILE = """
recipe = "seed"
seeds = [0, 1]
[settings]
epochs = 5
[grid]
hidden = [128, [256, 256]]
lr = [0.01, 0.15]
"""


def test_a_sweep_file_holds_what_the_flags_hold() -> None:
    file = parse_sweep_file(SWEEP_FILE, "s.toml")
    assert file.recipe == "seed" and file.settings == {"epochs": 5}
    flags = Spec(
        grid=dict([parse_grid("hidden=128,256+256"), parse_grid("lr=0.01,0.15")]), seeds=(0, 1)
    )
    assert expand(file.spec, BASE) == expand(flags, BASE)
    override = merge(file.spec, Spec(grid=dict([parse_grid("lr=0.05")]), seeds=(7,)))
    assert override.grid["lr"] == (0.05,) and override.seeds == (7,)
    assert override.grid["hidden"] == ((128,), (256, 256))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("grid = 3", "[grid] must be a table"),
        ("[grid]\nlr = []", "non-empty list"),
        ("sweeps = 3", "unknown key(s) sweeps"),
        ("[range]\nlr = { low = 1 }", "needs numbers low and high"),
        ("samples = -1", "whole number >= 0"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_bad_sweep_files_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        parse_sweep_file(text, "s.toml")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--grid", "nope=1"], "no setting 'nope'"),
        (["--grid", "lr=1", "--grid", "lr=2"], "--grid lr is given twice"),
        (["--grid", "lr=1", "--name", "../up"], "--name '../up'"),
        (["--grid", "lr=1", "--workers", "0"], "at least 1"),
        (["--range", "lr=0.1..0.2"], "--samples"),
    ],
)
def test_the_command_rejects_bad_input_in_one_line(
    args: list[str], needle: str, random_data: Path, tmp_path: Path
) -> None:
    common = ["--data-dir", str(random_data), "--root", str(tmp_path), "--val-size", "100"]
    result = CliRunner().invoke(app, ["sweep", *args, *common])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and needle in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--out", "x"], "No such option: --out"),
        (["--epochs", "many"], "Invalid value for '--epochs'"),
        (["--optimizer", "rmsprop"], "Invalid value for '--optimizer'"),
        (["--recipe", "nope"], "Invalid value for '--recipe'"),
        (["--bogus"], "No such option: --bogus"),
    ],
)
def test_bad_setting_options_fail_as_in_train(args: list[str], needle: str) -> None:
    """Sweep's setting options are train's, from the same table: typed, with the same choices."""
    result = CliRunner().invoke(app, ["sweep", "--grid", "lr=1", *args])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.stderr.split()), result.stderr


def test_sweep_and_train_offer_the_same_setting_options() -> None:
    command = typer.main.get_command(app)
    options = {
        name: {
            p.name: (str(p.type_descriptor.annotation), p.opts, p.help, p.default, p.metavar)
            for p in command.commands[name].params  # type: ignore[attr-defined]
        }
        for name in ("train", "sweep")
    }
    settings = [s.name for s in SETTINGS]
    assert all(options["train"][k] == options["sweep"][k] for k in settings)
    assert options["train"]["recipe"][0] == options["sweep"]["recipe"][0]


def test_a_trial_folder_of_other_settings_is_not_continued(
    random_data: Path, tmp_path: Path
) -> None:
    args = ["sweep", "--grid", "lr=0.01", "--seeds", "0,1", "--data-dir", str(random_data)]
    args += ["--root", str(tmp_path), "--val-size", "100", "--hidden", "8", "--no-figures"]
    assert CliRunner().invoke(app, [*args, "--epochs", "1", "--workers", "1"]).exit_code == 0
    result = CliRunner().invoke(app, [*args, "--epochs", "2"])
    assert result.exit_code == 2 and "was run with other settings (epochs)" in result.stderr
