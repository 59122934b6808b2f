"""Files, written so that nothing is ever left half-written: temp file in the same folder, then rename."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import orjson

from ..errors import NnfunError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: readers see the old file or the new one, never a part."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise NnfunError(f"cannot write to {path.parent}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise NnfunError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON (orjson; NumPy arrays and scalars allowed), atomically."""
    data = orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    atomic_write_bytes(path, data + b"\n")


MAX_JSON_BYTES = 64 << 20


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON file of at most `limit` bytes, or raise a one-line NnfunError saying what is wrong."""
    data = read_capped(path, limit, "JSON file")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NnfunError(f"{path} is not valid JSON ({exc})") from None


READ_CHUNK = 1 << 20
"""Bytes read at a time beyond the size a file declared."""


def read_capped(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file no larger than `limit`, or a one-line NnfunError.

    Devices, pipes and folders are refused before reading (`/dev/zero` never ends). Memory
    follows the file's real size, never the cap: a 2 GiB cap must not cost 2 GiB to read 2 KB.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise NnfunError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise NnfunError(f"{path} is too large for a {what} ({info.st_size:,} bytes)")
        with path.open("rb") as f:
            data = f.read(info.st_size + 1)
            while len(data) <= limit:  # the file grew since stat (or says 0 bytes, as /proc does)
                more = f.read(min(READ_CHUNK, limit + 1 - len(data)))
                if not more:
                    break
                data += more
    except FileNotFoundError:
        raise NnfunError(f"{path} does not exist") from None
    except OSError as exc:
        raise NnfunError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise NnfunError(f"{path} is too large for a {what}")
    return data
