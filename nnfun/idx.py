"""IDX, the file format of MNIST: bytes in, validated arrays out (pure: no file or network I/O).

An IDX file is a 4-byte magic `00 00 <type> <ndim>`, then `ndim` big-endian uint32 sizes,
then the items in C order, big-endian. The MNIST mirrors serve it gzipped.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt

from nnfun.errors import DataError

#: IDX type code (third magic byte) -> big-endian dtype of the items.
IDX_TYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Refuse to decompress more than this (MNIST's largest file is 47 MB): stops gzip bombs.
MAX_BYTES = 1 << 30

#: NumPy 1.x arrays have at most 32 dimensions (2.x: 64); IDX allows 255.
MAX_NDIM = 32

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24


def gunzip(raw: bytes, max_bytes: int = MAX_BYTES) -> bytes:
    """Decompress gzip bytes (one or more members), checking CRCs; DataError if garbled."""
    chunks: list[bytes] = []
    total = 0
    rest = raw
    while rest:
        if not rest.startswith(GZIP_MAGIC):
            if rest.count(0) == len(rest):  # zero padding after the last member is allowed
                break
            raise DataError(f"garbled gzip: {len(rest):,} bytes of junk after the compressed data")
        decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        data = rest
        while not decomp.eof:
            try:
                chunk = decomp.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise DataError(f"garbled gzip: {exc}") from None
            total += len(chunk)
            if total > max_bytes:
                raise DataError(f"gzip data decompresses to more than {max_bytes:,} bytes")
            chunks.append(chunk)
            data = decomp.unconsumed_tail
            if not data and not chunk and not decomp.eof:
                raise DataError("truncated gzip: the compressed data ends early")
        rest = decomp.unused_data
    return b"".join(chunks)


def parse_idx(raw: bytes) -> npt.NDArray[Any]:
    """Parse IDX bytes (gzipped or not) into a read-only native-endian array, or raise DataError."""
    if raw[:2] == GZIP_MAGIC:
        raw = gunzip(raw)
    dtype, shape, offset = _parse_header(raw)
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - offset
    if found != expected:
        what = "truncated" if found < expected else "too long"
        dims = "x".join(str(d) for d in shape)
        raise DataError(
            f"{what}: header says {dims} {dtype.name} = {expected:,} bytes of data, found {found:,}"
        )
    try:
        array = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    except ValueError as exc:  # dims so large (with a zero among them) NumPy refuses them
        raise DataError(f"unsupported IDX shape {shape}: {exc}") from None
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    array.setflags(write=False)
    return array


def _parse_header(raw: bytes) -> tuple[np.dtype[Any], tuple[int, ...], int]:
    """Check the magic and sizes; return (big-endian dtype, shape, offset of the first item)."""
    if len(raw) < 4:
        raise DataError(f"not an IDX file: only {len(raw)} bytes (expected a 4-byte magic)")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in IDX_TYPES or ndim == 0:
        raise DataError(
            f"not an IDX file: magic 0x{raw[:4].hex()} (expected 0x00000803 or similar)"
        )
    if ndim > MAX_NDIM:
        raise DataError(f"unsupported IDX file: {ndim} dimensions (at most {MAX_NDIM})")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataError(
            f"truncated: header says {ndim} dimensions ({offset} header bytes), "
            f"found {len(raw)} bytes"
        )
    shape = tuple(int.from_bytes(raw[i : i + 4], "big") for i in range(4, offset, 4))
    return IDX_TYPES[code], shape, offset


def encode_idx(array: npt.NDArray[Any]) -> bytes:
    """Encode an array as raw (uncompressed) IDX bytes: the inverse of `parse_idx`."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot store dtype {array.dtype} (only {', '.join(map(str, codes))})")
    if not 1 <= array.ndim <= 255 or any(d >= 1 << 32 for d in array.shape):
        raise DataError(f"IDX cannot store shape {array.shape} (1 to 255 dims, each < 2**32)")
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(IDX_TYPES[code], copy=False).tobytes(order="C")


def check_images_labels(
    images: npt.NDArray[Any], labels: npt.NDArray[Any], name: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Check (n, rows, cols) uint8 images against (n,) uint8 labels 0-9; return (n, rows*cols)."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{name}: images must be 3-D uint8 (n, rows, cols), "
            f"got shape {images.shape} {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{name}: labels must be 1-D uint8, got shape {labels.shape} {labels.dtype}"
        )
    if len(images) != len(labels):
        raise DataError(f"{name}: {len(images):,} images but {len(labels):,} labels")
    if labels.size and int(labels.max()) > 9:
        bad = int(np.count_nonzero(labels > 9))
        raise DataError(
            f"{name}: {bad:,} labels outside 0-9 (largest {int(labels.max())}); "
            "the labels file is not a digit-labels file"
        )
    n, rows, cols = images.shape
    if not rows or not cols:
        raise DataError(f"{name}: images of {rows}x{cols} pixels hold nothing to learn from")
    flat = images.reshape(n, rows * cols)
    flat.setflags(write=False)
    labels = labels.view()
    labels.setflags(write=False)
    return flat, labels
