"""The sample digits shipped with nnfun: something to try a model on before you have pictures.

Drawn digits (black marker on white), photographed ones (ballpoint on unevenly lit paper, in
colour) and a blank page, which must get no digit. They are Netpbm files, so reading them
needs no Pillow; `tools/make_samples.py` draws them, the same bytes every time.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SUFFIXES = (".pgm", ".ppm")


def samples() -> dict[str, Path]:
    """The shipped sample pictures by name, e.g. `samples()["seven-drawn"]`; the digit is in the name.

    Read one with `nnfun.read_image`, or give them all to `nnfun predict RUN --samples`.
    """
    folder = Path(str(resources.files("nnfun") / "samples"))
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix in SUFFIXES}
