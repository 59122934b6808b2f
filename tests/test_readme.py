"""The README's Python example runs as written (on a small copy of MNIST) and learns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_training_script_runs(
    small_mnist: Path, tmp_path: Path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert code is not None, "the README lost its Python example"
    (tmp_path / "data").symlink_to(small_mnist)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[-1].startswith("epoch 5")
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", lines[-1]).group(1))  # type: ignore[union-attr]
    assert accuracy > 90, lines


@pytest.mark.parametrize("command", ["make train", "make test"])
def test_readme_quick_start_names_the_make_targets(command: str) -> None:
    assert command in README.read_text()
