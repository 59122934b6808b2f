"""The distributed engine: trials as tasks on an existing Dask cluster (`nnfun[cluster]`).

The data set is read once by the sweep and scattered to every worker, so no worker needs a data
folder or a download. A worker trains in the sweep folder itself when it can see it (a shared
file system: it finds the token this sweep wrote there), continuing from the trial's checkpoint;
otherwise it trains in a temporary folder and sends the run's files back with the result. Dask
reschedules the task of a worker that dies on another worker (up to
`distributed.scheduler.allowed-failures` times); every trial is deterministic, so the results
are the same either way.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from nnfun import Config
from nnfun.errors import DivergedError, NnfunError
from nnfun.io.datasets import Dataset
from nnfun.io.files import atomic_write_bytes
from nnfun.io.fitting import write_settings
from nnfun.io.runs import CONFIG_JSON
from nnfun_cli.progress import Interrupted, StopFlag, ctrl_c_stops_at_next_batch
from nnfun_cli.sweep.events import Status, TrialEnd, Watcher
from nnfun_cli.sweep.plan import Trial
from nnfun_cli.sweep.trial import epochs_done, run_trial

TOKEN_FILE = ".sweep-token"
CONNECT_SECONDS = 10.0
"""How long the scheduler has to accept the connection and answer it."""
WORKER_WAIT = 30.0
"""After the workers were lost, how long to wait for one to come back before giving up."""
RETRIES = 3
"""How many times lost trials are submitted again."""
LOST = "its Dask worker was lost, and no worker took the trial over; run the sweep again"
POLL_SECONDS = 0.25
STOP_CHECK_SECONDS = 1.0  # how often a task asks the scheduler whether the sweep was stopped
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
SLOW_WORKERS = (
    "the Dask workers run with MALLOC_TRIM_THRESHOLD_ set (Dask's default), which makes glibc map "
    "and unmap every large array: training runs 2 to 3 times slower. See 'Sweeps on a Dask cluster' "
    "in the README to start the workers without it."
)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise NnfunError(
            "--scheduler needs Dask: pip install 'nnfun[cluster]' (here and on every worker)"
        ) from None
    return distributed


def _sees_sweep_folder(sweep_dir: Path, token: str) -> bool:
    """Whether this worker shares the client's sweep folder: it holds this sweep's token."""
    try:
        return (sweep_dir / TOKEN_FILE).read_text() == token
    except (OSError, UnicodeDecodeError):
        return False


def _every(seconds: float, ask: Callable[[], bool]) -> Callable[[], bool]:
    """`ask`, but asked again only after `seconds`; in between the last answer stands."""
    last, answer = 0.0, False

    def check() -> bool:
        nonlocal last, answer
        if not answer and time.monotonic() - last >= seconds:
            last, answer = time.monotonic(), ask()
        return answer

    return check


def remote_trial(
    settings: Mapping[str, Any], run_dir: str, token: str, data: Dataset, stop_event: str
) -> dict[str, Any]:
    """The task run on a Dask worker: one trial, as `{status, message, resumed_from, files}`.

    `files` holds the run folder's files when the worker cannot see the sweep folder, else nothing.
    """
    event = _distributed().Event(stop_event)
    folder = Path(run_dir)
    shared = _sees_sweep_folder(folder.parent, token)
    resumed_from = epochs_done(folder) if shared else 0
    status: Status = "finished"
    message = ""
    with nullcontext(run_dir) if shared else tempfile.TemporaryDirectory() as where:
        try:
            run_trial(
                settings, Path(where), data, should_stop=_every(STOP_CHECK_SECONDS, event.is_set)
            )
        except DivergedError as exc:
            status, message = "diverged", str(exc)
        except Interrupted:
            status = "interrupted"
        except NnfunError as exc:
            status, message = "failed", str(exc)
        files = (
            {} if shared else {p.name: p.read_bytes() for p in Path(where).iterdir() if p.is_file()}
        )
    return {
        "status": status,
        "message": message,
        "resumed_from": resumed_from,
        "files": files,
        "malloc_trim_threshold": os.environ.get(MALLOC_TRIM),
    }


def run_dask(
    address: str, trials: list[Trial], sweep_dir: Path, data: Dataset, watcher: Watcher
) -> dict[str, TrialEnd]:
    """Run `trials` on the cluster at `address`; Ctrl-C stops them at a checkpoint (Interrupted)."""
    distributed = _distributed()
    token = secrets.token_hex(8)
    sweep_dir = sweep_dir.resolve()
    try:
        client = distributed.Client(address, timeout=f"{CONNECT_SECONDS:g}s", set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, and Dask's own for a bad address
        raise NnfunError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    flag = StopFlag()
    atomic_write_bytes(sweep_dir / TOKEN_FILE, token.encode())
    try:
        with client, ctrl_c_stops_at_next_batch(flag):
            stop = distributed.Event(f"nnfun-sweep-stop-{token}", client=client)
            submit = _submitter(client, data, sweep_dir, token, stop.name)
            return _follow(client, submit(trials), sweep_dir, watcher, flag, stop, submit)
    finally:
        (sweep_dir / TOKEN_FILE).unlink(missing_ok=True)


Submit = Callable[[list[Trial]], dict[Any, Trial]]


def _submitter(client: Any, data: Dataset, sweep_dir: Path, token: str, stop: str) -> Submit:
    """Submits trials as tasks, scattering the data set to the workers first (again, after the
    workers holding it were lost: a worker's death takes its copy of the data with it)."""
    rounds = iter(range(1 << 30))

    def submit(trials: list[Trial]) -> dict[Any, Trial]:
        scattered = client.scatter(data, broadcast=True)
        again = next(rounds)
        return {
            client.submit(
                remote_trial,
                trial.settings,
                str(sweep_dir / trial.name),
                token,
                scattered,
                stop,
                key=f"nnfun-trial-{trial.name}-{token}-{again}",
                pure=False,
            ): trial
            for trial in trials
        }

    return submit


def _follow(
    client: Any,
    futures: dict[Any, Trial],
    sweep_dir: Path,
    watcher: Watcher,
    flag: StopFlag,
    stop: Any,
    submit: Submit,
) -> dict[str, TrialEnd]:
    """Watch the tasks until all have ended, telling `watcher`; on Ctrl-C, stop them and raise.

    A task lost with its worker (cancelled, though nobody asked) is submitted again once a
    worker is there to take it, up to `RETRIES` times; with no worker within `WORKER_WAIT`
    seconds, its trial ends "failed", so the sweep never reports unfinished trials as done.
    """
    ends: dict[str, TrialEnd] = {}
    running: set[str] = set()
    pending = dict(futures)
    warned = False
    retries = 0
    while pending:
        if flag.requested and not stop.is_set():
            stop.set()  # running trials stop at their next batch, after saving their last epoch
            client.cancel([f for f in pending if f.key not in _processing(client)])
        time.sleep(POLL_SECONDS)
        busy = _processing(client)
        lost = []
        for future, trial in list(pending.items()):
            if future.done():
                del pending[future]
                running.discard(trial.name)
                if _lost(future) and not flag.requested:
                    lost.append(trial)
                    continue
                ends[trial.name] = _ended(future, trial, sweep_dir)
                watcher.ended(trial, ends[trial.name])
                if not warned and _on_slow_worker(future):
                    warned = True
                    watcher.note(SLOW_WORKERS)
            elif future.key in busy and trial.name not in running:
                running.add(trial.name)
                watcher.started(trial, epochs_done(sweep_dir / trial.name))
            elif trial.name in running:
                watcher.epoch(trial, epochs_done(sweep_dir / trial.name))
        if lost and retries < RETRIES and _workers_back(client):
            retries += 1
            pending |= submit(lost)
        else:
            for trial in lost:
                ends[trial.name] = TrialEnd("failed", LOST)
                watcher.ended(trial, ends[trial.name])
    if flag.requested:
        raise Interrupted
    return ends


def _lost(future: Any) -> bool:
    """Whether the task ended because its worker (or the data it needed) was lost: cancelled
    by the scheduler, or failed with the worker killed under it."""
    if future.cancelled():
        return True
    if future.status != "error":
        return False
    return type(future.exception()).__name__ in ("KilledWorker", "FutureCancelledError")


def _on_slow_worker(future: Any) -> bool:
    """Whether the task ran where MALLOC_TRIM_THRESHOLD_ was set (see SLOW_WORKERS)."""
    return future.status == "finished" and bool(future.result()["malloc_trim_threshold"])


def _processing(client: Any) -> set[Any]:
    """The keys of the tasks the workers are running now."""
    return {key for keys in client.processing().values() for key in keys}


def _ended(future: Any, trial: Trial, sweep_dir: Path) -> TrialEnd:
    """The trial's end from its task; files sent back by a worker are written into its folder."""
    if future.cancelled():
        return TrialEnd("interrupted")
    if future.status == "error":
        return TrialEnd("failed", f"the task failed: {future.exception()!r}")
    result = future.result()
    run_dir = sweep_dir / trial.name
    for name, content in result["files"].items():
        atomic_write_bytes(run_dir / name, content)
    if result["files"] and (run_dir / CONFIG_JSON).exists():
        write_settings(run_dir, Config.from_dict(trial.settings))  # config.toml names this folder
    return TrialEnd(result["status"], result["message"], result["resumed_from"])


def _workers_back(client: Any) -> bool:
    """Whether a worker is (or within `WORKER_WAIT` seconds comes) back to run lost trials."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except (TimeoutError, OSError):
        return False
    return True


_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_scheduler(address: str) -> None:
    """One line, within `CONNECT_SECONDS`, unless a scheduler answers at `address`.

    The address must read PROTOCOL://HOST:PORT (or HOST:PORT, meaning tcp). For tcp, a first
    contact is made here: Dask's own client waits for ever on a port that accepts connections
    but never answers, and a Dask scheduler speaks first.
    """
    protocol, sep, rest = address.partition("://")
    if not sep:
        protocol, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    host = host.strip("[]")
    if protocol not in _PROTOCOLS or (
        protocol != "inproc" and not (colon and host and port.isdecimal() and 0 < int(port) < 65536)
    ):
        raise NnfunError(
            f"--scheduler {address!r} is not a Dask address; expected e.g. tcp://HOST:8786"
        )
    if protocol != "tcp":
        return
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS) as sock:
            first = sock.recv(1)
    except TimeoutError:
        raise NnfunError(
            f"the Dask scheduler at {address} did not answer within {CONNECT_SECONDS:g} s"
        ) from None
    except OSError as exc:
        raise NnfunError(
            f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}"
        ) from None
    if not first:
        raise NnfunError(f"{address} closed the connection at once: is it a Dask scheduler?")
