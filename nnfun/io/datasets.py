"""Datasets on disk: find the IDX files, download MNIST if missing, load and check them."""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DataError, NnfunError
from ..idx import GZIP_MAGIC, MAX_BYTES, check_images_labels, gunzip, parse_idx
from .files import atomic_write_bytes, read_capped

#: The four IDX files of an MNIST-style dataset (each may also be stored as `<name>.gz`).
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of each MNIST file's decompressed content (the gzip wrapper differs between mirrors).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Tried in order; each serves `<name>.gz`. Checksums make plain http safe enough.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

ENV_VAR = "NNFUN_DATA"
USER_AGENT = "nnfun (https://pypi.org/project/nnfun/; python urllib)"
MAX_DOWNLOAD = 100 * 2**20  # bytes; the largest MNIST file is 9.9 MB gzipped

CHUNK = 64 * 1024  # bytes read between two progress reports

Log = Callable[[str], None]
Progress = Callable[[str, int, int | None], None]
"""`progress(url, bytes_so_far, total)` as a download goes; `total` is None when unknown."""


def _no_log(_: str) -> None:
    """Default `log`: say nothing."""


def _no_progress(url: str, done: int, total: int | None) -> None:
    """Default `progress`: say nothing."""


@dataclass(frozen=True)
class Dataset:
    """Read-only uint8 arrays: images flattened to (n, rows*cols), labels (n,) in 0..9."""

    train_x: npt.NDArray[np.uint8]
    train_y: npt.NDArray[np.uint8]
    test_x: npt.NDArray[np.uint8]
    test_y: npt.NDArray[np.uint8]


def resolve_data_dir(option: str | Path | None = None) -> Path:
    """The data folder: `option` if given, else `$NNFUN_DATA`, else `./data`."""
    if option is not None:
        return Path(option).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path("data")


def find_file(data_dir: Path, dataset: str, name: str) -> Path | None:
    """`<data_dir>/<dataset>/<name>`, or the same with `.gz`, whichever exists first."""
    for candidate in (data_dir / dataset / name, data_dir / dataset / f"{name}.gz"):
        if candidate.is_file():
            return candidate
        if os.path.lexists(candidate):  # a device, a fifo, a folder, a broken link
            raise DataError(f"{candidate} is not a regular file; {_fix(dataset)}")
    return None


def download(
    name: str,
    dest_dir: Path,
    *,
    mirrors: Sequence[str],
    sha256: str,
    timeout: float = 30.0,
    log: Log = _no_log,
    progress: Progress = _no_progress,
    max_bytes: int = MAX_DOWNLOAD,
) -> Path:
    """Fetch `<mirror>/<name>.gz` from the first mirror that serves the right content.

    `log` gets a line per attempt and per failure; `progress` the bytes received so far.
    """
    tried = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{name}.gz"
        log(f"downloading {url}")
        try:
            body = _fetch(url, timeout, progress, max_bytes)
            _check_sha256(body, sha256)
        except (OSError, http.client.HTTPException, ValueError, DataError) as exc:
            reason = _describe(exc)
            log(f"  failed: {reason}")
            tried.append(f"{url} ({reason})")
            continue
        path = dest_dir / (f"{name}.gz" if body.startswith(GZIP_MAGIC) else name)
        atomic_write_bytes(path, body)
        return path
    raise DataMissing(
        f"could not download {name}.gz; tried: {'; '.join(tried) or 'no mirrors'}. "
        f"{_manual_hint([name], dest_dir)}"
    )


def _fetch(
    url: str, timeout: float, progress: Progress = _no_progress, max_bytes: int = MAX_DOWNLOAD
) -> bytes:
    """The whole body of `url`, read in chunks and at most `max_bytes` even without a
    Content-Length (a server may send none, or lie); raises if shorter than its length says."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # an HTTPError holds the open connection
        raise
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None else None
        if total is not None and total > max_bytes:
            raise DataError(f"file too large: {total:,} bytes")
        chunks: list[bytes] = []
        received = 0
        progress(url, received, total)
        while chunk := response.read(CHUNK):
            chunks.append(chunk)
            received += len(chunk)
            if received > max_bytes:
                raise DataError(f"file too large: over {max_bytes:,} bytes")
            progress(url, received, total)
        body = b"".join(chunks)
    if total is not None and len(body) != total:
        raise DataError(f"truncated: got {len(body):,} of {total:,} bytes")
    return body


def _check_sha256(body: bytes, expected: str) -> None:
    """Raise DataError unless the decompressed `body` has SHA-256 `expected`."""
    content = gunzip(body) if body.startswith(GZIP_MAGIC) else body
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected.lower():
        raise DataError(f"checksum mismatch: sha256 {actual[:16]}..., expected {expected[:16]}...")


def _describe(exc: BaseException) -> str:
    """A short reason for a failed download attempt."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return getattr(reason, "strerror", None) or str(reason) or "connection failed"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return f"truncated: got {len(exc.partial):,} bytes, {exc.expected or '?'} more expected"
    return str(exc) or type(exc).__name__


class DataMissing(DataError):
    """Files of a dataset are neither in the data folder nor downloadable."""


def _manual_hint(names: Sequence[str], folder: Path) -> str:
    """Tell the user which files to put where by hand."""
    files = ", ".join(f"{n}.gz" for n in names)
    return (
        f"Put {files} (or the same without .gz, decompressed) into {os.path.abspath(folder)}/ by hand, "
        f"or point the data folder (${ENV_VAR}) at one whose {folder.name}/ subfolder holds them."
    )


def load_dataset(
    name: str = "mnist",
    data_dir: str | Path | None = None,
    *,
    download_missing: bool = True,
    log: Log = _no_log,
    progress: Progress = _no_progress,
) -> Dataset:
    """Load `<data_dir>/<name>/` (four IDX files), downloading missing MNIST files first.

    `data_dir` defaults to `$NNFUN_DATA`, else `./data`. Images come back as read-only uint8
    rows `(n, 784)`, labels as uint8 `(n,)`: `train_x, train_y, test_x, test_y`.
    """
    arrays, folder = _arrays(name, data_dir, tuple(FILES), download_missing, log, progress)
    try:
        train = check_images_labels(arrays["train_images"], arrays["train_labels"], "train")
        test = check_images_labels(arrays["test_images"], arrays["test_labels"], "test")
    except DataError as exc:
        raise DataError(f"{folder}: {exc}; {_fix(name)}") from None
    for split, (images, _) in (("training", train), ("test", test)):
        if not len(images):
            raise DataError(f"{folder}: the {split} set holds no images; {_fix(name)}")
    if train[0].shape[1] != test[0].shape[1]:
        raise DataError(
            f"{folder}: train images have {train[0].shape[1]} pixels, test images "
            f"{test[0].shape[1]}; {_fix(name)}"
        )
    return Dataset(train_x=train[0], train_y=train[1], test_x=test[0], test_y=test[1])


def load_test_set(
    name: str = "mnist",
    data_dir: str | Path | None = None,
    *,
    download_missing: bool = True,
    log: Log = _no_log,
    progress: Progress = _no_progress,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Only the test images and labels (`t10k-*`): all that evaluating a model needs.

    The training files may be absent; a missing MNIST test file is downloaded, as by
    `load_dataset`. Returns read-only uint8 rows `(n, 784)` and labels `(n,)`.
    """
    keys = ("test_images", "test_labels")
    arrays, folder = _arrays(name, data_dir, keys, download_missing, log, progress)
    try:
        test = check_images_labels(arrays["test_images"], arrays["test_labels"], "test")
    except DataError as exc:
        raise DataError(f"{folder}: {exc}; {_fix(name)}") from None
    if not len(test[0]):
        raise DataError(f"{folder}: the test set holds no images; {_fix(name)}")
    return test


def _arrays(
    dataset: str,
    data_dir: str | Path | None,
    keys: Sequence[str],
    download_missing: bool,
    log: Log,
    progress: Progress,
) -> tuple[dict[str, npt.NDArray[Any]], Path]:
    """The parsed IDX files `keys` (of FILES) of a dataset, missing MNIST files downloaded first."""
    if not dataset or dataset in (".", "..") or Path(dataset).name != dataset:
        raise DataError(f"bad dataset name {dataset!r}: expected a folder name like 'mnist'")
    data_dir = resolve_data_dir(data_dir)
    folder = data_dir / dataset
    for path in (data_dir, folder):
        if os.path.lexists(path) and not path.is_dir():
            raise DataError(f"{path} is not a folder (a file, or a link that leads nowhere)")
    wanted = [FILES[key] for key in keys]
    missing = [n for n in wanted if find_file(data_dir, dataset, n) is None]
    if missing and (dataset != "mnist" or not download_missing):
        hint = _manual_hint(missing, folder)
        raise DataMissing(
            f"dataset {dataset!r} is incomplete: missing {', '.join(missing)}. {hint}"
        )
    for name in missing:
        try:
            download(
                name,
                folder,
                mirrors=MNIST_MIRRORS,
                sha256=MNIST_SHA256[name],
                log=log,
                progress=progress,
            )
        except DataError as exc:
            others = [f"{n}.gz" for n in missing if n != name]
            also = f" The other missing files, {', '.join(others)}, go there too." if others else ""
            raise DataError(f"{exc}{also}") from None
    return {key: _read(data_dir, dataset, FILES[key]) for key in keys}, folder


def _fix(dataset: str) -> str:
    """How to repair a bad local file."""
    if dataset == "mnist":
        return "delete the bad file and run again to re-download it"
    return "replace the bad file with a good copy"


def _read(data_dir: Path, dataset: str, name: str) -> npt.NDArray[Any]:
    """Parse one local IDX file; DataError names the file and how to fix it."""
    path = find_file(data_dir, dataset, name)
    if path is None:
        raise DataError(f"{data_dir / dataset / name} disappeared while loading")
    try:
        raw = read_capped(path, MAX_BYTES, "dataset file")
    except NnfunError as exc:
        raise DataError(str(exc)) from None
    try:
        return parse_idx(raw)
    except DataError as exc:
        raise DataError(f"{path} is corrupt ({exc}); {_fix(dataset)}") from None
