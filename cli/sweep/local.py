"""The local engine: trials as worker processes on this machine, at most `workers` at a time.

Each trial is its own `python -m nnfun_cli.sweep.trial` process, started in a session of its own
so that Ctrl-C reaches only the sweep, which passes it on once: every worker then stops after its
current batch, keeping the checkpoint of its last finished epoch. NumPy's BLAS threads are fixed
per worker through the environment, which the BLAS library reads when NumPy is first imported;
workers x threads stays within the cores, so the workers do not fight over them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from nnfun_cli.progress import Interrupted, StopFlag, ctrl_c_stops_at_next_batch
from nnfun_cli.shell import DIVERGED, INTERRUPTED
from nnfun_cli.sweep.events import TrialEnd, Watcher
from nnfun_cli.sweep.plan import Trial
from nnfun_cli.sweep.trial import epochs_done

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
POLL_SECONDS = 0.1


def cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_per_worker(workers: int, available: int) -> int:
    """BLAS threads for each of `workers` so that workers x threads <= cores (at least 1)."""
    return max(1, available // workers)


def worker_environment(threads: int) -> dict[str, str]:
    """This process's environment with the BLAS thread count of a worker."""
    return {**os.environ, **dict.fromkeys(BLAS_VARIABLES, str(threads))}


@dataclass
class _Worker:
    """A running trial: its process, the file catching its stderr, where it started."""

    trial: Trial
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    resumed_from: int
    told_to_stop: bool = False

    def stop(self) -> None:
        """Ask the worker to stop after its current batch (a second time: at once)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.told_to_stop = True

    def end(self) -> TrialEnd:
        """How the finished process ended, with its last line of stderr as the message."""
        self.log.seek(0)
        lines = [line for line in self.log.read().decode(errors="replace").splitlines() if line]
        self.log.close()
        code = self.process.returncode
        message = lines[-1] if lines else ""
        if code == 0:
            return TrialEnd("finished", resumed_from=self.resumed_from)
        if code == DIVERGED:
            return TrialEnd("diverged", message, self.resumed_from)
        if self.told_to_stop and code in (INTERRUPTED, -signal.SIGINT):
            return TrialEnd("interrupted", resumed_from=self.resumed_from)
        if code == INTERRUPTED:  # stopped by someone else's signal: the trial is not done
            return TrialEnd("failed", "its worker was stopped from outside", self.resumed_from)
        reason = f"worker ended by signal {-code}" if code < 0 else f"worker exited with {code}"
        return TrialEnd("failed", message or reason, self.resumed_from)


def _start(trial: Trial, run_dir: Path, data_dir: Path, env: dict[str, str]) -> _Worker:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (it outlives this call: _Worker.end closes it)
    command = [
        sys.executable,
        "-m",
        "nnfun_cli.sweep.trial",
        orjson.dumps(trial.settings).decode(),
        str(run_dir),
        str(data_dir),
    ]
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log, env=env, start_new_session=True
        )
    except OSError:
        log.close()
        raise
    return _Worker(trial, process, log, epochs_done(run_dir))


def run_local(
    trials: list[Trial],
    sweep_dir: Path,
    data_dir: Path,
    *,
    workers: int,
    threads: int,
    watcher: Watcher,
) -> dict[str, TrialEnd]:
    """Run `trials` in worker processes; Ctrl-C stops them all at a checkpoint (Interrupted)."""
    queue, running, ends = deque(trials), dict[str, _Worker](), dict[str, TrialEnd]()
    env, flag = worker_environment(threads), StopFlag()
    with ctrl_c_stops_at_next_batch(flag):
        try:
            while running or (queue and not flag.requested):
                while queue and len(running) < workers and not flag.requested:
                    trial = queue.popleft()
                    worker = _start(trial, sweep_dir / trial.name, data_dir, env)
                    running[trial.name] = worker
                    watcher.started(trial, worker.resumed_from)
                time.sleep(POLL_SECONDS)
                for name, worker in list(running.items()):
                    if flag.requested and not worker.told_to_stop:
                        worker.stop()
                    if worker.process.poll() is None:
                        watcher.epoch(worker.trial, epochs_done(sweep_dir / name))
                        continue
                    ends[name] = worker.end()
                    del running[name]
                    watcher.ended(worker.trial, ends[name])
        finally:
            _stop_all(list(running.values()))
    if flag.requested:
        raise Interrupted
    return ends


def _stop_all(workers: list[_Worker], grace: float = 30.0) -> None:
    """After a second Ctrl-C or an error: stop every worker now, killing any that does not stop."""
    for worker in workers:
        worker.stop()
    for worker in workers:
        try:
            worker.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        worker.log.close()
