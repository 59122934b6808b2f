"""The HTTP side of `nnfun serve`: routes, limits, and a JSON answer to every request.

Routes: the page's static files, `GET /api/model` and `POST /api/predict`.  Anything else
gets a 4xx status and a JSON body `{"error": "..."}`; no request can make the server print a
traceback or write a file.  Each connection has its own thread and a socket timeout, so a
slow or silent client only ever holds up itself.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import orjson

from nnfun import Model
from nnfun.errors import NnfunError
from nnfun.io.images import decode_images
from nnfun.recognition import read_digit

MAX_BODY = 8 * 1024 * 1024
"""Largest request body accepted, in bytes: room for a phone photo as JPEG."""
MAX_PIXELS = 4096 * 4096
"""Largest picture accepted (width × height), checked before an image is decoded."""
BODY_SECONDS = 30.0
"""A request body must arrive within this time, however slowly it trickles in."""
CLIENT_TIMEOUT = 10.0
"""Seconds of silence after which a connection is dropped."""
BUSY_READINGS = 2
"""Pictures decoded and read at the same time (others wait their turn): bounds the memory."""

_STATIC_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
}
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_MANY_IMAGES = (b"\x93NUMPY", b"\x1f\x8b", b"\0\0")
"""Arrays, gzip and IDX: files that may hold many images, or inflate far beyond their size."""
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, TimeoutError)
"""What writing an answer raises when the client has left (or stopped reading)."""
_API_METHODS = {"/api/model": "GET", "/api/predict": "POST"}
_SEND_ONE = (
    "send one picture as PNG, JPEG, GIF, BMP, WebP or PGM/PPM bytes, "
    'or JSON {"pixels": [[...], ...]}'
)


class HttpError(Exception):
    """A refused request: its status, a one-line reason, and the methods allowed (for 405)."""

    def __init__(self, status: HTTPStatus, message: str, allow: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.allow = allow


class Response(NamedTuple):
    status: HTTPStatus
    body: bytes
    content_type: str
    headers: Mapping[str, str] = {}


def json_response(value: Any) -> Response:
    return Response(HTTPStatus.OK, orjson.dumps(value), "application/json")


def error_response(error: HttpError) -> Response:
    headers = {"Allow": error.allow} if error.allow else {}
    body = orjson.dumps({"error": str(error)})
    return Response(error.status, body, "application/json", headers)


def static_files() -> dict[str, Response]:
    """The page's files, read once from the package, by URL path (`/` is index.html).

    Only these paths are ever served: a request's path is looked up in this table, never
    joined to a folder, so no `..` or encoded slash can reach anything else.
    """
    files = {}
    for entry in resources.files("nnfun_cli.serve").joinpath("static").iterdir():
        kind = _STATIC_TYPES.get(entry.name.rpartition(".")[2])
        if kind and entry.is_file():
            files["/" + entry.name] = Response(HTTPStatus.OK, entry.read_bytes(), kind)
    files["/"] = files["/index.html"]
    return files


class DigitServer(ThreadingHTTPServer):
    """A threaded HTTP server holding one model (or an ensemble), read-only, and the page's files."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        params: Model,
        model_info: Mapping[str, Any],
        *,
        client_timeout: float = CLIENT_TIMEOUT,
    ) -> None:
        self.params = params
        self.model_info = dict(model_info)
        self.static = static_files()
        self.client_timeout = client_timeout
        self.busy = threading.BoundedSemaphore(BUSY_READINGS)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, DigitHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the host name (slow offline)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke outside the handler's own care: one line, no traceback."""
        sys.stderr.write(f"{client_address[0]}: connection dropped ({sys.exc_info()[1]!r})\n")


class DigitHandler(BaseHTTPRequestHandler):
    """One connection: each request is routed, answered, and only errors are logged."""

    def version_string(self) -> str:
        return "nnfun"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.app.client_timeout)

    @property
    def app(self) -> DigitServer:
        return cast(DigitServer, self.server)

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def do_PUT(self) -> None:
        self._answer(self._other)

    do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_PUT

    def _get(self, path: str) -> Response:
        if path == "/api/model":
            return json_response(self.app.model_info)
        if path in self.app.static:
            return self.app.static[path]
        return self._other(path)

    def _post(self, path: str) -> Response:
        if path == "/api/predict":
            return predict(self.app, self.headers.get("Content-Type", ""), self._read_body())
        return self._other(path)

    def _other(self, path: str) -> Response:
        allowed = _API_METHODS.get(path, "GET" if path in self.app.static else "")
        if allowed:
            raise HttpError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{path} takes {allowed}, not {self.command}",
                allowed,
            )
        raise HttpError(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def _answer(self, route: Callable[[str], Response]) -> None:
        """Route the request and send the answer; refusals and surprises become JSON."""
        try:
            response = route(urlsplit(self.path).path)
        except HttpError as error:
            response = error_response(error)
        except Exception as exc:  # a bug, not the client's fault: still JSON, still one line
            sys.stderr.write(f"error: {self.command} {self.path}: {exc!r}\n")
            response = error_response(HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, "server error"))
        try:
            self._send(response)
        except _CLIENT_GONE:
            self.close_connection = True  # the client left before reading the answer

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        headers = {**_HEADERS, **response.headers, "Content-Type": response.content_type}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status >= 400:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (bad request line, unknown method), as JSON."""
        status = HTTPStatus.METHOD_NOT_ALLOWED if code == 501 else HTTPStatus(code)
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # a garbled request line still gets a status line
        reason = f"{self.command} is not a method this server knows" if code == 501 else message
        with contextlib.suppress(*_CLIENT_GONE):
            self._send(error_response(HttpError(status, reason or status.phrase, "GET, POST")))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are logged only when refused: a drawing makes several requests a second."""
        if isinstance(code, HTTPStatus | int) and int(code) >= 400:
            sys.stderr.write(f"{self.address_string()} {self.requestline!r} -> {int(code)}\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the standard library's own log lines (timeouts, errors already answered)."""

    def _read_body(self) -> bytes:
        """The request body, bounded by `MAX_BODY` bytes and `BODY_SECONDS` seconds."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not chunks")
        text = self.headers.get("Content-Length")
        if text is None:
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        if not text.strip().isdigit():
            raise HttpError(HTTPStatus.BAD_REQUEST, f"Content-Length {text!r} is not a number")
        length = int(text)
        if length > MAX_BODY:
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is {length:,} bytes; the limit is {MAX_BODY:,}",
            )
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        deadline = time.monotonic() + BODY_SECONDS
        chunks, got = [], 0
        try:
            while got < length:
                if time.monotonic() > deadline:
                    raise HttpError(HTTPStatus.REQUEST_TIMEOUT, "the body arrived too slowly")
                chunk = self.rfile.read1(min(1 << 16, length - got))
                if not chunk:
                    raise HttpError(
                        HTTPStatus.BAD_REQUEST, f"the body ended after {got:,} of {length:,} bytes"
                    )
                chunks.append(chunk)
                got += len(chunk)
        except TimeoutError:
            raise HttpError(HTTPStatus.REQUEST_TIMEOUT, "the body stopped arriving") from None
        return b"".join(chunks)


def predict(app: DigitServer, content_type: str, body: bytes) -> Response:
    """`POST /api/predict`: a picture (image bytes, or JSON pixels) -> the network's reading.

    The answer: `digit` (null if the picture is blank), `probabilities` (ten, or null) and
    `pixels`, the 28×28 image the network saw, rows of floats in [0, 1].
    """
    media = content_type.split(";")[0].strip().lower()
    is_image = media in ("", "application/octet-stream") or media.startswith("image/")
    if media != "application/json" and not is_image:
        raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"{media}: {_SEND_ONE}")
    with app.busy:
        picture, raw = (image_from_bytes(body), False) if is_image else pixels_from_json(body)
        try:
            seen, digit, probs = read_digit(app.params, picture, raw=raw)
        except NnfunError as exc:
            raise HttpError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
        except MemoryError:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large to read") from None
        except Exception as exc:  # whatever the picture held, the client gets a 4xx
            sys.stderr.write(f"error: reading a picture: {exc!r}\n")
            raise HttpError(
                HTTPStatus.UNPROCESSABLE_ENTITY, "this picture could not be read"
            ) from None
    return json_response(
        {
            "digit": digit,
            "probabilities": None if probs is None else _rounded(probs, 6),
            "pixels": _rounded(seen, 3),
        }
    )


def _rounded(values: npt.NDArray[Any], decimals: int) -> Any:
    """Nested lists of floats with `decimals` digits: short JSON, no float32 noise (0.99900001)."""
    return np.round(values.astype(np.float64), decimals).tolist()


def image_from_bytes(body: bytes) -> npt.NDArray[Any]:
    """Decode one picture with the same reader as `nnfun predict`, within `MAX_PIXELS`."""
    if not body:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"the body is empty: {_SEND_ONE}")
    if body.startswith(_MANY_IMAGES):
        raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"arrays and IDX files: {_SEND_ONE}")
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
