"""Reading a trained model from a run folder or an `.npz` file."""

from __future__ import annotations

from pathlib import Path

from nnfun import Params
from nnfun.errors import ModelError, NnfunError
from nnfun.serialize import params_from_npz


def load_model(path: Path) -> tuple[Params, Path | None]:
    """`(params, run_dir)` from a run folder (its model.npz) or a model file; run_dir None for a bare file."""
    run_dir = path if path.is_dir() else None
    file = path / "model.npz" if run_dir else path
    if not file.is_file():
        hint = (
            " (the run may still be training, or was interrupted: see --resume)" if run_dir else ""
        )
        raise NnfunError(f"no model at {file}{hint}")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise NnfunError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        return params_from_npz(data), run_dir or (
            file.parent if (file.parent / "config.json").exists() else None
        )
    except ModelError as exc:
        raise ModelError(f"{file}: {exc}") from None
