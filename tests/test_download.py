"""Downloading and loading datasets, against a local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from nnfun.errors import DataError
from nnfun.idx import encode_idx
from nnfun.io import datasets
from nnfun.io.datasets import FILES, download, find_file, load_dataset, resolve_data_dir

TIMEOUT = 0.5
NAME = FILES["train_labels"]


def _synthetic() -> dict[str, bytes]:
    """Tiny MNIST-shaped IDX files: 6 train and 3 test images of 4x4 pixels."""
    rng = np.random.default_rng(0)
    arrays = {
        FILES["train_images"]: rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
        FILES["train_labels"]: np.arange(6, dtype=np.uint8),
        FILES["test_images"]: rng.integers(0, 256, (3, 4, 4), dtype=np.uint8),
        FILES["test_labels"]: np.array([7, 8, 9], dtype=np.uint8),
    }
    return {name: encode_idx(array) for name, array in arrays.items()}


RAW = _synthetic()
GZ = {name: gzip.compress(raw, mtime=0) for name, raw in RAW.items()}
SHA = {name: hashlib.sha256(raw).hexdigest() for name, raw in RAW.items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]
    stop: threading.Event


class _Handler(BaseHTTPRequestHandler):
    """Routes `/<behaviour>/<file>.gz`; see `do_GET`."""

    server: _Server

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        route, _, file = self.path.strip("/").partition("/")
        body = GZ.get(file.removesuffix(".gz"))
        if route in ("403", "404") or body is None:
            self.send_error(int(route) if route == "403" else 404)
        elif route in ("good", "good2"):
            self._send(body)
        elif route == "truncated":  # promises more than it sends, then hangs up
            self._send(body[: len(body) // 2], length=len(body))
        elif route == "corrupt":  # valid gzip of the wrong content
            self._send(gzip.compress(RAW[file.removesuffix(".gz")] + b"\x00"))
        elif route == "html":  # an error page served with status 200
            self._send(b"<html>Please log in</html>")
        elif route == "slow":  # no answer before the client's time-out
            self.server.stop.wait(5 * TIMEOUT)
        elif route == "stall":  # headers, part of the body, then silence
            self._send(body[:10], length=len(body), stall=True)
        elif route == "endless":  # no Content-Length, and more bytes than any MNIST file
            self._send_endless()
        else:
            self.send_error(500)

    def _send(self, body: bytes, length: int | None = None, stall: bool = False) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if stall:
                self.server.stop.wait(5 * TIMEOUT)
        except OSError:
            pass  # the client gave up first

    def _send_endless(self) -> None:
        try:
            self.send_response(200)
            self.end_headers()  # no length: the body ends when the server hangs up
            for _ in range(64):
                self.wfile.write(b"\0" * 65536)
        except OSError:
            pass  # the client stopped reading at its cap

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.hits = []
    httpd.stop = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _url(httpd: _Server, route: str) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/{route}/"


def _refused_url() -> str:
    """A local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _files(folder: Path) -> list[str]:
    """Everything in `folder`, hidden temp files included."""
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_first_good_mirror_wins(server: _Server, tmp_path: Path) -> None:
    log: list[str] = []
    mirrors = [_url(server, "good"), _url(server, "good2")]
    path = download(NAME, tmp_path, mirrors=mirrors, sha256=SHA[NAME], log=log.append)
    assert path == tmp_path / f"{NAME}.gz"
    assert path.read_bytes() == GZ[NAME]
    assert server.hits == [f"/good/{NAME}.gz"]
    assert _files(tmp_path) == [f"{NAME}.gz"]
    assert not any("failed" in line for line in log)


def test_failures_then_success(server: _Server, tmp_path: Path) -> None:
    log: list[str] = []
    bad = ["403", "404", "truncated", "corrupt", "html", "slow", "stall"]
    mirrors = [_url(server, route) for route in bad] + [_refused_url(), _url(server, "good")]
    path = download(
        NAME, tmp_path, mirrors=mirrors, sha256=SHA[NAME], timeout=TIMEOUT, log=log.append
    )
    assert path.read_bytes() == GZ[NAME]
    assert server.hits == [f"/{route}/{NAME}.gz" for route in [*bad, "good"]]
    failures = [line for line in log if "failed" in line]
    assert len(failures) == len(bad) + 1
    assert "HTTP 403" in failures[0]
    assert "HTTP 404" in failures[1]
    assert "truncated" in failures[2]
    assert "checksum mismatch" in failures[3]
    assert "checksum mismatch" in failures[4]
    assert "timed out" in failures[5]
    assert "timed out" in failures[6]
    assert _files(tmp_path) == [f"{NAME}.gz"]


@pytest.mark.parametrize("route", ["403", "404", "truncated", "corrupt", "html", "slow", "stall"])
def test_each_failure_leaves_nothing(server: _Server, tmp_path: Path, route: str) -> None:
    dest = tmp_path / "mnist"
    with pytest.raises(DataError):
        download(NAME, dest, mirrors=[_url(server, route)], sha256=SHA[NAME], timeout=TIMEOUT)
    assert _files(dest) == []


def test_all_mirrors_fail(server: _Server, tmp_path: Path) -> None:
    dest = tmp_path / "data" / "mnist"
    mirrors = [_url(server, "404"), _url(server, "corrupt"), _refused_url()]
    with pytest.raises(DataError) as info:
        download(NAME, dest, mirrors=mirrors, sha256=SHA[NAME], timeout=TIMEOUT)
    message = str(info.value)
    for mirror in mirrors:
        assert f"{mirror}{NAME}.gz" in message
    assert f"Put {NAME}.gz" in message
    assert f"into {dest.resolve()}/" in message
    assert "--data-dir" not in message  # the shell adds the flag: tests/test_advice.py
    assert "NNFUN_DATA" in message
    assert "\n" not in message
    assert _files(dest) == []


def test_no_mirrors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no mirrors"):
        download(NAME, tmp_path, mirrors=[], sha256=SHA[NAME])


def test_bad_url_is_a_failed_mirror(server: _Server, tmp_path: Path) -> None:
    mirrors = ["not a url", _url(server, "good")]
    assert download(NAME, tmp_path, mirrors=mirrors, sha256=SHA[NAME]).is_file()


@pytest.fixture
def fake_mnist(server: _Server, monkeypatch: pytest.MonkeyPatch) -> _Server:
    """Point MNIST at the local server and the synthetic files."""
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (_refused_url(), _url(server, "good")))
    monkeypatch.setattr(datasets, "MNIST_SHA256", SHA)
    return server


def test_load_dataset_downloads_mnist(fake_mnist: _Server, tmp_path: Path) -> None:
    data = load_dataset(data_dir=tmp_path, log=lambda _: None)
    assert data.train_x.shape == (6, 16)
    assert data.train_y.tolist() == [0, 1, 2, 3, 4, 5]
    assert data.test_x.shape == (3, 16)
    assert data.test_y.tolist() == [7, 8, 9]
    for array in (data.train_x, data.train_y, data.test_x, data.test_y):
        assert array.dtype == np.uint8
        assert not array.flags.writeable
    assert _files(tmp_path / "mnist") == sorted(f"{name}.gz" for name in FILES.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.train_x = data.test_x  # type: ignore[misc, unused-ignore]

    hits = len(fake_mnist.hits)
    again = load_dataset(data_dir=tmp_path)  # everything is local now: no network
    assert len(fake_mnist.hits) == hits
    np.testing.assert_array_equal(again.train_x, data.train_x)


def test_load_dataset_mixed_local_files(fake_mnist: _Server, tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / FILES["train_images"]).write_bytes(RAW[FILES["train_images"]])  # not gzipped
    load_dataset(data_dir=tmp_path)
    assert len(fake_mnist.hits) == 3


def test_load_dataset_no_download(fake_mnist: _Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing") as info:
        load_dataset(data_dir=tmp_path, download_missing=False)
    assert fake_mnist.hits == []
    assert str((tmp_path / "mnist").resolve()) in str(info.value)


def test_load_dataset_download_fails_lists_all(
    server: _Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (_url(server, "404"),))
    with pytest.raises(DataError) as info:
        load_dataset(data_dir=tmp_path)
    message = str(info.value)
    assert all(name in message for name in FILES.values())
    assert f"{_url(server, '404')}{FILES['train_images']}.gz" in message
    assert _files(tmp_path / "mnist") == []


def test_load_dataset_other_dataset_missing(tmp_path: Path) -> None:
    (tmp_path / "fashion-mnist").mkdir()
    (tmp_path / "fashion-mnist" / f"{FILES['test_labels']}.gz").write_bytes(GZ[NAME])
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", tmp_path)
    message = str(info.value)
    assert "'fashion-mnist'" in message
    assert f"into {(tmp_path / 'fashion-mnist').resolve()}/" in message
    for key in ("train_images", "train_labels", "test_images"):
        assert FILES[key] in message
    assert FILES["test_labels"] not in message
    assert "--data-dir" not in message  # the shell adds the flag: tests/test_advice.py
    assert "NNFUN_DATA" in message


def _write_local(folder: Path, **replace: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in GZ.items():
        (folder / f"{name}.gz").write_bytes(replace.get(name, raw))


def test_load_dataset_other_dataset_present(tmp_path: Path) -> None:
    _write_local(tmp_path / "fashion-mnist")
    assert load_dataset("fashion-mnist", tmp_path).train_x.shape == (6, 16)


def test_corrupt_local_file(fake_mnist: _Server, tmp_path: Path) -> None:
    name = FILES["test_images"]
    _write_local(tmp_path / "mnist", **{name: GZ[name][:-5]})
    with pytest.raises(DataError) as info:
        load_dataset(data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist" / f"{name}.gz") in message
    assert "delete" in message
    assert fake_mnist.hits == []


def test_bad_local_labels(tmp_path: Path) -> None:
    name = FILES["train_labels"]
    bad = gzip.compress(encode_idx(np.array([0, 1, 2, 3, 4, 42], dtype=np.uint8)))
    _write_local(tmp_path / "mnist", **{name: bad})
    with pytest.raises(DataError, match="labels outside 0-9"):
        load_dataset(data_dir=tmp_path)


def test_count_mismatch(tmp_path: Path) -> None:
    name = FILES["test_labels"]
    _write_local(tmp_path / "mnist", **{name: gzip.compress(encode_idx(np.zeros(4, np.uint8)))})
    with pytest.raises(DataError, match="3 images but 4 labels"):
        load_dataset(data_dir=tmp_path)


@pytest.mark.parametrize("dataset", ["", "..", "a/b", "/etc"])
def test_bad_dataset_name(tmp_path: Path, dataset: str) -> None:
    with pytest.raises(DataError, match="bad dataset name"):
        load_dataset(dataset, tmp_path)


def test_resolve_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNFUN_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "opt") == tmp_path / "opt"
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("NNFUN_DATA")
    assert resolve_data_dir(None) == Path("data")


def test_find_file(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    assert find_file(tmp_path, "mnist", NAME) is None
    (folder / f"{NAME}.gz").write_bytes(b"")
    assert find_file(tmp_path, "mnist", NAME) == folder / f"{NAME}.gz"
    (folder / NAME).write_bytes(b"")
    assert find_file(tmp_path, "mnist", NAME) == folder / NAME


def test_real_mnist_loads() -> None:
    env = os.environ.get("NNFUN_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not all(find_file(root, "mnist", name) for name in FILES.values()):
        pytest.skip("no MNIST copy (set NNFUN_DATA)")
    data = load_dataset(data_dir=root, download_missing=False)
    assert data.train_x.shape == (60000, 784)
    assert data.test_x.shape == (10000, 784)
    assert data.train_y.shape == (60000,)
    assert data.test_y.shape == (10000,)
    assert abs(data.train_x.mean() / 255 - 0.1306604762738429) < 1e-9


def test_a_body_without_length_is_capped_while_streaming(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file too large: over 1,000,000 bytes"):
        download(
            NAME,
            tmp_path,
            mirrors=[_url(server, "endless")],
            sha256=SHA[NAME],
            timeout=TIMEOUT,
            max_bytes=1_000_000,
        )
    assert _files(tmp_path) == []
