"""Shared fixtures: the real MNIST files (when present) and small IDX datasets cut from them."""

from __future__ import annotations

import ast
import contextlib
import functools
import gzip
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnfun.idx import encode_idx, parse_idx

ROOT = Path(__file__).resolve().parent.parent

# A suite started in the background of a script (`make test &`, nohup) inherits SIGINT ignored,
# and so would every nnfun process the tests start, which then could not be stopped with Ctrl-C.
# A handler (unlike an ignored signal) is reset to the default when a child process starts.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


MEMORY_LIMIT = 3 << 30
"""Every real nnfun process the tests start runs within the address space of a small machine
(3 GiB): memory must follow the data, never a cap or a pixel count times eight channels."""


def limit_memory(limit: int = MEMORY_LIMIT) -> None:
    """`preexec_fn` of the real processes the tests start (their children inherit the limit)."""
    import resource

    with contextlib.suppress(ValueError, OSError):  # a platform that cannot limit it
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mnist_dir() -> Path | None:
    for base in (os.environ.get("NNFUN_DATA"), ROOT.parent / "shared" / "data", ROOT / "data"):
        if base and all((Path(base) / "mnist" / f"{f}.gz").is_file() for f in FILES):
            return Path(base) / "mnist"
    return None


@pytest.fixture(scope="session")
def mnist() -> dict[str, np.ndarray]:
    """The real MNIST arrays, uint8; the test is skipped where the files are not available."""
    folder = _mnist_dir()
    if folder is None:
        pytest.skip("real MNIST not found (set NNFUN_DATA)")
    return {f: parse_idx((folder / f"{f}.gz").read_bytes()) for f in FILES}


def write_dataset(
    folder: Path, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> Path:
    """Write four gzipped IDX files into `folder/mnist/`; returns `folder` (the data dir)."""
    target = folder / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    for name, array in zip(FILES, (train_x, train_y, test_x, test_y), strict=True):
        (target / f"{name}.gz").write_bytes(gzip.compress(encode_idx(array), mtime=0))
    return folder


def learnable_noise(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` noise images whose label is the band of rows painted white: easy to learn, not MNIST.

    Pure noise labels would leave a network at chance level, which training calls lost.
    """
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 160, (n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 3 + 2 * label : 5 + 2 * label] = 255
    return images, labels


@pytest.fixture(scope="session")
def small_mnist(mnist: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the first 8,000 training and 1,000 test images of the real MNIST."""
    train_x, train_y, test_x, test_y = (mnist[f] for f in FILES)
    return write_dataset(
        tmp_path_factory.mktemp("data"),
        train_x[:8000],
        train_y[:8000],
        test_x[:1000],
        test_y[:1000],
    )


@pytest.fixture(scope="session")
def random_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with 600 random 28x28 'images' and labels: no real MNIST needed."""
    images, labels = learnable_noise(700, np.random.default_rng(0))
    return write_dataset(
        tmp_path_factory.mktemp("random"), images[:600], labels[:600], images[600:], labels[600:]
    )


@pytest.fixture(scope="session")
def small_run(mnist: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder (model.npz, metrics.json, config.json): 784-64-10 trained 2 epochs on MNIST.

    A few seconds of training, about 95 % on the test set: good enough to read a drawn digit.
    """
    import nnfun as nf

    x, y = nf.scale_pixels(mnist["train-images-idx3-ubyte"]), mnist["train-labels-idx1-ubyte"]
    config = nf.Config(hidden=(64,), epochs=2, lr=0.05, val_size=0)
    *_, state = nf.recipes.fit_config(config, x, y, x[:0], y[:0])
    test_acc = nf.evaluate(state.params, mnist["t10k-images-idx3-ubyte"], mnist[FILES[3]])[1]
    run = tmp_path_factory.mktemp("run")
    nf.save_model(run / "model.npz", state.params)
    (run / "metrics.json").write_text(f'{{"test_accuracy": {test_acc}}}')
    (run / "config.json").write_text('{"dataset": "mnist", "hidden": [64]}')
    return run


# --------------------------------------------------------------------------- test lanes

SHELL_IMPORTS = ("nnfun_cli", "subprocess", "typer", "matplotlib", "selenium", "http.server")
"""A test module importing any of these drives the CLI, processes, servers or figures: `slow`."""


@functools.cache
def drives_the_shell(path: Path) -> bool:
    """Whether the test module at `path` imports the shell or spawns processes."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return any(n == s or n.startswith(s + ".") for n in names for s in SHELL_IMPORTS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Lanes by what a test needs: `mnist` (the real files), `e2e` (a browser), `slow` (the shell).

    `make test-fast` runs the rest: the pure core, in seconds.
    """
    for item in items:
        module, fixtures = item.path.stem, set(getattr(item, "fixturenames", ()))
        if fixtures & {"mnist", "small_mnist"}:
            item.add_marker(pytest.mark.mnist)
        if module == "test_serve_browser":
            item.add_marker(pytest.mark.e2e)
        if drives_the_shell(item.path) or "random_data" in fixtures:  # or a data folder on disk
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say loudly when the real MNIST was missing: its tests were skipped, not passed."""
    if _mnist_dir() is None:
        terminalreporter.write_line(
            "WARNING: real MNIST not found: the tests marked `mnist` were SKIPPED. "
            "Set NNFUN_DATA to a folder holding mnist/ (four .gz IDX files) to run them.",
            yellow=True,
            bold=True,
        )
