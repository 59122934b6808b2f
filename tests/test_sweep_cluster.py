"""Sweeps on a Dask cluster that goes wrong, with real `dask scheduler` and `dask worker` processes.

The only worker killed mid-trial: the sweep ends non-zero naming the unfinished trials (never
exit 0 with "0 of 1 runs"). A port that accepts but never answers: one line within the connect
timeout, and SIGTERM meanwhile is one line too. A scheduler address that is not one: one line, fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import limit_memory
from test_sweep import BASE, finish, sweep_process

from nnfun_cli.sweep.trial import epochs_done

pytest.importorskip("distributed")
DASK = str(Path(sys.executable).with_name("dask"))
ENV = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"} | {"COLUMNS": "200"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [DASK, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=limit_memory,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


@pytest.fixture
def scheduler() -> Iterator[str]:
    port = free_port()
    process = start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    address = f"tcp://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield address
    finally:
        stop(process)


def test_killing_the_only_worker_ends_non_zero_naming_the_trials(
    scheduler: str, small_mnist: Path, tmp_path: Path
) -> None:
    worker = start("worker", scheduler, "--nthreads", "1", "--no-nanny", "--no-dashboard")
    try:
        process = sweep_process(small_mnist, tmp_path, "--scheduler", scheduler, "--no-figures")
        sweep_dir = tmp_path / "grid"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
            epochs_done(d) >= 1 for d in sweep_dir.glob("*_seed-0")
        ):
            time.sleep(0.02)
        assert process.poll() is None, process.communicate()
        worker.kill()  # the only worker, with the scattered data and a trial half done
        code, out, err = finish(process)
    finally:
        stop(worker)
    assert code not in (0, 130), err
    assert "did not finish" in err and "_seed-0" in err.splitlines()[-1]
    assert "Traceback" not in err
    unfinished = [d for d in sweep_dir.iterdir() if d.is_dir() and not (d / "model.npz").exists()]
    assert unfinished and all(d.name in err or "..." in err for d in unfinished[:3])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        done.set()
        thread.join(5)
        for sock in held:
            sock.close()
        server.close()


def sweep_of(data: Path, root: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "nnfun", "sweep", "--grid", "hidden=8,16", *BASE]
    return subprocess.Popen(
        argv + ["--data-dir", str(data), "--root", str(root), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=limit_memory,
    )


def test_a_port_that_never_answers_honours_the_timeout(
    silent_port: int, small_mnist: Path, tmp_path: Path
) -> None:
    start_time = time.monotonic()
    process = sweep_of(small_mnist, tmp_path, "--scheduler", f"tcp://127.0.0.1:{silent_port}")
    code, _, err = finish(process)
    assert time.monotonic() - start_time < 40
    assert code == 2 and "did not answer within 10 s" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3, err


def test_sigterm_while_waiting_for_the_scheduler_is_one_line(
    silent_port: int, small_mnist: Path, tmp_path: Path
) -> None:
    process = sweep_of(small_mnist, tmp_path, "--scheduler", f"tcp://127.0.0.1:{silent_port}")
    time.sleep(3)  # waiting for the scheduler's first word
    process.send_signal(signal.SIGTERM)
    code, _, err = finish(process)
    assert code != 0 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:notaport", "::::", "foo://host:1", "tcp://:8786", "tcp://h:0"]
)
def test_a_malformed_scheduler_address_is_one_fast_line(
    address: str, small_mnist: Path, tmp_path: Path
) -> None:
    start_time = time.monotonic()
    code, _, err = finish(sweep_of(small_mnist, tmp_path, "--scheduler", address))
    assert time.monotonic() - start_time < 15
    assert code == 2 and "not a Dask address" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
