"""What a newcomer sees first: every command's help and output, piped as a script sees it.

Help: a flag takes no value, so it shows no type (`--json <bool>`); a usage line names its
arguments plainly (`MODEL FILES...`, not `{model}`); a list shows its item's type. Output into a
pipe is never wrapped: it is the same whatever `COLUMNS` says (apart from the drawings of
`predict --show`, which fit the width), has no line padded with spaces, and at 80 columns no line
longer than 80 when the names in it are short.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from nnfun_cli.app import app

HELP_SLIPS = re.compile(r"<bool>|[{}]|list\[")


def commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command path of the app, the app itself first."""
    found = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group
            found += commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = commands(typer.main.get_command(app))


def nnfun(
    *args: str | Path, cwd: Path, columns: int | None = 80
) -> subprocess.CompletedProcess[str]:
    """`nnfun ARGS` with stdout and stderr piped, as a script runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS")}
    env |= {"COLUMNS": str(columns)} if columns else {}
    return subprocess.run(
        [Path(sys.executable).parent / "nnfun", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_the_app_has_its_commands() -> None:
    names = {path[0] for path in COMMANDS if path}
    assert {"train", "predict", "sweep", "serve", "export", "recipes"} <= names, names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "nnfun")
@pytest.mark.parametrize("columns", ["80", "200"])
def test_help_shows_no_python_types_and_no_braces(path: tuple[str, ...], columns: str) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="nnfun", env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    slips = [line for line in result.stdout.splitlines() if HELP_SLIPS.search(line)]
    assert not slips, "\n".join(slips)
    usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
    assert usage.split() == ["Usage:", "nnfun", *path, *usage.split()[2 + len(path) :]], usage
    assert all(word.isupper() or word.startswith("[") for word in usage.split()[2 + len(path) :])


def shape(text: str) -> str:
    """Output with every number as 9: timings differ from one run to the next."""
    return re.sub(r"\d[\d,.]*(?:e[-+]?\d+)?", "9", text)


def piped(argv: list[str], folder: Path, columns: int | None) -> str:
    result = nnfun(*argv, cwd=folder, columns=columns)
    assert result.returncode in (0, 1), (argv, result.stderr)
    return result.stdout + result.stderr


SCRIPT = [
    # (the command, whether it draws: a drawing fits the width, and its dark pixels are spaces)
    # JSON output is one line by design (see test_terminal.py), so it is not here.
    (["train", "--data-dir", "DATA", "--out", "run", "--epochs", "1", "--hidden", "16",
      "--val-size", "100", "--no-figures"], False),
    (["recipes"], False),
    (["recipes", "best"], False),
    (["recipes", "seed"], False),
    (["eval", "run", "--data-dir", "DATA"], False),
    (["report", "run", "--no-figures"], False),
    (["compare", "run", "run"], False),
    (["gradcheck"], False),
    (["predict", "run", "--samples"], False),
    (["predict", "run", "--samples", "--show"], True),
    (["export", "run", "model.onnx"], False),
    (["sweep", "--grid", "hidden=8,16", "--epochs", "1", "--val-size", "100", "--data-dir",
      "DATA", "--workers", "1", "--threads", "1", "--no-figures", "--name", "s"], False),
]  # fmt: skip


def test_every_command_piped_is_never_wrapped(random_data: Path, tmp_path: Path) -> None:
    """Each command run in a fresh folder at 80 columns, at 40 and with no COLUMNS at all."""
    outputs: dict[int | None, list[str]] = {}
    for columns in (80, 40, None):
        folder = tmp_path / f"cols-{columns}" / "work"  # the same name: outputs show it
        folder.mkdir(parents=True)
        outputs[columns] = [
            piped([str(random_data) if a == "DATA" else a for a in argv], folder, columns)
            for argv, _ in SCRIPT
        ]
    for (argv, drawing), at80, at40, default in zip(SCRIPT, *outputs.values(), strict=True):
        lines = at80.splitlines()
        assert lines, argv
        too_long = [line for line in lines if len(line) > 80]
        assert not too_long, (argv, too_long)
        if drawing:
            assert max(len(line) for line in at40.splitlines()) <= 40, at40
            continue
        padded = [line for line in lines if line != line.rstrip()]
        assert not padded, (argv, padded)
        assert shape(at80) == shape(at40) == shape(default), (argv, at80, at40)


def test_train_gives_scripts_the_bare_folder(random_data: Path, tmp_path: Path) -> None:
    """`RUN=$(nnfun train | tail -1)`: the folder alone, whatever its name."""
    folder = tmp_path / "a folder with spaces [and brackets]"
    result = nnfun(
        "train", "--data-dir", random_data, "--out", folder, "--epochs", "1", "--hidden", "8",
        "--val-size", "100", "--no-figures", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(folder)
    assert Path(result.stdout.splitlines()[-1], "model.npz").is_file()


def test_no_table_has_its_own_title_or_caption() -> None:
    """Rich wraps a table's title and caption at the table's width and pads them with spaces;
    `tables.titled` puts them on lines of their own instead."""
    import ast

    shell = Path(__file__).resolve().parent.parent / "cli"
    for path in sorted(shell.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Table"):
                words = {k.arg for k in node.keywords} & {"title", "caption"}
                assert not words, (
                    f"{path.name}:{node.lineno}: Table({', '.join(sorted(words))}=...)"
                )
