"""Read the user's own digit pictures: image files, NumPy arrays and IDX files.

The format is decided by the file's first bytes, not its name, so a JPEG saved as `.png`
still reads and a text file named `.png` is refused with a clear message.  Formats:

* PNG, JPEG, BMP, GIF (first frame), and whatever else Pillow opens (TIFF, WebP...): via
  Pillow, imported only when needed; the photo's EXIF orientation is applied.
* PBM/PGM/PPM (P1-P6, any maxval): parsed here, so they work without Pillow.
* `.npy`: NumPy's own format, loaded with `allow_pickle=False`: a .npy holding Python
  objects could run arbitrary code when unpickled, so it is refused.
* IDX (MNIST's format, gzipped or not): may hold a whole stack of images.

One file can hold several images, so the reader returns a list of (label, array) pairs;
labels are the path for a single image and `path[i]` for image i of a stack.  The arrays
are raw (uint8, uint16 or float, grey or colour): `nnfun.grey.to_grey` and
`to_mnist` understand them all.  Every problem is a one-line `NnfunError` naming the file.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import NnfunError
from .files import read_capped

Image = npt.NDArray[Any]
Labelled = tuple[str, Image]

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
    | {".pbm", ".pgm", ".ppm", ".pnm", ".npy", ".idx"}
)
"""File name endings that `collect_inputs` picks up in a folder (plus IDX names, below)."""
_IDX_NAME = re.compile(r"-idx\d-ubyte(\.gz)?$|\.idx\d?(\.gz)?$", re.IGNORECASE)
"""MNIST's own names (`t10k-images-idx3-ubyte.gz`) and `.idx` / `.idx3` files."""

PILLOW_HINT = "reading PNG/JPEG needs Pillow: pip install 'nnfun[images]'"
_PNM_TOKEN = re.compile(rb"(?:\s|#[^\r\n]*)*([^\s#]+)")
MAX_PIXELS = 40_000_000
"""A digit photo has at most this many pixels (a 40 MP camera); larger headers are refused
before anything is decoded (a corrupt file, or a decompression bomb)."""
MAX_FILE_BYTES = 256 << 20
"""The largest input file read: a phone photo is ~10 MB, all of MNIST as .npy 47 MB."""
_PNM_DIGITS = 9
"""Netpbm header and sample values longer than this are garbage (maxval is at most 65535)."""


def collect_inputs(paths: list[Path], *, recursive: bool = False) -> list[Path]:
    """Expand folders into the image files they hold; keep files as given, in order.

    A file named on the command line is always kept, whatever its name: its content decides
    whether it is readable.  A folder contributes its files with a known ending (see
    `IMAGE_SUFFIXES`, plus IDX names), hidden files excluded, in natural order (`img2`
    before `img10`); sub-folders only with `recursive=True`, because a folder of pictures
    is the common case and a surprise crawl of a big tree is not.  A missing path, or a
    folder with nothing to read, is an error.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        try:
            found.extend(_inputs_of(path, recursive))
        except OSError as exc:  # a name too long, a folder we may not list, a link loop
            raise NnfunError(f"cannot read {path}: {exc.strerror or exc}") from None
    return found


def _inputs_of(path: Path, recursive: bool) -> list[Path]:
    """The picture files one command-line argument stands for (see `collect_inputs`)."""
    if path.is_dir():
        candidates = path.rglob("*") if recursive else path.iterdir()
        files = sorted(
            (p for p in candidates if p.is_file() and _looks_readable(p, path)),
            key=_natural_key,
        )
        if not files:
            raise NnfunError(
                f"{path}: no images in this folder (PNG, JPEG, BMP, GIF, PGM/PPM, .npy or IDX files)"
            )
        return files
    if path.exists():
        return [path]
    raise NnfunError(f"{path} does not exist")


def read_images(path: Path) -> list[Labelled]:
    """All the images in one file, as (label, array) pairs; a one-line NnfunError if unreadable.

    Label: `str(path)` for a file holding one image, `f"{path}[{i}]"` for the i-th image of a
    stack (an IDX file, or a .npy of shape (n, H, W), (n, H, W, C) or (n, 784)).
    """
    path = Path(path)
    if path.is_dir():
        raise NnfunError(f"{path} is a folder, not an image file")
    raw = read_capped(path, MAX_FILE_BYTES, "picture")
    return decode_images(raw, str(path))


def decode_images(raw: bytes, name: str, *, max_pixels: int = MAX_PIXELS) -> list[Labelled]:
    """The images in a file's bytes, labelled like `read_images` does with `name` for the path.

    Images claiming more than `max_pixels` pixels are refused before they are decoded.
    """
    path = Path(name)
    if not raw:
        raise NnfunError(f"{path} is empty (0 bytes), not an image")
    head = raw[:8]
    if head.startswith(b"\x93NUMPY"):
        arrays = _split_stack(_read_npy(raw, path), path, "npy")
    elif head.startswith(b"\x1f\x8b") or _is_idx(head):
        arrays = _split_stack(_read_idx(raw, path), path, "IDX")
    elif re.match(rb"P[1-6]\s", head):
        arrays = [_read_pnm(raw, path, max_pixels)]
    else:
        arrays = [_read_with_pillow(raw, path, max_pixels)]
    if len(arrays) == 1:
        return [(str(path), arrays[0])]
    return [(f"{path}[{i}]", array) for i, array in enumerate(arrays)]


def read_image(path: Path) -> Image:
    """The one image in `path` (see `read_images`); an error if the file holds several."""
    images = read_images(path)
    if len(images) != 1:
        raise NnfunError(f"{path} holds {len(images):,} images, not one")
    return images[0][1]


# --- formats ------------------------------------------------------------------------------


def _read_with_pillow(raw: bytes, path: Path, max_pixels: int) -> Image:
    """Decode PNG, JPEG, BMP, GIF (first frame) and friends with Pillow.

    The result keeps what the file holds: grey (H, W) uint8 or uint16 (16-bit PNG), or
    (H, W, 2/3/4) uint8 for grey + alpha, RGB and RGBA.  Palette images become RGB, or RGBA
    if they have a transparent colour; CMYK and other colour spaces become RGB.
    """
    try:
        from PIL import Image as PILImage
        from PIL import ImageOps, UnidentifiedImageError
    except ImportError:
        raise NnfunError(f"{path}: {PILLOW_HINT}") from None
    try:
        with warnings.catch_warnings():  # sizes Pillow warns about are refused just below
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            opened = PILImage.open(io.BytesIO(raw))
        with opened:
            if opened.width * opened.height > max_pixels:
                raise NnfunError(
                    f"{path}: {opened.width}×{opened.height} pixels is too large an image"
                )
            opened.load()
            picture = ImageOps.exif_transpose(opened) or opened
            picture = _pillow_mode(picture)
            return np.array(picture)
    except NnfunError:
        raise
    except UnidentifiedImageError:
        raise NnfunError(
            f"{path} is not an image nnfun can read (PNG, JPEG, BMP, GIF, PGM/PPM, .npy or IDX)"
        ) from None
    except PILImage.DecompressionBombError:
        raise NnfunError(f"{path}: the image is too large (a decompression bomb?)") from None
    except Exception as exc:  # Pillow raises many types for corrupt files: all mean the same
        raise NnfunError(f"{path}: corrupt or truncated image ({_one_line(exc)})") from None


def _pillow_mode(picture: Any) -> Any:
    """Convert a Pillow image to a mode whose NumPy array `to_grey` understands."""
    mode = picture.mode
    if mode in ("L", "LA", "RGB", "RGBA", "I;16", "I", "F"):
        return picture
    if mode in ("I;16B", "I;16L", "I;16N"):
        return picture.convert("I")
    if mode == "1":
        return picture.convert("L")
    if mode in ("P", "PA"):
        transparent = mode == "PA" or "transparency" in picture.info
        return picture.convert("RGBA" if transparent else "RGB")
    if mode == "La":
        return picture.convert("LA")
    if mode in ("RGBa", "RGBX"):
        return picture.convert("RGBA" if mode == "RGBa" else "RGB")
    return picture.convert("RGB")  # CMYK, YCbCr, LAB, HSV


def _read_pnm(raw: bytes, path: Path, max_pixels: int) -> Image:
    """Parse a Netpbm file: P1/P4 bitmaps, P2/P5 grey and P3/P6 colour, plain or binary.

    Header: magic, width, height and (except for bitmaps) maxval, separated by whitespace,
    with `#` comments.  Binary data starts after exactly one whitespace byte and uses two
    big-endian bytes per sample when maxval > 255.  Samples become uint8 (maxval 255),
    uint16 (maxval 65535) or float32 value/maxval; bitmap 1 means black.
    """
    kind = raw[1] - ord("0")
    fields = 2 if kind in (1, 4) else 3
    values: list[int] = []
    pos = 2
    for _ in range(fields):
        match = _PNM_TOKEN.match(raw, pos)
        if match is None or not match.group(1).isdigit() or len(match.group(1)) > _PNM_DIGITS:
            raise NnfunError(f"{path}: garbled P{kind} (PGM/PPM) header")
        values.append(int(match.group(1)))
        pos = match.end()
    width, height = values[0], values[1]
    maxval = 1 if kind in (1, 4) else values[2]
    if width < 1 or height < 1 or width * height > max_pixels:
        raise NnfunError(f"{path}: P{kind} image of impossible size {width}×{height}")
    if not 1 <= maxval <= 65535:
        raise NnfunError(f"{path}: P{kind} maxval {maxval} is outside 1-65535")
    channels = 3 if kind in (3, 6) else 1
    count = width * height * channels
    if kind in (4, 5, 6):
        data = raw[pos + 1 :]
        samples = _pnm_binary(data, kind, width, height, count, maxval, path)
    else:
        samples = _pnm_plain(raw[pos:], kind, count, path)
    if int(samples.max()) > maxval:
        raise NnfunError(f"{path}: P{kind} sample {int(samples.max())} exceeds maxval {maxval}")
    shape = (height, width, 3) if channels == 3 else (height, width)
    samples = samples.reshape(shape)
    if kind in (1, 4):
        return ((1 - samples) * 255).astype(np.uint8)  # bitmaps: 1 is black
    if maxval == 255:
        return samples.astype(np.uint8)
    if maxval == 65535:
        return samples.astype(np.uint16)
    return (samples / maxval).astype(np.float32)


def _pnm_binary(
    data: bytes, kind: int, width: int, height: int, count: int, maxval: int, path: Path
) -> npt.NDArray[np.int64]:
    """The samples of a binary Netpbm raster (P4 bits packed per row, P5/P6 bytes)."""
    if kind == 4:
        row_bytes = (width + 7) // 8
        need = row_bytes * height
    else:
        need = count * (2 if maxval > 255 else 1)
    if len(data) < need:
        raise NnfunError(f"{path}: truncated P{kind} file ({len(data):,} of {need:,} pixel bytes)")
    if kind == 4:
        bits = np.unpackbits(np.frombuffer(data, np.uint8, need).reshape(height, row_bytes), 1)
        return bits[:, :width].astype(np.int64).ravel()
    dtype = np.dtype(">u2") if maxval > 255 else np.dtype(np.uint8)
    return np.frombuffer(data, dtype, count).astype(np.int64)


def _pnm_plain(text: bytes, kind: int, count: int, path: Path) -> npt.NDArray[np.int64]:
    """The samples of a plain (ASCII) Netpbm raster; P1 bits need no spaces between them."""
    body = re.sub(rb"#[^\r\n]*", b" ", text)
    tokens = re.findall(rb"[01]", body) if kind == 1 else body.split()
    if len(tokens) < count:
        raise NnfunError(f"{path}: truncated P{kind} file ({len(tokens):,} of {count:,} samples)")
    tokens = tokens[:count]
    if not all(t.isdigit() and len(t) <= _PNM_DIGITS for t in tokens):
        raise NnfunError(f"{path}: P{kind} pixel data is not all whole numbers 0-65535")
    return np.array([int(t) for t in tokens], dtype=np.int64)


def _read_npy(raw: bytes, path: Path) -> Image:
    """Load a .npy without pickle; refuse object, string and other non-numeric arrays."""
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise NnfunError(
                f"{path}: this .npy holds Python objects, which would need pickle "
                "(unsafe, refused); save a numeric array instead"
            ) from None
        raise NnfunError(f"{path}: corrupt or truncated .npy ({_one_line(exc)})") from None
    except Exception as exc:  # EOFError, OSError, ...: all mean a damaged file
        raise NnfunError(f"{path}: corrupt or truncated .npy ({_one_line(exc)})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        kind = getattr(array, "dtype", type(array))
        raise NnfunError(f"{path}: .npy holds {kind} values, not pixel numbers")
    return array


def _is_idx(head: bytes) -> bool:
    """IDX starts with two zero bytes, a type code (0x08-0x0E) and a dimension count."""
    return len(head) >= 4 and head[:2] == b"\0\0" and head[2] in b"\x08\x09\x0b\x0c\x0d\x0e"


def _read_idx(raw: bytes, path: Path) -> Image:
    """Parse an IDX file (gzipped or not) with the project's own IDX reader."""
    from nnfun.errors import DataError
    from nnfun.idx import parse_idx

    try:
        return np.asarray(parse_idx(raw))
    except DataError as exc:
        raise NnfunError(f"{path}: {_one_line(exc)}") from None


def _split_stack(array: Image, path: Path, what: str) -> list[Image]:
    """One image, or the images of a stack, from an array of any of the accepted shapes.

    One image: (H, W), (784,) (a flattened 28×28), (H, W, C) with C = 1-4 channels.
    A stack: (n, H, W) with W > 4, (n, H, W, C), or (n, 784) (flattened 28×28 digits).
    """
    shape = array.shape
    if array.size == 0:
        raise NnfunError(f"{path}: {what} array of shape {shape} holds no pixels")
    if shape == (784,):
        return [array.reshape(28, 28)]
    if array.ndim == 2 and shape[1] == 784:
        return list(array.reshape(-1, 28, 28))
    if array.ndim == 2 or (array.ndim == 3 and shape[2] <= 4):
        return [array]
    if array.ndim == 3 or (array.ndim == 4 and shape[3] <= 4):
        return list(array)
    if array.ndim == 1:
        raise NnfunError(
            f"{path}: {what} holds {shape[0]:,} numbers in one row (labels?), not an image; "
            "images are (H, W), (H, W, C), (n, H, W) or 784 values"
        )
    raise NnfunError(
        f"{path}: {what} array of shape {shape} is not an image; "
        "expected (H, W), (H, W, C), (n, H, W), (n, H, W, C) or 784 values"
    )


# --- helpers ------------------------------------------------------------------------------


def _looks_readable(path: Path, root: Path) -> bool:
    """A non-hidden file (below `root`) whose name says it is an image nnfun reads."""
    hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
    name = path.name
    return not hidden and (path.suffix.lower() in IMAGE_SUFFIXES or bool(_IDX_NAME.search(name)))


def _natural_key(path: Path) -> list[tuple[int, int | str]]:
    """Sort key for "natural" order: digit runs compare as numbers (img2 < img10)."""
    parts = re.split(r"(\d+)", str(path).lower())
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts]


def _one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
