"""The README's Python examples run as written (on a small copy of MNIST) and learn."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def write_seven(mnist: dict[str, np.ndarray], path: Path) -> None:
    """A test-set 7 as a person's picture: large, dark ink on white paper, as a PNG."""
    from PIL import Image

    labels = mnist["t10k-labels-idx1-ubyte"]
    seven = mnist["t10k-images-idx3-ubyte"][int(np.flatnonzero(labels == 7)[0])]
    Image.fromarray(255 - seven).resize((280, 280), Image.Resampling.BICUBIC).save(path)


def test_readme_python_examples_run(
    small_mnist: Path, mnist: dict[str, np.ndarray], tmp_path: Path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks, "the README lost its Python examples"
    (tmp_path / "data").symlink_to(small_mnist)
    write_seven(mnist, tmp_path / "seven.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNFUN_DATA", raising=False)
    namespace: dict[str, object] = {}
    for block in blocks:  # later examples continue from the earlier ones, as a reader would
        exec(compile(block, str(README), "exec"), namespace)
    lines = capsys.readouterr().out.splitlines()
    epochs = [line for line in lines if line.startswith("epoch 5:")]
    val = float(re.search(r"validation accuracy ([\d.]+)%", epochs[0]).group(1))  # type: ignore[union-attr]
    test = float(re.search(r"test accuracy ([\d.]+)%", "\n".join(lines)).group(1))  # type: ignore[union-attr]
    assert val > 85 and test > 85, lines
    assert "seven.png reads as 7" in lines, lines
    ensemble = [line for line in lines if line.startswith("ensemble of 2: test accuracy")]
    assert ensemble and float(ensemble[0].split()[-1].rstrip("%")) > 85, lines
    assert (tmp_path / "my_model.npz").is_file()
    assert any(line.startswith("epoch 2: last batch loss") for line in lines), lines


@pytest.mark.parametrize("command", ["make train", "make test"])
def test_readme_quick_start_names_the_make_targets(command: str) -> None:
    assert command in README.read_text()
