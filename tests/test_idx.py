"""IDX parsing: round trips, every kind of bad input ends in DataError, and the real MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnfun.errors import DataError
from nnfun.idx import check_images_labels, encode_idx, gunzip, parse_idx

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _images(n: int = 5, rows: int = 4, cols: int = 3) -> npt.NDArray[np.uint8]:
    return np.arange(n * rows * cols, dtype=np.uint8).reshape(n, rows, cols)


def _labels(n: int = 5) -> npt.NDArray[np.uint8]:
    return (np.arange(n) % 10).astype(np.uint8)


SAMPLE = encode_idx(_images())
SAMPLE_GZ = gzip.compress(SAMPLE, mtime=0)


@pytest.mark.parametrize(
    ("dtype", "shape"),
    [
        (np.uint8, (5,)),
        (np.uint8, (3, 28, 28)),
        (np.int8, (2, 3)),
        (np.int16, (4, 2, 2)),
        (np.int32, (7,)),
        (np.float32, (2, 3, 4, 5)),
        (np.float64, (3, 1)),
        (np.uint8, (0, 28, 28)),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(dtype: Any, shape: tuple[int, ...], compress: bool) -> None:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    raw = encode_idx(array)
    parsed = parse_idx(gzip.compress(raw) if compress else raw)
    assert parsed.shape == shape
    assert parsed.dtype == np.dtype(dtype)  # native byte order
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)
    assert not parsed.flags.writeable


def test_header_layout() -> None:
    raw = encode_idx(np.zeros((2, 3), dtype=np.int16))
    assert raw[:4] == b"\x00\x00\x0b\x02"
    assert raw[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03"
    assert len(raw) == 12 + 2 * 3 * 2


def test_encode_rejects_unsupported() -> None:
    with pytest.raises(DataError, match="dtype"):
        encode_idx(np.zeros(3, dtype=np.uint16))
    with pytest.raises(DataError, match="shape"):
        encode_idx(np.array(5, dtype=np.uint8))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "only 0 bytes"),
        (b"\x00\x00", "only 2 bytes"),
        (b"\x1f\x8b\x08\x08" + b"\x00" * 4, "truncated gzip"),
        (b"PK\x03\x04" + b"\x00" * 20, "magic 0x504b0304"),
        (b"\x00\x01\x08\x01\x00\x00\x00\x00", "magic 0x00010801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x00", "magic 0x00000701"),
        (b"\x00\x00\x08\x00", "magic 0x00000800"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", r"3 dimensions \(16 header bytes\), found 8"),
        (b"\x00\x00\x08\x40", "64 dimensions"),
    ],
)
def test_bad_headers(raw: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_idx(raw)


def test_gzip_of_non_idx_is_not_idx() -> None:
    with pytest.raises(DataError, match="not an IDX file: magic 0x3c68746d"):
        parse_idx(gzip.compress(b"<html>403 Forbidden</html>"))


def test_too_short_payload() -> None:
    with pytest.raises(
        DataError, match="truncated: header says 5x4x3 uint8 = 60 bytes of data, found 59"
    ):
        parse_idx(SAMPLE[:-1])


def test_too_long_payload() -> None:
    with pytest.raises(DataError, match="too long: .* 60 bytes of data, found 61"):
        parse_idx(SAMPLE + b"\x00")


def test_absurd_dims_do_not_allocate() -> None:
    # 2**32-1 cubed items claimed by a 16-byte file: rejected from the header alone.
    raw = b"\x00\x00\x0e\x03" + b"\xff" * 12
    with pytest.raises(DataError, match="truncated"):
        parse_idx(raw)
    with pytest.raises(DataError):
        parse_idx(b"\x00\x00\x08\x03\x00\x00\x00\x00" + b"\xff" * 8)  # zero items, huge dims


def test_truncated_gzip() -> None:
    for cut in (3, len(SAMPLE_GZ) // 2, len(SAMPLE_GZ) - 1):
        with pytest.raises(DataError, match="gzip"):
            parse_idx(SAMPLE_GZ[:cut])


def test_garbled_gzip() -> None:
    garbled = bytearray(SAMPLE_GZ)
    garbled[len(garbled) // 2] ^= 0xFF
    with pytest.raises(DataError):
        parse_idx(bytes(garbled))
    with pytest.raises(DataError, match="junk after"):
        parse_idx(SAMPLE_GZ + b"trailing")


def test_gzip_multi_member_and_padding() -> None:
    half = len(SAMPLE) // 2
    two = gzip.compress(SAMPLE[:half]) + gzip.compress(SAMPLE[half:]) + b"\x00" * 8
    np.testing.assert_array_equal(parse_idx(two), _images())


def test_gzip_bomb_is_refused() -> None:
    with pytest.raises(DataError, match="more than 1,000 bytes"):
        gunzip(gzip.compress(b"\x00" * 10_000), max_bytes=1_000)


def test_check_images_labels_flattens() -> None:
    images, labels = check_images_labels(_images(), _labels(), "train")
    assert images.shape == (5, 12)
    assert images.dtype == np.uint8
    assert labels.shape == (5,)
    assert not images.flags.writeable
    assert not labels.flags.writeable


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (_images(), np.array([0, 1, 2, 3, 10], dtype=np.uint8), "1 labels outside 0-9"),
        (_images(), _labels(4), "5 images but 4 labels"),
        (_images().reshape(5, 12), _labels(), "images must be 3-D uint8"),
        (_images().astype(np.float32), _labels(), "images must be 3-D uint8"),
        (_images(), _labels().astype(np.int32), "labels must be 1-D uint8"),
        (_images(), _labels().reshape(5, 1), "labels must be 1-D uint8"),
    ],
)
def test_check_images_labels_rejects(
    images: npt.NDArray[Any], labels: npt.NDArray[Any], message: str
) -> None:
    with pytest.raises(DataError, match=f"^train: {message}"):
        check_images_labels(images, labels, "train")


def _parses_or_data_error(raw: bytes) -> None:
    try:
        result = parse_idx(raw)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(result, np.ndarray)


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(raw: bytes) -> None:
    _parses_or_data_error(raw)


@FUZZ
@given(st.binary(max_size=60))
def test_fuzz_idx_like_headers(tail: bytes) -> None:
    for code in (0x08, 0x0B, 0x0E):
        _parses_or_data_error(bytes([0, 0, code, 1 + len(tail) % 4]) + tail)


def _mutations() -> st.SearchStrategy[tuple[str, int, int]]:
    return st.tuples(
        st.sampled_from(["flip", "truncate", "append", "delete"]),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=255),
    )


def _mutate(raw: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(raw)
    for op, position, value in ops:
        at = position % (len(data) + 1)
        if op == "flip" and data:
            data[at % len(data)] ^= 1 << (value % 8)
        elif op == "truncate":
            del data[at:]
        elif op == "append":
            data += bytes([value]) * (1 + position % 7)
        elif op == "delete" and data:
            del data[at % len(data)]
    return bytes(data)


@FUZZ
@given(
    st.lists(_mutations(), min_size=1, max_size=4),
    st.sampled_from(["idx", "gzip", "gzip of mutated idx"]),
)
def test_fuzz_mutated_files(ops: list[tuple[str, int, int]], kind: str) -> None:
    if kind == "idx":
        raw = _mutate(SAMPLE, ops)
    elif kind == "gzip":
        raw = _mutate(SAMPLE_GZ, ops)
    else:
        raw = gzip.compress(_mutate(SAMPLE, ops))
    _parses_or_data_error(raw)


# ---- the real MNIST files, when a copy is around (NNFUN_DATA or ../shared/data) ----

MNIST_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}


def _mnist_dir() -> Path | None:
    env = os.environ.get("NNFUN_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "mnist" if (root / "mnist").is_dir() else None


@pytest.mark.mnist
@pytest.mark.parametrize("name", sorted(MNIST_SHAPES))
def test_real_mnist(name: str) -> None:
    folder = _mnist_dir()
    if folder is None:
        pytest.skip("no MNIST copy (set NNFUN_DATA)")
    path = next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)
    if path is None:
        pytest.skip(f"{name} not in {folder}")
    from nnfun.io.datasets import MNIST_SHA256

    raw = path.read_bytes()
    content = gunzip(raw) if raw[:2] == b"\x1f\x8b" else raw
    assert hashlib.sha256(content).hexdigest() == MNIST_SHA256[name]
    array = parse_idx(raw)
    assert array.shape == MNIST_SHAPES[name]
    assert array.dtype == np.uint8
    if "labels" in name:
        assert set(np.unique(array).tolist()) == set(range(10))
