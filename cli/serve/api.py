"""The HTTP side of `nnfun serve`: routes, limits, and a JSON answer to every request.

Routes: the page's static files, `GET /api/model` and `POST /api/predict`.  Anything else
gets a 4xx status and a JSON body `{"error": "..."}`; no request can make the server print a
traceback or write a file.  Each connection has its own thread and a socket timeout, so a
slow or silent client only ever holds up itself.
"""

from __future__ import annotations

import contextlib
import io
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import orjson

from nnfun import Model
from nnfun.errors import NnfunError
from nnfun.recognition import read_digit
from nnfun_cli.serve.gate import REQUEST_SECONDS, Gate, Replay, refuse
from nnfun_cli.serve.hosts import allowed_hosts, host_problem
from nnfun_cli.serve.pictures import (
    SEND_ONE,
    HttpError,
    image_from_bytes,
    pixels_from_json,
)

MAX_BODY = 8 * 1024 * 1024
"""Largest request body accepted, in bytes: room for a phone photo as JPEG."""
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
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, TimeoutError)
"""What writing an answer raises when the client has left (or stopped reading)."""
_API_METHODS = {"/api/model": "GET", "/api/predict": "POST"}


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


class DigitServer(HTTPServer):
    """An HTTP server holding one model (or an ensemble), read-only, and the page's files.

    Connections go through a `Gate`: a request is answered by one of a fixed set of threads
    once its headers have arrived, so slow clients cost no thread. Only requests naming this
    server in their `Host` header are answered (see `allowed_hosts`): a web page elsewhere
    cannot reach it through the browser by pointing its own name at 127.0.0.1.
    """

    request_queue_size = 128
    """The listen backlog: a hundred clients at once wait in it instead of being refused."""

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
        self.hosts = allowed_hosts(address[0])
        self.gate = Gate(
            self._answer_connection, refuse, header_seconds=client_timeout, max_body=MAX_BODY
        )
        super().__init__(address, DigitHandler)  # on failure, server_close closes the gate

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand a new connection to the gate, which waits for its headers (never a new thread)."""
        self.gate.admit(request, client_address)

    def _answer_connection(
        self, sock: socket.socket, address: tuple[str, int], head: bytes, since: float
    ) -> None:
        try:
            DigitHandler(sock, address, self, head=head, since=since)
        except Exception:
            self.handle_error(sock, address)
        finally:
            self.shutdown_request(sock)

    def server_close(self) -> None:
        super().server_close()
        self.gate.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the host name (slow offline)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke outside the handler's own care: one line, no traceback."""
        sys.stderr.write(f"{client_address[0]}: connection dropped ({sys.exc_info()[1]!r})\n")


class DigitHandler(BaseHTTPRequestHandler):
    """One connection: each request is routed, answered, and only errors are logged.

    `head` holds the bytes the gate already read (the request line and headers, perhaps some
    body); `since` is when the client connected, from which the whole request has
    `REQUEST_SECONDS`.
    """

    def __init__(
        self, request: Any, address: Any, server: Any, *, head: bytes = b"", since: float = 0.0
    ) -> None:
        self.head = head
        self.deadline = (since or time.monotonic()) + REQUEST_SECONDS
        super().__init__(request, address, server)

    def version_string(self) -> str:
        return "nnfun"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.app.client_timeout)
        self.rfile.close()
        self.rfile = io.BufferedReader(Replay(self.head, self.connection))

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
        """Route the request and send the answer; refusals and surprises become JSON.

        Whatever a client sends gets a 4xx at worst: a request the code did not foresee is
        answered 400 (and logged on stderr, where a bug shows).
        """
        try:
            self._check_host()
            response = route(urlsplit(self.path).path)
        except HttpError as error:
            response = error_response(error)
        except Exception as exc:
            sys.stderr.write(f"error: {self.command} {self.path[:200]!r}: {exc!r}\n")
            response = error_response(
                HttpError(HTTPStatus.BAD_REQUEST, "this request could not be handled")
            )
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
        if status >= 500:  # e.g. 505 for HTTP/9.9: the client's mistake, so a 4xx
            status = HTTPStatus.BAD_REQUEST
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

    def _check_host(self) -> None:
        """421 unless the Host header names this server (or is absent, as HTTP/1.0 allows)."""
        problem = host_problem(self.headers.get_all("Host") or [], self.app.hosts, self.app)
        if problem:
            raise HttpError(HTTPStatus.MISDIRECTED_REQUEST, problem)

    def _read_body(self) -> bytes:
        """The request body, bounded by `MAX_BODY` bytes and `BODY_SECONDS` seconds."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not chunks")
        texts = self.headers.get_all("Content-Length") or []
        if not texts:
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        if len(set(texts)) > 1 or not re.fullmatch(r"[0-9]{1,15}", texts[0].strip()):
            shown = ", ".join(texts)[:60]
            raise HttpError(HTTPStatus.BAD_REQUEST, f"Content-Length {shown!r} is not one number")
        length = int(texts[0].strip())
        if length > MAX_BODY:
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is {length:,} bytes; the limit is {MAX_BODY:,}",
            )
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        deadline = min(self.deadline, time.monotonic() + BODY_SECONDS)
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
        raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"{media}: {SEND_ONE}")
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
