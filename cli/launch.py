"""The `nnfun` console script: Ctrl-C and SIGTERM end cleanly from the first instant.

Importing NumPy, Rich and Typer takes a moment; a Ctrl-C meanwhile, or a SIGTERM at any time
outside training (which stops at a safe point instead), ends with one line and exit 130 rather
than a traceback.

Before NumPy loads, it also tells OpenBLAS how long an idle thread may spin (`BLAS_IDLE`), unless
the environment already says: the only setting of OpenBLAS's that must come before it loads.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

BLAS_IDLE = ("OPENBLAS_THREAD_TIMEOUT", "18")
"""An idle OpenBLAS thread spins for 2^18 cycles (about 0.1 ms) before it sleeps, not 2^28 (about
0.1 s, OpenBLAS's default). Between two matrix products a training step runs the update on one
core; with the default the other core spins through it, and the batch an augmented recipe makes
on that core meanwhile (`nnfun.batching.Ahead`) has nowhere to run. Measured on a 2-core Zen 5,
alternating runs: the best recipe's step 5.8 -> 4.9 ms; the seed recipe's, which has no batch
to make, 2-7 % slower (1.42 -> 1.46 ms; 1.32 -> 1.47 in another run): the first product of
each step now wakes a sleeping thread. See bench/README.md."""


def quiet_blas_threads() -> None:
    """Set `BLAS_IDLE` in this process's environment unless it is set: call it before NumPy loads."""
    os.environ.setdefault(*BLAS_IDLE)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> Any:
    """Entry point: run the app; an interrupt before it can report one itself is one line."""
    signal.signal(signal.SIGTERM, _stop)
    quiet_blas_threads()
    try:
        from nnfun_cli.app import main as run

        return run()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
