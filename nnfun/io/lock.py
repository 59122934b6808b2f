"""One writer per run folder: an exclusive lock on `run_dir/.lock`, held for the whole run.

`fcntl.flock` locks belong to an open file and vanish when the process dies, so a run killed
with SIGKILL never leaves a stale lock. The file is removed when the run lets go; a writer that
locked a file just removed checks the path still names the file it holds, and tries again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import NnfunError
from .runs import RUN_FILES

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"
_STALE = re.compile(
    r"\.(" + "|".join(re.escape(name) for name in RUN_FILES) + r")\.[A-Za-z0-9_]+\.tmp"
)
"""The temporary files of `atomic_write_bytes` (`.model.npz.k3j_x8.tmp`) for the run's files."""


class RunBusy(NnfunError):
    """Another process is writing this run folder."""


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir/.lock` exclusively, or raise RunBusy at once; clear stale temp files."""
    run_dir = Path(run_dir)
    if fcntl is None:
        yield
        return
    fd = _acquire(run_dir)
    try:
        remove_stale_temps(run_dir)
        yield
    finally:
        (run_dir / LOCK).unlink(missing_ok=True)  # still held: nobody can lock it meanwhile
        os.close(fd)


def check_free(run_dir: Path) -> None:
    """RunBusy if a process holds `run_dir`'s lock now; creates nothing (a check before the run)."""
    if fcntl is None:
        return
    try:
        fd = os.open(Path(run_dir) / LOCK, os.O_RDONLY)
    except OSError:
        return  # no lock file (or no folder): nobody is writing there
    try:
        _lock_or_busy(fd, Path(run_dir))
    finally:
        os.close(fd)  # closing lets go of the lock taken for the test


def _lock_or_busy(fd: int, run_dir: Path) -> None:
    """Lock `fd` without waiting, or raise RunBusy naming the holder's pid."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        raise RunBusy(
            f"{run_dir} is in use by another nnfun process"
            f"{f' (pid {holder})' if holder.isdigit() else ''}; wait for it to finish"
        ) from None


def _acquire(run_dir: Path) -> int:
    path = run_dir / LOCK
    for _ in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise NnfunError(f"cannot lock {run_dir}: {exc.strerror or exc}") from None
        try:
            _lock_or_busy(fd, run_dir)
        except RunBusy:
            os.close(fd)
            raise
        if _same_file(fd, path):
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return fd
        os.close(fd)  # we locked a lock file that its holder removed as it finished: again
    raise RunBusy(f"{run_dir} is in use by other nnfun processes; try again")


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete the temp files that killed writes left in `run_dir` (only under the lock)."""
    stale = [p for p in Path(run_dir).iterdir() if _STALE.fullmatch(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
