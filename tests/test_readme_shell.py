"""The shell examples of the README and docs/cli.md run and print what they show: no drift.

An example is a ```text block whose first line is `$ nnfun ...`; the rest is its output, stdout
and stderr together, as a terminal shows them. The commands run as written, in a folder laid out
like the README's (a run in `results/20261125-131200`), on a small copy of MNIST; pictures come
from the samples shipped with nnfun (`--samples`), as on a fresh clone.
Output is compared by shape: numbers may differ, and so may the widths of table columns. A line
`...` stands for any number of lines. Output that is a JSON document on a page (shown
indented, lists shortened) must have the same keys and value types as the real one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import limit_memory

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "docs/cli.md")  # docs/cli.md: the README's JSON output, in full
RUN = "results/20261125-131200"
OTHER_RUN = "results/20261125-140512"


@dataclass(frozen=True)
class Example:
    command: str
    expected: str
    where: str  # page:line


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        found += [
            Example(m.group(1), m.group(2), f"{page}:{text.count(chr(10), 0, m.start()) + 1}")
            for m in re.finditer(r"^```text\n\$ (nnfun[^\n]*)\n(.*?)^```", text, re.M | re.S)
        ]
    return found


EXAMPLES = examples()


def shape(line: str) -> str:
    """A line with every number as `9`, runs of a table rule or of spaces as one character."""
    line = re.sub(r"\d[\d,.]*(?:e[-+]?\d+)?", "9", line)
    line = re.sub(r"([━─])\1+", r"\1", line)
    return " ".join(line.split())


def lines_match(actual: list[str], expected: list[str]) -> bool:
    """Line by line by shape; an expected `...` matches any number of actual lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(lines_match(actual[i:], expected[1:]) for i in range(len(actual) + 1))
    return (
        bool(actual)
        and shape(actual[0]) == shape(expected[0])
        and lines_match(actual[1:], expected[1:])
    )


def same_structure(real: Any, shown: Any, where: str = "$") -> list[str]:
    """Where `real` differs from `shown` in keys or value types; each item of a real list must
    have the structure of one of the items shown."""
    if isinstance(shown, dict):
        if not isinstance(real, dict) or set(real) != set(shown):
            return [f"{where}: keys {sorted(real) if isinstance(real, dict) else real!r}"]
        return [p for key in shown for p in same_structure(real[key], shown[key], f"{where}.{key}")]
    if isinstance(shown, list):
        if not isinstance(real, list):
            return [f"{where}: {real!r} is not a list"]
        return [
            f"{where}[{i}]: matches no item shown"
            for i, item in enumerate(real)
            if shown and all(same_structure(item, s) for s in shown)
        ]
    kinds = (bool,) if isinstance(shown, bool) else (int, float) if shown is not None else ()
    kinds = (str,) if isinstance(shown, str) else kinds
    ok = (
        real is None
        if shown is None
        else isinstance(real, kinds) and (isinstance(shown, bool) or not isinstance(real, bool))
    )
    return [] if ok else [f"{where}: {real!r} where the README shows {shown!r}"]


def run(command: str, folder: Path, data: Path) -> str:
    """`command` in a shell in `folder`: stdout and stderr together, piped, at 80 columns."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env |= {
        "NNFUN_DATA": str(data),
        "COLUMNS": "80",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    if command.startswith("nnfun serve"):
        return serve_until_ready(command, folder, env)
    result = subprocess.run(
        ["bash", "-c", f"{command} 2>&1"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit_memory,
    )
    return result.stdout


def serve_until_ready(command: str, folder: Path, env: dict[str, str]) -> str:
    """A server runs until stopped: its first line, then Ctrl-C (it must exit 0)."""
    server = subprocess.Popen(
        [*command.split(), "--port", "0"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=limit_memory,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
    return first  # on a free port: the shape comparison reads any port number as a number


@dataclass
class Sandbox:
    folder: Path
    data: Path
    outputs: dict[str, str]


@pytest.fixture(scope="module")
def sandbox(small_mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """The README's folder: its `nnfun train` example run (moved to RUN) and a second run that
    differs in `lr`; nothing else, as on a fresh clone."""
    folder = tmp_path_factory.mktemp("readme")
    train = next(e for e in EXAMPLES if e.command.startswith("nnfun train"))
    outputs = {train.command: run(train.command, folder, small_mnist)}
    made = sorted((folder / "results").iterdir())
    assert len(made) == 1, outputs
    made[0].rename(folder / RUN)
    shutil.copytree(folder / RUN, folder / OTHER_RUN)
    config = json.loads((folder / OTHER_RUN / "config.json").read_text())
    (folder / OTHER_RUN / "config.json").write_text(json.dumps(config | {"lr": 0.05}))
    return Sandbox(folder, small_mnist, outputs)


def test_the_readme_has_shell_examples() -> None:
    commands = [e.command.split()[1] for e in EXAMPLES]
    for command in ("train", "eval", "gradcheck", "predict", "compare", "export"):
        assert command in commands, commands


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_readme_shell_example(sandbox: Sandbox, example: Example) -> None:
    output = sandbox.outputs.get(example.command) or run(
        example.command, sandbox.folder, sandbox.data
    )
    expected = example.expected.splitlines()
    start = next((i for i, line in enumerate(expected) if line.startswith("{")), None)
    if start is None:
        actual = [line for line in output.splitlines() if line.strip()]
        wanted = [line for line in expected if line.strip()]
        assert lines_match(actual, wanted), f"{example.where}: the output is\n{output}"
        return
    *before, document = output.splitlines()
    assert lines_match(before, expected[:start]), f"{example.where}:\n{output}"
    problems = same_structure(json.loads(document), json.loads("\n".join(expected[start:])))
    assert not problems, f"{example.where}: {problems}\n{output}"
