"""The `nnfun` console script: Ctrl-C and SIGTERM end cleanly from the first instant.

Importing NumPy, Rich and Typer takes a moment; a Ctrl-C meanwhile, or a SIGTERM at any time
outside training (which stops at a safe point instead), ends with one line and exit 130 rather
than a traceback.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> Any:
    """Entry point: run the app; an interrupt before it can report one itself is one line."""
    signal.signal(signal.SIGTERM, _stop)
    try:
        from nnfun_cli.app import main as run

        return run()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
