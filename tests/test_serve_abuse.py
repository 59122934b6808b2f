"""`nnfun serve` as a real process under abuse: slow clients, crowds, foreign names, odd files.

The server runs as users run it (its own process, within the tests' memory limit). Hundreds of
clients dribbling their headers must not keep `/api/model` from answering within a second; a
hundred pictures posted at once all get an answer; a request naming another site in its `Host`
header (DNS rebinding) is refused; nothing a client sends gets a 5xx.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_serve import Answer, exchange, request, start_serving, stop

SLOW_CLIENTS = 300
POSTS = 100


@pytest.fixture(scope="module")
def server(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    process, address = start_serving(
        str(small_run), "--port", "0", cwd=tmp_path_factory.mktemp("serve")
    )
    try:
        yield int(address.rstrip("/").rsplit(":", 1)[1])
    finally:
        code, _, err = stop(process)
        assert code == 0 and "Traceback" not in err, err


@pytest.mark.parametrize(
    "head, dribble",
    [
        (b"GET /api/model HTTP/1.1\r\n", b"X"),  # a header that never ends
        (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n", b"x"),
    ],
    ids=["headers", "bodies"],
)
def test_slow_clients_cannot_starve_the_server(server: int, head: bytes, dribble: bytes) -> None:
    """300 clients send their `head`, then a byte now and then (of their headers, or of their
    body once the headers are complete); others are answered at once."""
    slow = [socket.create_connection(("127.0.0.1", server)) for _ in range(SLOW_CLIENTS)]
    try:
        for sock in slow:
            sock.sendall(head)
        for _ in range(3):
            for sock in slow:
                sock.sendall(dribble)
            start = time.monotonic()
            answer = request(server, "GET", "/api/model")
            assert answer.status == 200 and time.monotonic() - start < 1.0
            time.sleep(0.3)
    finally:
        for sock in slow:
            sock.close()


def test_a_hundred_posts_at_once_are_all_answered(server: int) -> None:
    picture = io.BytesIO()
    Image.fromarray(np.eye(64, dtype=np.uint8) * 255).save(picture, format="PNG")
    statuses: list[int] = []
    barrier = threading.Barrier(POSTS)

    def post() -> None:
        barrier.wait()
        statuses.append(
            request(server, "POST", "/api/predict", picture.getvalue(), "image/png").status
        )

    threads = [threading.Thread(target=post) for _ in range(POSTS)]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    while any(t.is_alive() for t in threads) and time.monotonic() - start < 10:
        model = request(server, "GET", "/api/model")
        assert model.status == 200 and time.monotonic() - start < 60
        time.sleep(0.2)
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * POSTS


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", "localhost.evil.test"],
)
def test_another_sites_name_is_refused(server: int, host: str) -> None:
    for path in ("/", "/api/model"):
        answer = exchange(server, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert answer.status == 421 and "not this server" in answer.json()["error"]  # type: ignore[index]
    for own in ("127.0.0.1", f"127.0.0.1:{server}", f"localhost:{server}", "[::1]"):
        assert exchange(server, f"GET / HTTP/1.1\r\nHost: {own}\r\n\r\n".encode()).status == 200


@pytest.mark.parametrize("kind", ["ICO", "TGA", "TIFF", "WEBP"])
def test_other_picture_formats_are_read_like_png(server: int, kind: str) -> None:
    """ICO and TGA begin with two zero bytes, as IDX does: they are still single pictures."""
    stroke = np.full((64, 64), 255, dtype=np.uint8)
    stroke[8:56, 30:36] = 0
    data = io.BytesIO()
    Image.fromarray(stroke).convert("RGB").save(data, format=kind)
    answer = request(server, "POST", "/api/predict", data.getvalue(), "application/octet-stream")
    assert answer.status == 200 and answer.json()["digit"] is not None  # type: ignore[index]


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1e3\r\n\r\n",
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0x10\r\n\r\n",
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \xd9\xa3\r\n\r\n",
        b"GET /api/model HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
        b"GET /%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET " + b"/a" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,  # a TLS hello
        b"GET / HTTP/9.9\r\n\r\n",
    ],
)
def test_nothing_a_client_sends_gets_a_5xx(server: int, raw: bytes) -> None:
    answer = exchange(server, raw, half_close=True)
    assert answer.status == 0 or 400 <= answer.status < 500, answer.body
    assert request(server, "GET", "/api/model").status == 200


def test_a_whole_request_has_a_deadline(server: int) -> None:
    """A body dribbled a byte a second is cut off, however patient the server's socket is."""
    sock = socket.create_connection(("127.0.0.1", server))
    sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
    start = time.monotonic()
    try:
        with pytest.raises(OSError):
            while time.monotonic() - start < 60:
                sock.sendall(b"x")
                time.sleep(1.0)
        assert time.monotonic() - start < 45
    finally:
        sock.close()
    assert Answer(b"").status == 0


def test_two_big_blank_pictures_at_once_fit_in_memory(server: int) -> None:
    """A 4096x4096 transparent PNG is 65 KB; read as floats of every channel it took 1.1 GB,
    two at once more than the server's 3 GiB. Memory follows the picture's real size now."""
    blank = io.BytesIO()
    Image.fromarray(np.zeros((4096, 4096, 4), np.uint8), "RGBA").save(blank, format="PNG")
    statuses: list[int] = []

    def post() -> None:
        statuses.append(
            request(server, "POST", "/api/predict", blank.getvalue(), "image/png").status
        )

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == [200, 200]
