"""`nnfun serve`'s JSON API, against a real server on 127.0.0.1 and a free port."""

from __future__ import annotations

import gzip
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import orjson
import pytest
from conftest import limit_memory
from PIL import Image
from typer.testing import CliRunner

import nnfun as nf
from nnfun_cli.app import app
from nnfun_cli.serve.api import MAX_BODY, DigitServer
from nnfun_cli.serve.command import describe_model, listen

runner = CliRunner()


@contextmanager
def running(run: Path, client_timeout: float = 10.0) -> Iterator[int]:
    """A server for the model in `run`, in a thread of this process; yields its port."""
    params = nf.load_model(run)
    info = describe_model(params, run)
    server = DigitServer(("127.0.0.1", 0), params, info, client_timeout=client_timeout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def port(small_run: Path) -> Iterator[int]:
    with running(small_run) as number:
        yield number


class Answer:
    """A parsed HTTP response: status, headers (lower-case names) and body."""

    def __init__(self, data: bytes) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0] else 0
        self.headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}

    def json(self) -> object:
        assert self.headers["content-type"] == "application/json"
        return orjson.loads(self.body)


def exchange(port: int, raw: bytes, *, half_close: bool = False) -> Answer:
    """Send raw bytes, read until the server closes the connection (it answers HTTP/1.0)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(raw)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        return Answer(read_all(conn))


def read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def request(port: int, method: str, path: str, body: bytes = b"", content_type: str = "") -> Answer:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    return exchange(port, head.encode() + b"\r\n" + body)


def post_json(port: int, value: object) -> Answer:
    return request(port, "POST", "/api/predict", orjson.dumps(value), "application/json")


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def drawing_of(digit: np.ndarray) -> bytes:
    """An MNIST digit as a person's drawing: dark ink on white, 280x280, as PNG."""
    big = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR)
    return png(np.asarray(big))


# --- the page and the model ----------------------------------------------------------------


def test_page_and_its_files_are_served(port: int) -> None:
    page = request(port, "GET", "/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b'<canvas id="pad"' in page.body and b"/app.js" in page.body
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert request(port, "GET", "/index.html").body == page.body
    for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        answer = request(port, "GET", path)
        assert answer.status == 200 and answer.headers["content-type"].startswith(kind)
        assert len(answer.body) > 500


def test_model_description(port: int, small_run: Path) -> None:
    answer = request(port, "GET", "/api/model?x=1")
    info = answer.json()
    metrics = orjson.loads((small_run / "metrics.json").read_bytes())
    assert answer.status == 200
    assert info == {
        "name": small_run.name,
        "architecture": "784-64-10",
        "layers": [784, 64, 10],
        "parameters": 784 * 64 + 64 + 64 * 10 + 10,
        "dataset": "mnist",
        "test_accuracy": metrics["test_accuracy"],
    }
    assert 0.9 < info["test_accuracy"] < 1  # type: ignore[index]


def test_a_bare_model_file_has_no_accuracy(small_run: Path, tmp_path: Path) -> None:
    bare = tmp_path / "digits.npz"
    bare.write_bytes((small_run / "model.npz").read_bytes())
    with running(bare) as other:
        info = request(other, "GET", "/api/model").json()
    assert info["name"] == "digits.npz" and info["test_accuracy"] is None  # type: ignore[index]


# --- predictions ---------------------------------------------------------------------------


def test_a_drawing_reads_as_nnfun_predict_reads_it(
    port: int, small_run: Path, mnist, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Same picture, same code path: the API's answer equals `nnfun predict --json`'s."""
    digits, labels = mnist["t10k-images-idx3-ubyte"][:20], mnist["t10k-labels-idx1-ubyte"][:20]
    read = []
    for i, digit in enumerate(digits):
        drawing = drawing_of(digit)
        (tmp_path / f"d{i:02}.png").write_bytes(drawing)
        answer = request(port, "POST", "/api/predict", drawing, "image/png")
        assert answer.status == 200
        read.append(answer.json())
    result = runner.invoke(app, ["predict", str(small_run), str(tmp_path), "--json"])
    assert result.exit_code == 0, result.stderr
    cli = orjson.loads(result.stdout)["predictions"]
    for api, expected in zip(read, cli, strict=True):
        assert api["digit"] == expected["digit"]
        np.testing.assert_allclose(api["probabilities"], expected["probabilities"], atol=1e-6)
    assert np.mean([a["digit"] == y for a, y in zip(read, labels, strict=True)]) >= 0.85


def test_the_answer_holds_the_image_the_network_saw(port: int, small_run: Path, mnist) -> None:  # type: ignore[no-untyped-def]
    digit = mnist["t10k-images-idx3-ubyte"][0]
    answer = request(port, "POST", "/api/predict", drawing_of(digit), "application/octet-stream")
    body = answer.json()
    seen = np.array(body["pixels"])  # type: ignore[index]
    params = nf.load_model(small_run)
    expected = nf.read_digit(params, np.asarray(Image.open(io.BytesIO(drawing_of(digit)))))
    assert seen.shape == (28, 28) and seen.max() > 0.9
    np.testing.assert_allclose(seen, expected.seen, atol=5e-4)
    assert body["digit"] == expected.digit == 7  # type: ignore[index]
    assert abs(sum(body["probabilities"]) - 1) < 1e-4  # type: ignore[index]


def test_json_pixels_raw_and_preprocessed(port: int, small_run: Path, mnist) -> None:  # type: ignore[no-untyped-def]
    digits = mnist["t10k-images-idx3-ubyte"][:5]
    params = nf.load_model(small_run)
    expected = nf.predict_proba(params, nf.scale_pixels(digits.reshape(5, 784)))
    for digit, probs in zip(digits, expected, strict=True):
        raw = post_json(port, {"pixels": digit.tolist(), "raw": True}).json()
        np.testing.assert_allclose(raw["probabilities"], probs, atol=1e-6)  # type: ignore[index]
        flat = post_json(port, {"pixels": (digit.reshape(784) / 255).tolist(), "raw": True})
        np.testing.assert_allclose(flat.json()["probabilities"], probs, atol=1e-6)  # type: ignore[index]
        rgb = np.repeat(digit[:, :, None], 3, axis=2)
        cooked = post_json(port, {"pixels": rgb.tolist()}).json()
        assert cooked["digit"] == int(np.argmax(probs))  # type: ignore[index]


@pytest.mark.parametrize(
    "pixels",
    [np.full((100, 100), 255), np.zeros((28, 28)), np.full((50, 60, 4), 200)],
    ids=["white", "black", "grey-rgba"],
)
def test_a_blank_picture_has_no_digit(port: int, pixels: np.ndarray) -> None:
    body = post_json(port, {"pixels": pixels.tolist()}).json()
    assert body["digit"] is None and body["probabilities"] is None  # type: ignore[index]
    assert np.array(body["pixels"]).shape == (28, 28)  # type: ignore[index]
    answer = request(port, "POST", "/api/predict", png(np.full((64, 64), 255, np.uint8)))
    assert answer.status == 200 and answer.json()["digit"] is None  # type: ignore[index]


# --- bad requests --------------------------------------------------------------------------

_PNG = png((np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64))
_BIG = png(np.zeros((4100, 4100), np.uint8))  # 16.8 M pixels, a few KB of PNG
_HEAD = "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
BAD_REQUESTS: dict[str, tuple[int, bytes]] = {
    "unknown path": (404, b"GET /nope HTTP/1.1\r\n\r\n"),
    "dot-dot": (404, b"GET /../../etc/passwd HTTP/1.1\r\n\r\n"),
    "encoded dot-dot": (404, b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n\r\n"),
    "static subfolder": (404, b"GET /static/../app.js HTTP/1.1\r\n\r\n"),
    "package file": (404, b"GET /api.py HTTP/1.1\r\n\r\n"),
    "POST a page": (405, b"POST /api/model HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    "GET predict": (405, b"GET /api/predict HTTP/1.1\r\n\r\n"),
    "DELETE": (405, b"DELETE / HTTP/1.1\r\n\r\n"),
    "unknown method": (405, b"BREW /api/predict HTTP/1.1\r\n\r\n"),
    "garbled request line": (400, b"what is this\r\n\r\n"),
    "no length": (411, (_HEAD + "\r\n").encode()),
    "chunked": (
        411,
        (_HEAD + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode(),
    ),
    "length not a number": (400, (_HEAD + "Content-Length: ten\r\n\r\n").encode()),
    "length in other digits": (400, (_HEAD + "Content-Length: \u00b2\r\n\r\n").encode()),
    "two lengths": (400, (_HEAD + "Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi").encode()),
    "length with a sign": (400, (_HEAD + "Content-Length: +2\r\n\r\nhi").encode()),
    "another site's name": (421, b"GET /api/model HTTP/1.1\r\nHost: attacker.example\r\n\r\n"),
    "another name, our port": (421, b"GET / HTTP/1.1\r\nHost: evil.test:8000\r\n\r\n"),
    "two hosts": (421, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.test\r\n\r\n"),
    "negative length": (400, (_HEAD + "Content-Length: -5\r\n\r\n").encode()),
    "too long": (413, (_HEAD + f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode()),
    "empty body": (400, (_HEAD + "Content-Length: 0\r\n\r\n").encode()),
    "form": (415, (_HEAD + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi").encode()),
}
BAD_BODIES: dict[str, tuple[int, str, bytes]] = {
    "not json": (400, "application/json", b"{pixels: 1"),
    "json list": (400, "application/json", b"[1, 2, 3]"),
    "no pixels": (400, "application/json", b'{"image": [[1]]}'),
    "extra key": (400, "application/json", b'{"pixels": [[1]], "colour": 1}'),
    "pixels text": (400, "application/json", b'{"pixels": "abc"}'),
    "pixels strings": (400, "application/json", b'{"pixels": [["1", "2"]]}'),
    "ragged rows": (400, "application/json", b'{"pixels": [[1, 2], [3]]}'),
    "null pixel": (400, "application/json", b'{"pixels": [[1, null]]}'),
    "4-d": (400, "application/json", b'{"pixels": [[[[1]]]]}'),
    "5 channels": (400, "application/json", b'{"pixels": [[[1, 2, 3, 4, 5]]]}'),
    "no rows": (400, "application/json", b'{"pixels": []}'),
    "one number": (400, "application/json", b'{"pixels": 7}'),
    "huge number": (400, "application/json", b'{"pixels": [[1e999]]}'),
    "raw not bool": (400, "application/json", b'{"pixels": [[1]], "raw": "yes"}'),
    "raw wrong size": (422, "application/json", b'{"pixels": [[0, 1], [1, 0]], "raw": true}'),
    "text as image": (422, "image/png", b"hello, I am not a picture"),
    "truncated png": (422, "image/png", _PNG[: len(_PNG) // 2]),
    "too many pixels": (422, "image/png", _BIG),
    "npy": (415, "application/octet-stream", b"\x93NUMPY\x01\x00v\x00{'descr': '|u1'}"),
    "gzip": (415, "application/octet-stream", gzip.compress(b"\0" * 1000)),
    "idx": (415, "", b"\0\0\x08\x03\0\0\0\x01\0\0\0\x1c\0\0\0\x1c"),
}


@pytest.mark.parametrize("status, raw", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_requests_get_a_4xx_and_a_json_error(
    port: int, status: int, raw: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = exchange(port, raw, half_close=True)
    assert answer.status == status, answer.body
    error = answer.json()
    assert isinstance(error, dict) and set(error) == {"error"} and error["error"]
    if status == 405:
        assert answer.headers["allow"] in ("GET", "POST", "GET, POST")
    assert request(port, "GET", "/api/model").status == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("status, kind, body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_get_a_4xx_and_a_json_error(
    port: int, status: int, kind: str, body: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = request(port, "POST", "/api/predict", body, kind)
    assert answer.status == status, answer.body
    error = answer.json()
    assert isinstance(error, dict) and set(error) == {"error"} and "\n" not in error["error"]
    assert "Traceback" not in capfd.readouterr().err


def test_a_short_body_is_refused(port: int) -> None:
    answer = exchange(
        port, (_HEAD + "Content-Length: 100\r\n\r\n0123456789").encode(), half_close=True
    )
    assert answer.status == 400 and "10 of 100" in answer.json()["error"]  # type: ignore[index]


# --- slow clients, many clients ------------------------------------------------------------


def test_slow_clients_do_not_block_others_and_are_dropped(small_run: Path) -> None:
    with running(small_run, client_timeout=1.0) as port:
        silent = socket.create_connection(("127.0.0.1", port))
        silent.sendall(b"GET / HTTP/1.1\r\nHost:")  # and then nothing
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.sendall((_HEAD + "Content-Length: 1000\r\n\r\n0123456789").encode())
        start = time.monotonic()
        assert request(port, "GET", "/api/model").status == 200
        assert time.monotonic() - start < 0.9  # answered while both are still connected
        silent.settimeout(5)
        stalled.settimeout(5)
        assert read_all(silent) == b""  # dropped after a second of silence
        late = Answer(read_all(stalled))
        assert late.status == 408 and "error" in late.json()  # type: ignore[operator]
        silent.close()
        stalled.close()


def test_many_clients_at_once(port: int, mnist) -> None:  # type: ignore[no-untyped-def]
    drawings = [drawing_of(d) for d in mnist["t10k-images-idx3-ubyte"][:8]]
    answers: list[int] = []

    def client(i: int) -> None:
        for _ in range(4):
            answer = request(port, "POST", "/api/predict", drawings[i], "image/png")
            answers.append(answer.json()["digit"])  # type: ignore[index]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 32


# --- the command ---------------------------------------------------------------------------


def start_serving(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """`nnfun serve ARGS` in a new process; returns it and the URL it printed."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "nnfun"), "serve", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        preexec_fn=limit_memory,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "http://" in line, line + process.stderr.read() if process.stderr else ""
    return process, line.split("http://")[1].split()[0]


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


def test_serve_runs_until_ctrl_c_and_writes_nothing(small_run: Path, tmp_path: Path, mnist) -> None:  # type: ignore[no-untyped-def]
    before = sorted((p.name, p.stat().st_mtime_ns) for p in small_run.iterdir())
    process, address = start_serving(str(small_run), "--port", "0", cwd=tmp_path)
    try:
        port = int(address.rstrip("/").rsplit(":", 1)[1])
        assert address.startswith("127.0.0.1:")
        assert request(port, "GET", "/api/model").json()["architecture"] == "784-64-10"  # type: ignore[index]
        drawing = drawing_of(mnist["t10k-images-idx3-ubyte"][0])
        assert request(port, "POST", "/api/predict", drawing, "image/png").status == 200
        assert request(port, "GET", "/nope").status == 404
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    assert "Traceback" not in err and "warning" not in err
    assert "stopped" in out
    assert list(tmp_path.iterdir()) == []
    assert sorted((p.name, p.stat().st_mtime_ns) for p in small_run.iterdir()) == before


def test_serve_warns_when_other_machines_can_connect(small_run: Path, tmp_path: Path) -> None:
    process, address = start_serving(
        str(small_run), "--host", "0.0.0.0", "--port", "0", cwd=tmp_path
    )
    code, _, err = stop(process)
    assert address.startswith("localhost:") and code == 0, err
    assert "warning" in err and "anyone who can reach this machine" in err


def test_default_port_is_8000_or_the_next_free_one(small_run: Path) -> None:
    params = nf.load_model(small_run)
    info = describe_model(params, small_run)
    first = listen("127.0.0.1", None, params, info)
    try:
        second = listen("127.0.0.1", None, params, info)
        second.server_close()
        assert 8000 <= first.server_port < second.server_port < 8100
    finally:
        first.server_close()


def test_a_taken_port_or_a_missing_model_is_one_line(small_run: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        number = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", str(small_run), "--port", str(number)])
    assert result.exit_code == 2 and f"port {number}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["serve", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no model" in result.stderr
