"""The README's Python examples run as written, each on its own, in an empty folder.

Each ```python block runs as a separate `python -c` process in a fresh folder, as a reader would
paste it: nothing from an earlier block (unless its first line says which one it continues), no picture but the samples shipped with nnfun, the data
from `NNFUN_DATA` (a small copy of MNIST). The one block that says it runs in the folder of the
`nnfun export` above gets that folder: the README's own `nnfun export` line, run there first.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = [
    (m.group(1), TEXT.count("\n", 0, m.start()) + 1)
    for m in re.finditer(r"^```python\n(.*?)^```", TEXT, re.M | re.S)
]
EXPORT = re.search(r"^\$ (nnfun export \S+ model\.onnx)$", TEXT, re.M)


def run_alone(code: str, folder: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NNFUN_DATA"} | {"NNFUN_DATA": str(data)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_readme_has_its_python_examples() -> None:
    assert len(BLOCKS) >= 3, "the README lost its Python examples"
    assert EXPORT, "the README lost its `nnfun export RUN model.onnx` example"


@pytest.mark.parametrize(("code", "line"), BLOCKS, ids=[f"README.md:{line}" for _, line in BLOCKS])
def test_readme_python_example_runs_alone(
    code: str, line: int, small_mnist: Path, small_run: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    if "model.onnx" in code:  # "In the folder of the `nnfun export` above"
        assert EXPORT
        argv = shlex.split(EXPORT.group(1))
        argv[2] = str(small_run)  # the README's run folder: a trained run of the test suite's
        exported = subprocess.run(
            [str(Path(sys.executable).parent / "nnfun"), *argv[1:]], cwd=folder, capture_output=True
        )
        assert exported.returncode == 0, exported.stderr
    continued = re.match(r"# continues the (first|previous) example", code)
    if continued:  # run after the example it continues, as a reader would
        index = [c for c, _ in BLOCKS].index(code)
        code = BLOCKS[0 if continued[1] == "first" else index - 1][0] + code
    result = run_alone(code, folder, small_mnist)
    assert result.returncode == 0, f"README.md:{line}:\n{result.stderr}"
    lines = result.stdout.splitlines()
    if "nnfun.fit(" in code:  # the training example learns, and reads the shipped seven
        val = float(re.search(r"epoch 5: validation accuracy ([\d.]+)%", result.stdout)[1])  # type: ignore[index]
        test = float(re.search(r"test accuracy ([\d.]+)%", result.stdout)[1])  # type: ignore[index]
        assert val > 85 and test > 85, lines
        assert "the sample seven reads as 7" in lines, lines
        assert (folder / "my_model.npz").is_file()
    if "with_average" in code:
        assert lines[-1].startswith("ensemble of 2: test accuracy"), lines
    if "sgd_step" in code:
        assert lines[-1].startswith("epoch 2: last batch loss"), lines
    if "onnxruntime" in code:
        assert lines == ["the photographed four reads as 4"], lines


def test_the_readme_names_no_folder_outside_the_clone() -> None:
    """A path like `../shared/data` is one machine's layout; a reader's clone has no such folder."""
    outside = [line for line in TEXT.splitlines() if re.search(r"(?<![\w.])\.\./", line)]
    assert not outside, outside
