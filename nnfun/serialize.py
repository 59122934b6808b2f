"""Models and checkpoints as `.npz` bytes (never pickle), validated on the way in.

`.npz` is a zip of `.npy` arrays: loading it with `allow_pickle=False` can never run code, and the
structure is checked here, so a wrong or damaged file fails with one clear `ModelError`.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from .errors import ModelError
from .params import Params, seal
from .train import EpochRecord, TrainState
from .values import is_number, is_whole


def _to_npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
MAX_MEMBERS = 4096
"""More arrays than any network or checkpoint holds (a 1000-layer network has 2000)."""
DEFAULT_MAX_BYTES = 8 << 30
_LOOKS_LIKE = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"\x93NUMPY", "a single .npy array"),
    (b"\x1f\x8b", "gzip data"),
)


def _from_npz(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    """Every array in an `.npz`, or ModelError, checked before anything is decompressed.

    The zip signature comes first (a picture given as a model is named as one); then every
    member must be a `.npy` whose header declares a numeric array of exactly the member's size,
    and the sizes together at most `max_bytes`, so a zip bomb is refused from its directory.
    Object arrays (pickles) are refused, never loaded.
    """
    if not data.startswith(ZIP_SIGNATURES):
        raise ModelError(f"not a model file (.npz): {_looks_like(data)}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_members(members, max_bytes)
            return {m.filename.removesuffix(".npy"): _read_member(archive, m) for m in members}
    except ModelError:
        raise
    except Exception as exc:  # zipfile, zlib, EOF and header errors of a damaged file
        raise ModelError(
            f"not a valid .npz model file (damaged or truncated: {type(exc).__name__})"
        ) from None


def _looks_like(data: bytes) -> str:
    """What a file that is not a zip seems to be, for the error message."""
    if not data:
        return "the file is empty"
    for magic, what in _LOOKS_LIKE:
        if data.startswith(magic):
            return f"it is {what} (the model comes first on the command line)"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "it does not start like a zip of .npy arrays"
    return "it is a text file"


def _check_members(members: list[zipfile.ZipInfo], max_bytes: int) -> None:
    """Names and declared sizes from the zip directory, before any member is read."""
    if len(members) > MAX_MEMBERS:
        raise ModelError(f"not an nnfun model: it holds {len(members):,} files")
    names = [m.filename for m in members]
    for name in names:
        if not name.endswith(".npy"):
            raise ModelError(
                f"not an nnfun model: it holds {name[:80]!r}, which is not a .npy array"
            )
    if len(set(names)) != len(names):
        raise ModelError("not a valid .npz model file: an array name appears twice")
    total = sum(m.file_size for m in members)
    if total > max_bytes:
        raise ModelError(
            f"its arrays would take {total:,} bytes unpacked, more than the {max_bytes:,} allowed"
        )


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    """One `.npy` member, after its header was checked against the member's declared size."""
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ModelError(f"{member.filename}: unsupported .npy version {version}")
        if dtype.hasobject:
            raise ModelError("refused: the file holds pickled Python objects, which could run code")
        size = f.tell() + math.prod(shape) * dtype.itemsize
    if size != member.file_size:
        raise ModelError(
            f"not a valid .npz model file: {member.filename} declares shape {shape} "
            f"but holds {member.file_size:,} bytes"
        )
    with archive.open(member) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


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
        if w.ndim != 2 or w.shape[0] != fan_in or b.shape != (w.shape[1],) or not w.size:
            raise ModelError(
                f"layer {i} is misshapen: W{i} {w.shape}, b{i} {b.shape} after {fan_in} inputs"
            )
        if w.dtype.kind != "f" or b.dtype.kind != "f":
            raise ModelError(f"layer {i} holds {w.dtype}/{b.dtype} values, expected floating point")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ModelError(f"layer {i} holds NaN or infinite weights")
        fan_in = w.shape[1]
    return seal(
        {k: np.array(arrays[k]) for k in sorted(expected, key=lambda k: (int(k[1:]), k[0] == "b"))}
    )


def params_to_npz(params: Params) -> bytes:
    """A network as `.npz` bytes, one array per parameter."""
    return _to_npz(params)


def params_from_npz(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Params:
    """A validated, read-only network from `.npz` bytes (at most `max_bytes` unpacked)."""
    return check_params(_from_npz(data, max_bytes))


def checkpoint_to_npz(state: TrainState, config: Mapping[str, Any]) -> bytes:
    """Parameters, optimizer state, best weights, epoch, history and config in one `.npz`."""
    meta = {"epoch": state.epoch, "config": config, "history": [vars(r) for r in state.history]}
    arrays = {f"params/{k}": v for k, v in state.params.items()}
    arrays |= {f"opt/{k}": v for k, v in state.opt_state.items()}
    arrays |= {f"best/{k}": v for k, v in (state.best_params or {}).items()}
    arrays["meta"] = np.frombuffer(orjson.dumps(meta), dtype=np.uint8)
    return _to_npz(arrays)


def checkpoint_from_npz(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[TrainState, dict[str, Any]]:
    """The inverse of `checkpoint_to_npz`: `(state, config)`, or ModelError."""
    arrays = _from_npz(data, max_bytes)

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}

    epoch, history, config = _metadata(arrays.get("meta"))
    best = group("best/")
    state = TrainState(
        epoch,
        check_params(group("params/")),
        seal(group("opt/")),
        history,
        check_params(best) if best else None,
    )
    return state, config


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(EpochRecord))


def _metadata(raw: np.ndarray | None) -> tuple[int, tuple[EpochRecord, ...], dict[str, Any]]:
    """Epoch, history and config from a checkpoint's `meta` array (JSON bytes), checked."""
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelError("not an nnfun checkpoint (no metadata)")
    try:
        meta = orjson.loads(raw.tobytes())
    except orjson.JSONDecodeError:
        raise ModelError("not an nnfun checkpoint (its metadata is not JSON)") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("history"), list):
        raise ModelError("not an nnfun checkpoint (bad metadata: no history)")
    if not isinstance(meta.get("config"), dict):
        raise ModelError("not an nnfun checkpoint (bad metadata: no config)")
    epoch: Any = meta.get("epoch")
    records = meta["history"]
    if not is_whole(epoch) or not len(records) <= epoch < 2**62:
        raise ModelError(
            f"damaged checkpoint: it says epoch {epoch!r} after {len(records)} epochs of history"
        )
    first = epoch - len(records) + 1  # the last records, numbered up to `epoch`
    history = tuple(_record(r, first + i) for i, r in enumerate(records))
    return epoch, history, meta["config"]


def _record(record: Any, epoch: int) -> EpochRecord:
    """One history entry: the fields of `EpochRecord`, numbers (validation ones may be null)."""
    ok = isinstance(record, dict) and sorted(record) == sorted(_RECORD_FIELDS)
    ok = ok and all(
        is_number(record[k]) or (record[k] is None and k.startswith("val_")) for k in record
    )
    if not ok or record["epoch"] != epoch:
        raise ModelError(f"damaged checkpoint: history entry {epoch} is not an epoch record")
    return EpochRecord(**record)
