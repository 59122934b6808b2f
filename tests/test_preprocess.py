"""`nnfun.preprocess`: from a user's picture of a digit to an MNIST-style 28×28 image.

The unit tests pin down each promise (shape, range, purity, polarity, aspect ratio, centre of
mass, blank input).  The end-to-end test is the one that matters to a user: real MNIST test
digits, rendered as the kind of file a person would make (large, black on white, off-centre,
JPEG or PNG, grey paper, coloured pen, transparent canvas), read back from disk and
preprocessed, must be classified about as well as the original arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnfun import forward, grads, init_params, sgd_init, sgd_step
from nnfun.errors import NnfunError
from nnfun.grey import to_grey
from nnfun.idx import parse_idx
from nnfun.preprocess import is_mnist_like, to_mnist

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NNFUN_DATA", REPO.parent / "shared" / "data")) / "mnist"


def ink_box(image: np.ndarray, threshold: float = 0.2) -> tuple[int, int]:
    """Height and width of the pixels at or above `threshold` of the image's maximum."""
    rows = np.flatnonzero((image >= threshold * image.max()).any(axis=1))
    cols = np.flatnonzero((image >= threshold * image.max()).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    index = np.arange(image.shape[0])
    total = image.sum()
    return float(image.sum(axis=1) @ index / total), float(image.sum(axis=0) @ index / total)


def seven(height: int, width: int, pen: int, *, top: int = 0, left: int = 0) -> np.ndarray:
    """A white-on-black "7" with strokes `pen` pixels wide, somewhere on a larger canvas."""
    canvas = np.zeros((height + top + 40, width + left + 30), dtype=np.uint8)
    canvas[top : top + pen, left : left + width] = 255
    for row in range(height):
        col = left + width - pen - round(row * (width - pen) / (2 * height))
        canvas[top + row, col : col + pen] = 255
    return canvas


# --- to_grey ---------------------------------------------------------------------------------


def test_to_grey_integer_scales() -> None:
    cases = [
        (np.array([[0, 51, 255]], dtype=np.uint8), [[0, 0.2, 1]]),
        (np.array([[0, 65535]], dtype=np.uint16), [[0, 1]]),
        (np.array([[0, 51, 255]], dtype=np.int64), [[0, 0.2, 1]]),  # np.array of Python ints
        (np.array([[-5, 1000]], dtype=np.int32), [[0, 1000 / 65535]]),
        (np.array([[False, True]]), [[0, 1]]),
    ]
    for array, expected in cases:
        grey = to_grey(array)
        assert grey.dtype == np.float32
        np.testing.assert_allclose(grey, expected, rtol=1e-6)


def test_to_grey_returns_a_new_array() -> None:
    image = np.array([[0.0, 0.5], [1.0, 0.25]], dtype=np.float32)
    image.flags.writeable = False
    grey = to_grey(image)
    grey[0, 0] = 0.75
    assert image[0, 0] == 0.0


def test_to_grey_floats() -> None:
    np.testing.assert_allclose(to_grey(np.array([[0.0, 0.25, 1.0]])), [[0.0, 0.25, 1.0]])
    np.testing.assert_allclose(to_grey(np.array([[0.0, 51.0, 255.0]])), [[0.0, 0.2, 1.0]])
    np.testing.assert_allclose(to_grey(np.array([[np.nan, -1.0, np.inf]])), [[0.0, 0.0, 1.0]])


def test_to_grey_colour_uses_luminance() -> None:
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(to_grey(pixels), [[0.299, 0.587, 0.114, 1.0]], atol=1e-6)
    assert to_grey(np.zeros((3, 4, 1), np.uint8)).shape == (3, 4)


def test_to_grey_transparent_drawing_lands_on_a_contrasting_background() -> None:
    # Dark pen on a transparent canvas (what paint programs save): the canvas becomes white.
    drawing = np.zeros((4, 4, 4), dtype=np.uint8)
    drawing[1:3, 1:3, 3] = 255  # opaque black strokes, transparent (0, 0, 0, 0) elsewhere
    grey = to_grey(drawing)
    assert grey[0, 0] == 1.0 and grey[1, 1] == 0.0
    # Light pen on a transparent canvas: the canvas becomes black.
    drawing[:, :, :3] = 255
    grey = to_grey(drawing)
    assert grey[0, 0] == 0.0 and grey[1, 1] == 1.0
    # Grey + alpha works the same way; a fully opaque image is unchanged.
    la = np.stack([np.zeros((4, 4)), drawing[:, :, 3] / 255], axis=-1)
    assert to_grey(la)[0, 0] == 1.0
    opaque = np.dstack([np.full((2, 2, 3), 77, np.uint8), np.full((2, 2), 255, np.uint8)])
    np.testing.assert_allclose(to_grey(opaque), 77 / 255, rtol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [np.zeros(5), np.zeros((2, 2, 2, 2)), np.zeros((3, 3, 5)), np.array([["a"]]), [[1j]]],
)
def test_to_grey_rejects_what_is_not_an_image(bad: object) -> None:
    with pytest.raises(NnfunError):
        to_grey(bad)  # type: ignore[arg-type]


# --- to_mnist: the promises ------------------------------------------------------------------


def test_output_shape_dtype_range_and_purity() -> None:
    image = seven(300, 180, 30, top=50, left=200)
    before = image.copy()
    image.flags.writeable = False  # a pure function must not even try to write
    out = to_mnist(image)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.max() > 0.9
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(to_mnist(image), out)  # and deterministic


def test_black_on_white_is_inverted() -> None:
    white_on_black = seven(300, 180, 30, top=20, left=60)
    direct = to_mnist(white_on_black)
    inverted = to_mnist(255 - white_on_black)
    on_grey_paper = to_mnist(200 - (white_on_black // 255) * 170)  # pen 30 on paper 200
    assert direct[:4].sum() == 0 and direct[:, :3].sum() == 0  # background stays black
    np.testing.assert_allclose(inverted, direct, atol=1e-5)
    assert np.abs(on_grey_paper - direct).mean() < 0.01


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((50, 60)),
        np.full((50, 60), 255, np.uint8),
        np.full((40, 40, 3), 0.5),
        np.zeros((40, 40, 4), np.uint8),  # fully transparent
        np.zeros((0, 0)),
        np.zeros((1, 1)),
        np.random.default_rng(0).normal(0.8, 0.005, (80, 80)),  # blank paper, faint noise
    ],
)
def test_blank_input_gives_zeros(blank: np.ndarray) -> None:
    out = to_mnist(blank)
    assert out.shape == (28, 28) and not out.any()


@pytest.mark.parametrize(("height", "width"), [(400, 100), (100, 400), (60, 60), (12, 6)])
def test_longer_side_becomes_20_and_aspect_ratio_is_kept(height: int, width: int) -> None:
    bar = np.zeros((height + 100, width + 100))
    bar[30 : 30 + height, 70 : 70 + width] = 1.0
    out = to_mnist(bar)
    box_h, box_w = ink_box(out, 0.5)
    expected = (
        (20, round(20 * width / height)) if height >= width else (round(20 * height / width), 20)
    )
    assert abs(box_h - expected[0]) <= 1 and abs(box_w - expected[1]) <= 1


@pytest.mark.parametrize("seed", range(6))
def test_centre_of_mass_at_14(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = rng.integers(40, 300, size=2)
    blob = np.zeros((h + 200, w + 200))
    y, x = np.ogrid[:h, :w]
    # An off-centre, lopsided blob: the centre of mass is not the middle of the box.
    blob[50 : 50 + h, 120 : 120 + w] = ((x / w) ** 2 + (y / h) < rng.uniform(0.3, 1.0)) * 1.0
    blob[50 : 50 + h // 8, 120 : 120 + w] = 1.0
    cy, cx = centre_of_mass(to_mnist(blob))
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_a_dust_speck_does_not_move_the_digit() -> None:
    clean = seven(300, 180, 30, top=150, left=150)
    dusty = clean.copy()
    dusty[5, 5] = dusty[-3, -7] = 255
    np.testing.assert_allclose(to_mnist(dusty), to_mnist(clean), atol=1e-6)


def test_a_shadow_across_the_photo_is_not_ink() -> None:
    digit = seven(300, 180, 30, top=40, left=40) / 255
    h, w = digit.shape
    light = 0.5 + 0.45 * np.linspace(0, 1, w)[None, :] * np.linspace(0.8, 1, h)[:, None]
    photo = light * (0.9 - 0.8 * digit)  # grey pen on paper, lit from the right
    assert np.abs(to_mnist(photo) - to_mnist(digit)).mean() < 0.01


def test_a_tightly_cropped_digit_touching_the_edges() -> None:
    digit = seven(300, 180, 30, top=40, left=40)
    tight = 255 - digit[40:340, 40:220]  # black on white, strokes along the top and right
    out, ref = to_mnist(tight), to_mnist(digit)
    best = min(
        np.abs(np.roll(ref, (dy, dx), axis=(0, 1)) - out).mean()
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )
    assert best < 0.01


@pytest.mark.parametrize("size", [700, 2500])
def test_a_lone_pixel_in_a_big_image(size: int) -> None:
    speck = np.zeros((size, size), dtype=np.uint8)
    speck[size // 3, size // 2] = 255
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        out = to_mnist(speck)
    assert out.shape == (28, 28) and np.isfinite(out).all() and out.max() <= 1.0


def test_thin_strokes_are_thickened() -> None:
    hairline = seven(500, 300, 3, top=100, left=100)  # a 3-px brush on a big canvas
    out = to_mnist(hairline)
    assert abs(ink_box(out)[0] - 20) <= 1
    assert out.max() > 0.9  # not a faint hair
    assert (out > 0.5).sum() > 40  # strokes of MNIST-like width (about 2 px)


def test_is_mnist_like() -> None:
    digit = to_mnist(seven(300, 180, 30))
    assert is_mnist_like(digit)
    assert is_mnist_like((digit * 255).astype(np.uint8))
    assert not is_mnist_like(1 - digit)  # light background
    assert not is_mnist_like(seven(300, 180, 30))  # not 28×28
    assert not is_mnist_like(np.zeros((28, 28)))  # no ink


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [np.uint8, np.uint16, np.int8, np.int64, np.uint64, np.float16, np.float64, np.bool_]
    ),
    st.integers(0, 70),
    st.integers(0, 70),
    st.sampled_from([(), (1,), (2,), (3,), (4,)]),
    st.data(),
)
def test_to_mnist_never_crashes(dtype, height, width, channels, data) -> None:
    array = data.draw(hnp.arrays(dtype, (height, width, *channels)))
    with np.errstate(
        divide="raise", over="raise", invalid="raise"
    ):  # no division by zero, overflow or NaN on the way
        out = to_mnist(array)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


# --- real digits -----------------------------------------------------------------------------


def load_mnist(name: str) -> np.ndarray:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"MNIST not found at {DATA} (set NNFUN_DATA to the folder holding mnist/)")
    return np.asarray(parse_idx(path.read_bytes()))


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train_x = load_mnist("train-images-idx3-ubyte.gz")[:20_000]
    train_y = load_mnist("train-labels-idx1-ubyte.gz")[:20_000]
    test_x = load_mnist("t10k-images-idx3-ubyte.gz")[:300]
    test_y = load_mnist("t10k-labels-idx1-ubyte.gz")[:300]
    return train_x, train_y, test_x, test_y


@pytest.fixture(scope="module")
def classify(mnist):
    """A small MLP (784-256-10) trained for 2 epochs on 20k digits: a few seconds."""
    train_x, train_y, _, _ = mnist
    x = train_x.reshape(len(train_x), -1).astype(np.float32) / 255
    y = train_y.astype(np.int64)
    rng = np.random.default_rng(0)
    params = init_params([784, 256, 10], rng)
    state = sgd_init(params)
    for _ in range(2):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 128):
            batch = order[start : start + 128]
            _, g = grads(params, x[batch], y[batch])
            params, state = sgd_step(params, g, state, lr=0.05)

    def predict(images: np.ndarray) -> np.ndarray:
        flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        return forward(params, flat).argmax(axis=1)

    return predict


def test_mnist_digits_round_trip_to_nearly_themselves(mnist) -> None:
    digits = mnist[2][:100]
    for digit in digits:
        out = to_mnist(digit)
        # The centre of mass is re-rounded, so a digit may move by one pixel; otherwise equal.
        best = min(
            np.abs(np.roll(digit / 255, (dy, dx), axis=(0, 1)) - out).mean()
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        assert best < 0.01


def render(digit: np.ndarray, index: int, rng: np.random.Generator, folder: Path) -> Path:
    """Save an MNIST digit as a user's file: big, dark on light, off-centre, some lossy."""
    from PIL import Image

    size = int(rng.integers(100, 601))
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    ink = np.asarray(big, dtype=np.float64) / 255  # 1 where the pen went
    height = size + int(rng.integers(0, size // 2 + 1))
    width = size + int(rng.integers(0, size // 2 + 1))
    top, left = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    canvas = np.zeros((height, width))
    canvas[top : top + size, left : left + size] = ink
    paper, pen = rng.uniform(0.8, 1.0), rng.uniform(0.0, 0.25)
    grey = paper + (pen - paper) * canvas  # dark pen on light paper
    style = index % 6
    stem = folder / f"digit{index:04d}-style{style}-{size}px"
    if style == 0:  # grey PNG, pure black on white
        path = stem.with_suffix(".png")
        Image.fromarray(np.round(255 - 255 * canvas).astype(np.uint8)).save(path)
    elif style == 1:  # a "photo": grey paper, a little noise, JPEG
        noisy = grey + rng.normal(0, 0.02, grey.shape)
        path = stem.with_suffix(".jpg")
        Image.fromarray(np.round(255 * np.clip(noisy, 0, 1)).astype(np.uint8)).save(
            path, quality=int(rng.integers(40, 91))
        )
    elif style == 2:  # blue ballpoint on off-white paper, colour JPEG
        blue = np.array([0.1, 0.15, 0.55])
        rgb = paper + (blue - paper) * canvas[:, :, np.newaxis]
        path = stem.with_suffix(".jpg")
        Image.fromarray(np.round(255 * rgb).astype(np.uint8)).save(path, quality=75)
    elif style == 3:  # a paint-program drawing: black strokes on a transparent canvas
        rgba = np.zeros((height, width, 4), dtype=np.uint8)
        rgba[:, :, 3] = np.round(255 * canvas)
        path = stem.with_suffix(".png")
        Image.fromarray(rgba).save(path)
    elif style == 4:  # RGB PNG, dark red ink
        rgb = paper + (np.array([0.6, 0.1, 0.1]) - paper) * canvas[:, :, np.newaxis]
        path = stem.with_suffix(".png")
        Image.fromarray(np.round(255 * rgb).astype(np.uint8)).save(path)
    else:  # a scan saved as binary PGM, written by hand
        path = stem.with_suffix(".pgm")
        pixels = np.round(255 * grey).astype(np.uint8)
        path.write_bytes(b"P5 %d %d 255\n" % (width, height) + pixels.tobytes())
    return path


def test_rendered_user_images_classify_like_the_originals(mnist, classify, tmp_path) -> None:
    from nnfun.io.images import read_images

    _, _, digits, labels = mnist
    rng = np.random.default_rng(1)
    paths = [render(digit, i, rng, tmp_path) for i, digit in enumerate(digits)]
    images = [read_images(path) for path in paths]
    assert all(len(found) == 1 for found in images)
    prepared = np.stack([to_mnist(found[0][1]) for found in images])
    original = classify(digits / 255)
    rendered = classify(prepared)
    accuracy_original = float((original == labels).mean())
    accuracy_rendered = float((rendered == labels).mean())
    print(f"accuracy: original {accuracy_original:.3f}, rendered {accuracy_rendered:.3f}")
    assert accuracy_original > 0.9
    assert accuracy_rendered >= accuracy_original - 0.02
    assert (rendered == original).mean() > 0.95
