"""Models and checkpoints as `.npz` bytes (never pickle), validated on the way in.

`.npz` is a zip of `.npy` arrays: loading it with `allow_pickle=False` can never run code, and the
structure is checked here, so a wrong or damaged file fails with one clear `ModelError`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from .errors import ModelError
from .params import Params, freeze
from .train import EpochRecord, TrainState


def _to_npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def _from_npz(data: bytes) -> dict[str, np.ndarray]:
    """Every array in an `.npz`, or ModelError: object arrays (pickles) are refused, never loaded."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ModelError(
                "refused: the file holds pickled Python objects, which could run code"
            ) from None
        raise ModelError(f"not a valid .npz model file ({exc})") from None
    except Exception as exc:  # zipfile, zlib and EOF errors of a damaged file all mean the same
        raise ModelError(
            f"not a valid .npz model file (damaged or truncated: {type(exc).__name__})"
        ) from None


def check_params(arrays: Mapping[str, np.ndarray]) -> Params:
    """Validate a network: keys W1, b1 ... WL, bL, float arrays whose shapes chain, finite values."""
    layers = sum(1 for k in arrays if re.fullmatch(r"W\d+", k))
    expected = {f"{p}{i}" for i in range(1, layers + 1) for p in "Wb"}
    if layers == 0 or set(arrays) != expected:
        found = ", ".join(sorted(arrays)) or "nothing"
        raise ModelError(
            f"expected arrays W1, b1, ... W{max(layers, 1)}, b{max(layers, 1)}; found {found}"
        )
    fan_in = arrays["W1"].shape[0] if arrays["W1"].ndim == 2 else -1
    for i in range(1, layers + 1):
        w, b = arrays[f"W{i}"], arrays[f"b{i}"]
        if w.ndim != 2 or w.shape[0] != fan_in or b.shape != (w.shape[1],):
            raise ModelError(
                f"layer {i} is misshapen: W{i} {w.shape}, b{i} {b.shape} after {fan_in} inputs"
            )
        if w.dtype.kind != "f" or b.dtype.kind != "f":
            raise ModelError(f"layer {i} holds {w.dtype}/{b.dtype} values, expected floating point")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ModelError(f"layer {i} holds NaN or infinite weights")
        fan_in = w.shape[1]
    return freeze(
        {k: np.array(arrays[k]) for k in sorted(expected, key=lambda k: (int(k[1:]), k[0] == "b"))}
    )


def params_to_npz(params: Params) -> bytes:
    """A network as `.npz` bytes, one array per parameter."""
    return _to_npz(params)


def params_from_npz(data: bytes) -> Params:
    """A validated, read-only network from `.npz` bytes."""
    return check_params(_from_npz(data))


def checkpoint_to_npz(state: TrainState, config: Mapping[str, Any]) -> bytes:
    """Parameters, optimizer state, best weights, epoch, history and config in one `.npz`."""
    meta = {"epoch": state.epoch, "config": config, "history": [vars(r) for r in state.history]}
    arrays = {f"params/{k}": v for k, v in state.params.items()}
    arrays |= {f"opt/{k}": v for k, v in state.opt_state.items()}
    arrays |= {f"best/{k}": v for k, v in (state.best_params or {}).items()}
    arrays["meta"] = np.frombuffer(orjson.dumps(meta), dtype=np.uint8)
    return _to_npz(arrays)


def checkpoint_from_npz(data: bytes) -> tuple[TrainState, dict[str, Any]]:
    """The inverse of `checkpoint_to_npz`: `(state, config)`, or ModelError."""
    arrays = _from_npz(data)

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}

    try:
        meta = orjson.loads(arrays["meta"].tobytes())
        history = tuple(EpochRecord(**r) for r in meta["history"])
        epoch, config = int(meta["epoch"]), dict(meta["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"not an nnfun checkpoint (bad metadata: {exc})") from None
    best = group("best/")
    state = TrainState(
        epoch,
        check_params(group("params/")),
        freeze(group("opt/")),
        history,
        check_params(best) if best else None,
    )
    return state, config
