"""The sample digits shipped with nnfun: drawn by a script, found by `nnfun.samples()`, read right.

A newcomer's first `nnfun predict` runs on them, and so does every example in the README, so
they must be the script's exact output and a trained network must read each one as its name says.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from typer.testing import CliRunner

import nnfun
from nnfun_cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DIGITS = {"zero": 0, "two": 2, "three": 3, "four": 4, "seven": 7}


def test_the_shipped_files_are_what_the_script_draws() -> None:
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "tools/make_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.samples()
    shipped = {path.name: path.read_bytes() for path in nnfun.samples().values()}
    assert shipped.keys() == drawn.keys()
    assert all(shipped[name] == body for name, body in drawn.items()), "rerun tools/make_samples.py"


def test_there_are_drawn_and_photographed_digits_and_a_blank_page() -> None:
    names = set(nnfun.samples())
    assert any(n.endswith("-drawn") for n in names) and any(n.endswith("-photo") for n in names)
    assert "blank-page" in names
    assert {n.split("-")[0] for n in names} <= set(DIGITS) | {"blank"}


def test_a_trained_network_reads_every_sample_as_its_name_says(small_run: Path) -> None:
    model = nnfun.load_model(small_run)
    for name, path in nnfun.samples().items():
        picture = nnfun.read_image(path)  # Netpbm: no Pillow needed
        reading = nnfun.read_digit(model, picture)
        expected = DIGITS.get(name.split("-")[0])
        assert reading.digit == expected, (name, reading.probabilities)
        if expected is not None:
            assert reading.probabilities is not None and reading.probabilities.max() > 0.5, name


def test_predict_samples_names_them_briefly(small_run: Path) -> None:
    result = CliRunner().invoke(app, ["predict", str(small_run), "--samples", "--json"])
    assert result.exit_code == 1  # the blank page holds no digit, like any blank picture
    document = json.loads(result.stdout)
    files = [p["file"] for p in document["predictions"]]
    assert files == [f"samples/{p.name}" for p in nnfun.samples().values()]
    digits = {p["file"]: p["digit"] for p in document["predictions"]}
    assert digits["samples/seven-drawn.pgm"] == 7 and digits["samples/blank-page.ppm"] is None
    assert not document["errors"]


def test_predict_without_pictures_says_what_to_give() -> None:
    result = CliRunner().invoke(app, ["predict", "nowhere"])
    assert result.exit_code == 2 and "--samples" in result.stderr
