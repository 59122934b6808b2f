"""A quiet, complete install: pyproject.toml names every folder that ships, and every file in it.

setuptools warns (dozens of lines in `make train`) about a folder inside a package that is not
in `packages` and about a licence given as a table; and a file that no `package-data` pattern
matches is silently left out of a wheel. Each check fails on the next folder or file added
without a word in pyproject.toml.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PROJECT["tool"]["setuptools"]


def shipped_folders() -> dict[str, Path]:
    """Every folder under the installed packages that holds files, by its dotted package name."""
    found = {}
    for package, folder in SETUPTOOLS["package-dir"].items():
        for path in [ROOT / folder, *(ROOT / folder).rglob("*")]:
            if path.is_dir() and path.name != "__pycache__" and any(path.glob("*.*")):
                parts = path.relative_to(ROOT / folder).parts
                found[".".join((package, *parts))] = path
    return found


def test_every_folder_with_files_is_a_listed_package() -> None:
    assert sorted(shipped_folders()) == sorted(SETUPTOOLS["packages"])


def test_every_data_file_is_matched_by_package_data() -> None:
    patterns = SETUPTOOLS["package-data"]
    for package, folder in shipped_folders().items():
        for path in folder.iterdir():
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                assert any(fnmatch.fnmatch(path.name, p) for p in patterns.get(package, [])), path


def test_the_licence_is_an_spdx_expression_with_its_file() -> None:
    project = PROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    requires = " ".join(PROJECT["build-system"]["requires"])
    assert "setuptools>=77" in requires  # the first setuptools that reads SPDX licences


def module_level_imports(path: Path) -> set[str]:
    """Top-level names imported when `path` is imported (not inside functions or TYPE_CHECKING)."""
    names: set[str] = set()
    body = list(ast.parse(path.read_text()).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            body += node.orelse
        elif isinstance(node, ast.If | ast.Try):
            body += [*node.body, *getattr(node, "orelse", []), *getattr(node, "handlers", [])]
        elif isinstance(node, ast.ExceptHandler):
            body += node.body
        elif isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_importing_nnfun_needs_only_the_runtime_dependencies() -> None:
    """An optional or indirect package (click, matplotlib, PIL) is imported only where used.

    A dev install has them all, so a stray module-level import would pass every other test and
    still break `nnfun` for a user who installed nothing extra.
    """
    runtime = {re.split(r"[<>=\[ ]", d)[0] for d in PROJECT["project"]["dependencies"]}
    allowed = runtime | set(sys.stdlib_module_names) | {"nnfun", "nnfun_cli", "__future__"}
    for folder in SETUPTOOLS["package-dir"].values():
        for path in sorted((ROOT / folder).rglob("*.py")):
            extra = module_level_imports(path) - allowed
            assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)} when imported"
