"""The architecture, enforced: the pure core imports no I/O, and the shell is the only CLI.

`nnfun/*.py` and `nnfun/recipes/*.py` are the functional core: no files, no network, no printing,
no processes. Files live in `nnfun/io/` and `nnfun/recipes/files.py` (the recipe files), which
import the core, never the other way round; `nnfun_cli` (the folder `cli/`) is the terminal shell,
which the library never imports.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READERS = ("nnfun.io", "nnfun.recipes.files")
"""The library's modules that touch files: the core never imports them."""
CORE = sorted(
    p
    for p in [*(ROOT / "nnfun").glob("*.py"), *(ROOT / "nnfun" / "recipes").glob("*.py")]
    if p.name not in ("__init__.py", "__main__.py", "files.py")
)
LIBRARY = sorted((ROOT / "nnfun").rglob("*.py"))

# `io` is allowed: serialize.py builds `.npz` bytes in an in-memory BytesIO, no file.
IO_MODULES = {"os", "pathlib", "shutil", "tempfile", "socket", "subprocess", "urllib", "http"}
IO_CALLS = {"open", "print", "input"}


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, relative ones resolved against the package it is in."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = path.parent.relative_to(root).parts
                package = parts[: len(parts) - node.level + 1]
                base = ".".join((*package, base)) if base else ".".join(package)
                names |= {f"{base}.{alias.name}" for alias in node.names}
            names.add(base)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_module_imports_no_io(path: Path) -> None:
    modules = imported_modules(path)
    io = sorted(m for m in modules if m.split(".")[0] in IO_MODULES or m.startswith(READERS))
    assert not io, f"{path.name} imports {io}"
    assert not [m for m in modules if m.startswith("nnfun_cli")]


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_module_calls_no_io(path: Path) -> None:
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & IO_CALLS, f"{path.name} calls {sorted(calls & IO_CALLS)}"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_never_imports_the_shell(path: Path) -> None:
    if path.name == "__main__.py":  # `python -m nnfun` runs the CLI on purpose
        return
    assert not [m for m in imported_modules(path) if m.startswith("nnfun_cli")]


def test_the_checker_sees_an_io_import(tmp_path: Path) -> None:
    """The test above can fail: a module importing the I/O package is caught."""
    bad = ROOT / "nnfun" / "metrics.py"
    source = tmp_path / "nnfun" / "bad.py"
    source.parent.mkdir()
    source.write_text(bad.read_text() + "\nfrom .io import load_model\nimport pathlib\n")
    modules = imported_modules(source, tmp_path)
    assert "nnfun.io" in modules and "pathlib" in modules


def _raised_texts(path: Path) -> list[str]:
    """The literal text of every exception a module raises (f-string parts included)."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and node.exc is not None:
            texts += [
                c.value
                for c in ast.walk(node.exc)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
    return texts


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_errors_speak_of_values_not_flags(path: Path) -> None:
    """The library speaks of values, settings and files; `cli/advice.py` adds the flags."""
    flags = [t for t in _raised_texts(path) if re.search(r"(^|\s)--[a-z]", t)]
    assert not flags, f"{path.name} raises errors that name flags: {flags}"


def test_no_module_imports_the_package_above_it() -> None:
    """Upward imports (`from .. import __version__`) make the package's face a dependency."""
    for path in LIBRARY:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level and not node.module:
                folder = path.parent
                for _ in range(node.level - 1):
                    folder = folder.parent
                for alias in node.names:
                    here = folder / alias.name
                    assert here.with_suffix(".py").is_file() or here.is_dir(), (
                        f"{path.relative_to(ROOT)} imports {alias.name} from its package's face"
                    )


def test_no_private_name_is_imported_across_modules() -> None:
    for path in [*LIBRARY, *sorted((ROOT / "cli").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                private = [n for n in private if not n.startswith("__")]
                assert not private, f"{path.relative_to(ROOT)} imports {private}"


COMMANDS = sorted(
    p
    for p in (ROOT / "cli").rglob("*.py")
    if p.name.endswith("_command.py") or (p.name == "command.py" and p.parent.name != "cli")
)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_command_imports_no_other_command(path: Path) -> None:
    """Rooms, not corridors: what two commands share lives in options, shell or a display module."""
    others = {
        "nnfun_cli." + ".".join(p.relative_to(ROOT / "cli").with_suffix("").parts)
        for p in COMMANDS
        if p != path
    }
    shared = [m for m in imported_modules(path) if m in others or m.rsplit(".", 1)[0] in others]
    assert not shared, f"{path.relative_to(ROOT)} imports {shared}"
