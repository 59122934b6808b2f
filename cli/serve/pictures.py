"""What a client may send to `POST /api/predict`: picture bytes or JSON pixels, each checked.

Every refusal is an `HttpError` with a 4xx status and a one-line reason.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from nnfun.errors import NnfunError
from nnfun.io.images import decode_images

MAX_PIXELS = 4096 * 4096
"""Largest picture accepted (width × height), checked before an image is decoded."""
_MANY_IMAGES = re.compile(rb"\x93NUMPY|\x1f\x8b|\0\0[\x08\x09\x0b-\x0e]", re.DOTALL)
"""Arrays, gzip and IDX (two zero bytes, then an IDX type code): ICO and TGA also start with
two zero bytes, but are single pictures that the reader decodes like any other."""
SEND_ONE = (
    "send one picture as PNG, JPEG, GIF, BMP, WebP or PGM/PPM bytes, "
    'or JSON {"pixels": [[...], ...]}'
)


class HttpError(Exception):
    """A refused request: its status, a one-line reason, and the methods allowed (for 405)."""

    def __init__(self, status: HTTPStatus, message: str, allow: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.allow = allow


def image_from_bytes(body: bytes) -> npt.NDArray[Any]:
    """Decode one picture with the same reader as `nnfun predict`, within `MAX_PIXELS`."""
    if not body:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"the body is empty: {SEND_ONE}")
    if _MANY_IMAGES.match(body):
        raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"arrays and IDX files: {SEND_ONE}")
    try:
        [(_, picture)] = decode_images(body, "the body", max_pixels=MAX_PIXELS)
    except NnfunError as exc:
        raise HttpError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
    return picture


def pixels_from_json(body: bytes) -> tuple[npt.NDArray[Any], bool]:
    """`{"pixels": [[...], ...], "raw": false}` -> (the array, raw), or a 400 saying what is wrong.

    Pixels: rows (H, W) of grey values, (H, W, C) with 1-4 channels, or 784 numbers (a flat
    28×28); 0-255, or floats in [0, 1].  `raw: true` skips the MNIST-style preprocessing.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "pixels" not in doc or not set(doc) <= {"pixels", "raw"}:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, 'expected a JSON object {"pixels": [[...], ...], "raw": false}'
        )
    raw = doc.get("raw", False)
    if not isinstance(raw, bool):
        raise HttpError(HTTPStatus.BAD_REQUEST, '"raw" must be true or false')
    try:
        array = np.array(doc["pixels"])
    except ValueError:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, '"pixels" rows must all be the same length'
        ) from None
    if array.dtype.kind not in "biuf" or not np.isfinite(array).all():
        raise HttpError(HTTPStatus.BAD_REQUEST, '"pixels" must hold numbers only')
    if array.shape == (784,):
        array = array.reshape(28, 28)
    if not (array.ndim == 2 or (array.ndim == 3 and 1 <= array.shape[2] <= 4)) or not array.size:
        raise HttpError(
            HTTPStatus.BAD_REQUEST,
            f'"pixels" of shape {array.shape}: expected rows (H, W), (H, W, C) with C = 1-4, '
            "or 784 numbers",
        )
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f'"pixels" exceeds {MAX_PIXELS:,}')
    return array, raw
