"""Readers of the user's own digit pictures: every format, folders, and every way to fail."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import limit_memory

from nnfun.errors import NnfunError
from nnfun.idx import encode_idx
from nnfun.io.images import collect_inputs, read_image, read_images

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

RNG = np.random.default_rng(7)
GREY = RNG.integers(0, 256, size=(9, 13), dtype=np.uint8)
RGB = RNG.integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
RGBA = RNG.integers(0, 256, size=(9, 13, 4), dtype=np.uint8)


def expect_error(path: Path, *fragments: str) -> str:
    """Reading `path` fails with a one-line NnfunError naming the file (and the fragments)."""
    with pytest.raises(NnfunError) as info:
        read_images(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- Pillow formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "suffix", "kwargs"),
    [
        (GREY, ".png", {}),
        (RGB, ".png", {}),
        (RGBA, ".png", {}),
        (GREY, ".bmp", {}),
        (RGB, ".bmp", {}),
        (GREY, ".tif", {}),
    ],
)
def test_lossless_formats_read_back_exactly(tmp_path, array, suffix, kwargs) -> None:
    path = tmp_path / f"digit{suffix}"
    Image.fromarray(array).save(path, **kwargs)
    [(label, image)] = read_images(path)
    assert label == str(path)
    np.testing.assert_array_equal(image, array)


def test_jpeg_reads_close_to_the_original(tmp_path) -> None:
    smooth = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    path = tmp_path / "photo.jpg"
    Image.fromarray(smooth).save(path, quality=95)
    image = read_image(path)
    assert image.shape == smooth.shape and image.dtype == np.uint8
    assert np.abs(image.astype(int) - smooth).mean() < 3


def test_jpeg_exif_orientation_is_applied(tmp_path) -> None:
    tall = np.zeros((40, 20), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(tall).save(path, exif=exif)
    assert read_image(path).shape == (20, 40)


def test_sixteen_bit_png_keeps_its_depth(tmp_path) -> None:
    deep = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(deep).save(path)
    image = read_image(path)
    assert image.dtype == np.uint16
    np.testing.assert_array_equal(image, deep)


def test_grey_alpha_and_palette_with_transparency(tmp_path) -> None:
    la = Image.fromarray(RGBA[:, :, :2].copy(), mode="LA")
    la.save(tmp_path / "la.png")
    assert read_image(tmp_path / "la.png").shape == (9, 13, 2)
    palette = Image.fromarray(GREY).convert("P")
    palette.save(tmp_path / "p.png", transparency=0)
    assert read_image(tmp_path / "p.png").shape == (9, 13, 4)
    palette.save(tmp_path / "p.gif")
    assert read_image(tmp_path / "p.gif").shape == (9, 13, 3)


def test_gif_gives_its_first_frame(tmp_path) -> None:
    frames = [Image.fromarray(np.full((8, 8), v, dtype=np.uint8)) for v in (0, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    [(_, image)] = read_images(path)
    assert image.max() < 128


def test_content_decides_not_the_name(tmp_path) -> None:
    path = tmp_path / "really-a-jpeg.png"
    Image.fromarray(RGB).save(path, format="JPEG")
    assert read_image(path).shape == (9, 13, 3)


def test_missing_pillow_gives_the_install_hint(tmp_path, monkeypatch) -> None:
    path = tmp_path / "digit.png"
    Image.fromarray(GREY).save(path)
    monkeypatch.setitem(sys.modules, "PIL", None)
    expect_error(path, "needs Pillow", "pip install 'nnfun[images]'")


# --- Netpbm, written by hand -----------------------------------------------------------------


def test_pgm_binary_and_plain_with_comments(tmp_path) -> None:
    binary = tmp_path / "b.pgm"
    binary.write_bytes(b"P5\n# made by hand\n13 9\n255\n" + GREY.tobytes())
    np.testing.assert_array_equal(read_image(binary), GREY)
    plain = tmp_path / "p.pgm"
    rows = "\n".join(" ".join(map(str, row)) for row in GREY)
    plain.write_text(f"P2 13 9 # width height\n255\n{rows}\n")
    np.testing.assert_array_equal(read_image(plain), GREY)


def test_ppm_binary_and_plain(tmp_path) -> None:
    binary = tmp_path / "b.ppm"
    binary.write_bytes(b"P6 13 9 255\n" + RGB.tobytes())
    np.testing.assert_array_equal(read_image(binary), RGB)
    plain = tmp_path / "p.ppm"
    plain.write_text("P3\n13 9\n255\n" + " ".join(map(str, RGB.ravel())) + "\n")
    np.testing.assert_array_equal(read_image(plain), RGB)


def test_pgm_maxval_handling(tmp_path) -> None:
    wide = (GREY.astype(np.uint16) * 257).astype(">u2")
    path = tmp_path / "deep.pgm"
    path.write_bytes(b"P5 13 9 65535\n" + wide.tobytes())
    image = read_image(path)
    assert image.dtype == np.uint16
    np.testing.assert_array_equal(image, GREY.astype(np.uint16) * 257)
    odd = tmp_path / "odd.pgm"
    odd.write_text("P2 2 1 1000\n0 1000\n")
    np.testing.assert_allclose(read_image(odd), [[0.0, 1.0]])


def test_pbm_bitmaps_one_means_black(tmp_path) -> None:
    plain = tmp_path / "p.pbm"
    plain.write_text("P1\n3 2\n010\n1 0 1\n")
    expected = np.array([[255, 0, 255], [0, 255, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(read_image(plain), expected)
    packed = tmp_path / "b.pbm"
    packed.write_bytes(b"P4 3 2\n" + bytes([0b01000000, 0b10100000]))
    np.testing.assert_array_equal(read_image(packed), expected)


def test_pillow_written_pgm_reads_without_pillow(tmp_path, monkeypatch) -> None:
    path = tmp_path / "digit.pgm"
    Image.fromarray(GREY).save(path)
    monkeypatch.setitem(sys.modules, "PIL", None)
    np.testing.assert_array_equal(read_image(path), GREY)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"P5 13 9 255\n" + GREY.tobytes()[:50], "truncated"),
        (b"P5 13 nine 255\n" + GREY.tobytes(), "header"),
        (b"P5 13 9 70000\n" + GREY.tobytes(), "maxval"),
        (b"P5 0 9 255\n", "size"),
        (b"P2 2 1 100\n0 200\n", "exceeds maxval"),
        (b"P2 2 1 255\n0 x\n", "whole numbers"),
        (b"P3 2 1 255\n0 0 0\n", "truncated"),
    ],
)
def test_bad_netpbm(tmp_path, content, fragment) -> None:
    path = tmp_path / "bad.pgm"
    path.write_bytes(content)
    expect_error(path, fragment)


# --- .npy and IDX ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "count", "image_shape"),
    [
        ((28, 28), 1, (28, 28)),
        ((784,), 1, (28, 28)),
        ((40, 30), 1, (40, 30)),
        ((40, 30, 3), 1, (40, 30, 3)),
        ((40, 30, 4), 1, (40, 30, 4)),
        ((5, 28, 28), 5, (28, 28)),
        ((3, 784), 3, (28, 28)),
        ((2, 40, 30, 3), 2, (40, 30, 3)),
    ],
)
def test_npy_shapes(tmp_path, shape, count, image_shape) -> None:
    array = RNG.random(shape).astype(np.float32)
    path = tmp_path / "digits.npy"
    np.save(path, array)
    images = read_images(path)
    assert len(images) == count
    assert all(image.shape == image_shape for _, image in images)
    if count > 1:
        assert [label for label, _ in images] == [f"{path}[{i}]" for i in range(count)]
    np.testing.assert_array_equal(images[0][1].ravel(), array.reshape(count, -1)[0])


def test_npy_with_pickled_objects_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"a": 1}, [2]], dtype=object), allow_pickle=True)
    expect_error(path, "pickle", "refused")


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros(5), "labels?"),
        (np.zeros((2, 3, 4, 5, 6)), "not an image"),
        (np.zeros((0, 28)), "no pixels"),
        (np.array(["a", "b"]), "not pixel numbers"),
        (np.zeros(3, dtype=complex), "not pixel numbers"),
    ],
)
def test_npy_wrong_content(tmp_path, array, fragment) -> None:
    path = tmp_path / "wrong.npy"
    np.save(path, array)
    expect_error(path, fragment)


def test_truncated_npy(tmp_path) -> None:
    path = tmp_path / "cut.npy"
    np.save(path, np.zeros((28, 28)))
    path.write_bytes(path.read_bytes()[:300])
    expect_error(path, "truncated")


def test_idx_stack_plain_and_gzipped(tmp_path) -> None:
    digits = RNG.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    plain = tmp_path / "few-images-idx3-ubyte"
    plain.write_bytes(encode_idx(digits))
    packed = tmp_path / "few-images-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(encode_idx(digits)))
    for path in (plain, packed):
        images = read_images(path)
        assert [label for label, _ in images] == [f"{path}[{i}]" for i in range(3)]
        np.testing.assert_array_equal(np.stack([image for _, image in images]), digits)


def test_idx_single_image_and_label_file(tmp_path) -> None:
    one = tmp_path / "one.idx"
    one.write_bytes(encode_idx(GREY))
    assert read_images(one)[0][0] == str(one)
    labels = tmp_path / "labels-idx1-ubyte"
    labels.write_bytes(encode_idx(np.arange(10, dtype=np.uint8)))
    expect_error(labels, "labels?")


def test_truncated_idx(tmp_path) -> None:
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(encode_idx(np.zeros((3, 28, 28), dtype=np.uint8))[:-100])
    expect_error(path)


# --- files that are not images at all --------------------------------------------------------


def test_text_named_png(tmp_path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    expect_error(path, "not an image")


def test_truncated_png(tmp_path) -> None:
    path = tmp_path / "cut.png"
    Image.fromarray(RNG.integers(0, 256, size=(64, 64), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    expect_error(path, "truncated")


def test_truncated_jpeg(tmp_path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(RNG.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:400])
    expect_error(path)


def test_empty_missing_and_folder(tmp_path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    expect_error(empty, "empty")
    expect_error(tmp_path / "nowhere.png", "does not exist")
    expect_error(tmp_path, "folder")


def test_read_image_wants_exactly_one(tmp_path) -> None:
    path = tmp_path / "many.npy"
    np.save(path, np.zeros((4, 28, 28)))
    with pytest.raises(NnfunError, match="holds 4 images"):
        read_image(path)


# --- folders ---------------------------------------------------------------------------------


def test_collect_inputs_expands_folders_in_natural_order(tmp_path) -> None:
    for name in ("img10.png", "img2.png", "b.npy", "t10k-images-idx3-ubyte.gz", "a.pgm"):
        (tmp_path / name).write_bytes(b"x")
    for name in ("notes.txt", ".hidden.png", "labels.csv"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.png").write_bytes(b"x")
    names = [p.name for p in collect_inputs([tmp_path])]
    assert names == ["a.pgm", "b.npy", "img2.png", "img10.png", "t10k-images-idx3-ubyte.gz"]
    deep = [p.name for p in collect_inputs([tmp_path], recursive=True)]
    assert "deep.png" in deep and ".hidden.png" not in deep


def test_collect_inputs_keeps_named_files_and_order(tmp_path) -> None:
    odd = tmp_path / "scan.data"
    odd.write_bytes(b"x")
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "z.png").write_bytes(b"x")
    assert collect_inputs([odd, folder, odd]) == [odd, folder / "z.png", odd]


def test_collect_inputs_errors(tmp_path) -> None:
    with pytest.raises(NnfunError, match="does not exist"):
        collect_inputs([tmp_path / "missing"])
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(NnfunError, match="no images in this folder"):
        collect_inputs([tmp_path])


def test_a_40_megapixel_transparent_png_is_read_in_little_memory(
    small_run: Path, tmp_path: Path
) -> None:
    """`nnfun predict` on 5000x8000 RGBA within 1.5 GiB of address space: memory follows the
    data (bands of floats), not eight bytes per channel of every pixel (2.6 GB before)."""
    picture = np.zeros((5000, 8000, 4), np.uint8)
    picture[1500:3500, 3800:4200] = (0, 0, 0, 255)  # a black bar on a transparent canvas
    path = tmp_path / "big.png"
    Image.fromarray(picture, "RGBA").save(path, compress_level=1)
    result = subprocess.run(
        [sys.executable, "-m", "nnfun", "predict", str(small_run), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: limit_memory(3 << 29),
    )
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    assert "big.png" in result.stdout and "memory" not in result.stderr
