"""Recipes and --config files: merged in order, saved with the run, repeatable."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import nnfun as nf
from nnfun import recipes
from nnfun_cli.app import app, resolve_config

runner = CliRunner()


def test_seed_recipe_is_exactly_the_defaults() -> None:
    assert resolve_config("seed", None, {}) == nf.Config()


def test_every_shipped_recipe_is_a_valid_config() -> None:
    assert "seed" in recipes.recipe_names()
    for name in recipes.recipe_names():
        nf.Config.from_dict(recipes.load_recipe(name))
        assert recipes.describe(name)


def test_flags_override_config_file_override_recipe(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_text('lr = 0.5\nepochs = 7\noptimizer = "adamw"\n')
    flags = {"epochs": 3, "hidden": (64, 32), "clip": 0.0}
    config = resolve_config("seed", path, flags)
    assert (config.lr, config.epochs, config.optimizer, config.hidden) == (
        0.5,
        3,
        "adamw",
        (64, 32),
    )
    assert config.clip is None  # 0 turns clipping off
    assert flags == {"epochs": 3, "hidden": (64, 32), "clip": 0.0}  # the caller's dict, untouched


@pytest.mark.parametrize(
    "text, needle",
    [("lr = ", "not valid TOML"), ("learning_rate = 1", "unknown"), ("lr = -2", "learning rate")],
)
def test_bad_config_files(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(nf.ConfigError, match=needle):
        resolve_config("seed", path, {})


def test_unknown_recipe() -> None:
    result = runner.invoke(app, ["train", "--recipe", "nope"])  # a choice: Typer refuses it
    message = " ".join(result.stderr.replace("│", " ").split())
    assert result.exit_code == 2 and "'nope' is not one of 'best', 'seed'" in message
    with pytest.raises(nf.ConfigError, match="choose one of"):  # a script gets the same answer
        resolve_config("nope", None, {})


configs = st.builds(
    nf.Config,
    hidden=st.lists(st.integers(1, 4096), min_size=1, max_size=4).map(tuple),
    lr=st.floats(1e-6, 10),
    clip=st.one_of(st.none(), st.floats(0.01, 100)),
    optimizer=st.sampled_from(["sgd", "nesterov", "adam", "adamw"]),
    dataset=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="/\\"),
        min_size=1,
        max_size=12,
    ).filter(lambda name: name not in (".", "..")),
    keep_best=st.booleans(),
    weight_decay=st.floats(0, 1),
)


@given(configs)
def test_saved_toml_repeats_the_config_exactly(config: nf.Config) -> None:
    text = nf.recipes.to_toml(config.to_dict())
    assert nf.Config.from_dict(nf.recipes.parse_settings(text, "saved")) == config


def test_a_taken_run_folder_is_told_in_values_by_the_library_and_in_flags_by_the_cli(
    tmp_path: Path, random_data: Path
) -> None:
    from nnfun.io.fitting import RunExists, new_run_dir

    (tmp_path / "model.npz").write_bytes(b"")
    with pytest.raises(RunExists) as caught:
        new_run_dir(tmp_path)
    assert "--" not in str(caught.value)
    result = runner.invoke(
        app, ["train", "--out", str(tmp_path), "--data-dir", str(random_data), "--val-size", "100"]
    )
    assert result.exit_code == 2 and "pick another --out" in result.stderr


def test_every_shipped_recipe_describes_itself_in_a_line_that_fits_80_columns() -> None:
    """`nnfun recipes` prints each first comment line in a table: `│ name │ text │` in 80."""
    from nnfun.recipes import describe, recipe_names

    for name in recipe_names():
        text = describe(name)
        assert text and len("│ " + max(recipe_names(), key=len) + " │ " + text + " │") <= 80, text
