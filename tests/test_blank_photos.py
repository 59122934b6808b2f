"""Nearly blank photographs: a page with sensor noise, JPEG blocks or one speck holds no digit.

A generated corpus (noise levels × JPEG qualities × specks × sizes) goes through the one path
from a picture to an answer (`read_digit`), through `nnfun predict` in a batch with a real digit,
and through the server: never an exception, never a digit, never a lost neighbour, never a 5xx.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image
from test_serve import request, running
from typer.testing import CliRunner

import nnfun as nf
from nnfun_cli.app import app

NOISE = (0, 1, 3, 6, 12, 25)  # standard deviation of the sensor noise, of 255
QUALITY = (20, 35, 50, 75, 95)  # JPEG quality
SPECK = (0, 1, 2)  # side of a dark speck of dust, in pixels (0: none)
SIZES = ((60, 80), (480, 640))
EXTREME = list(itertools.product(((28, 28), (300, 400)), (50,), (5, 10), (0, 3)))
"""Beyond sensor noise (a fifth of full scale, quality 5): no crash, whatever the answer."""


def page(size: tuple[int, int], noise: float, quality: int, speck: int, seed: int = 0) -> bytes:
    """A photo of a blank white page as JPEG bytes, with Gaussian noise and maybe a speck."""
    rng = np.random.default_rng(seed)
    grey = 235 + rng.normal(0, noise, size)
    if speck:
        top, left = rng.integers(2, size[0] - speck - 2), rng.integers(2, size[1] - speck - 2)
        grey[top : top + speck, left : left + speck] = 20
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


CORPUS = list(itertools.product(SIZES, NOISE, QUALITY, SPECK))


@pytest.fixture(scope="module")
def params() -> nf.Params:
    return nf.init_params((784, 32, 10), nf.rng_for(0))


def test_no_blank_page_holds_a_digit(params: nf.Params) -> None:
    found = []
    for size, noise, quality, speck in CORPUS:
        reading = nf.read_digit(params, decoded(page(size, noise, quality, speck)))
        if reading.digit is not None or reading.seen.any():
            found.append(f"{size} noise {noise} quality {quality} speck {speck}")
    assert not found, f"{len(found)} of {len(CORPUS)} blank pages read as digits: {found[:5]}"


@pytest.mark.parametrize("case", list(EXTREME))
def test_extreme_noise_never_crashes(params: nf.Params, case: tuple[object, ...]) -> None:
    size, noise, quality, speck = case
    reading = nf.read_digit(params, decoded(page(size, noise, quality, speck)))  # type: ignore[arg-type]
    assert reading.seen.shape == (28, 28) and np.isfinite(reading.seen).all()


@pytest.mark.parametrize("size", [(28, 28), (100, 100), (2000, 3000)])
def test_a_one_pixel_speck_on_white_is_not_a_digit(
    params: nf.Params, size: tuple[int, int]
) -> None:
    white = np.full(size, 255, dtype=np.uint8)
    white[size[0] // 3, size[1] // 2] = 0
    assert nf.read_digit(params, white).digit is None


def test_a_real_digit_still_reads(params: nf.Params, mnist: dict[str, np.ndarray]) -> None:
    """The blank tests must not make every picture blank: MNIST digits as dark-on-white photos."""
    digits = mnist["t10k-images-idx3-ubyte"][:200]
    for digit in digits:
        photo = np.asarray(
            Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR)
        )
        assert nf.read_digit(params, photo).digit is not None


def test_one_blank_page_costs_no_other_file_in_a_batch(small_run: Path, tmp_path: Path, mnist: dict[str, np.ndarray]) -> None:  # fmt: skip
    seven = mnist["t10k-images-idx3-ubyte"][0]
    Image.fromarray(255 - seven).save(tmp_path / "a_digit.png")
    for i, case in enumerate(CORPUS[::7]):
        (tmp_path / f"blank_{i}.jpg").write_bytes(page(*case))
    (tmp_path / "z_digit.png").write_bytes((tmp_path / "a_digit.png").read_bytes())
    result = CliRunner().invoke(app, ["predict", str(small_run), str(tmp_path), "--jsonl"])
    assert "Traceback" not in result.stderr and result.exit_code in (0, 1), result.stderr
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    by_file = {Path(r["file"]).name: r for r in records}
    assert len(by_file) == len(CORPUS[::7]) + 2
    assert by_file["a_digit.png"]["digit"] == by_file["z_digit.png"]["digit"] == 7
    assert all(r["digit"] is None for name, r in by_file.items() if name.startswith("blank"))


def test_the_server_answers_blank_pages_with_no_digit(small_run: Path) -> None:
    with running(small_run) as port:
        for case in [*CORPUS[::11], *EXTREME]:
            answer = request(port, "POST", "/api/predict", page(*case), "image/jpeg")  # type: ignore[arg-type]
            assert answer.status == 200, (case, answer.body)
            assert answer.json()["digit"] is None or case[1] == 50  # type: ignore[index]
