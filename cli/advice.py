"""What to type next: the command-line advice the library leaves out of its errors.

The library says what is wrong in terms of values, settings and files, for scripts as much as for
the command line; only the shell knows the commands and flags that mend it, and adds them here,
once for every command.
"""

from __future__ import annotations

from nnfun.errors import NnfunError
from nnfun.io.checkpoints import NothingToResume
from nnfun.io.datasets import DataMissing
from nnfun.io.runs import RunNotFinished


def with_advice(exc: NnfunError) -> str:
    """The error's message, followed by the command or flag that mends it, where one does."""
    if isinstance(exc, RunNotFinished) and exc.resumable:
        return f"{exc}; continue it with: nnfun train --resume {exc.run_dir}"
    if isinstance(exc, NothingToResume) and exc.settings is not None:
        return (
            f"{exc}; start it again with: nnfun train --config {exc.settings} --out {exc.run_dir}"
        )
    if isinstance(exc, NothingToResume) and exc.finished:
        return f"{exc}; see it with: nnfun report {exc.run_dir}"
    if isinstance(exc, DataMissing):
        return f"{exc} The data folder is --data-dir, else $NNFUN_DATA, else ./data."
    return str(exc)
