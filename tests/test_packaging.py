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
import subprocess
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


# Modules that are an optional extra themselves: they import it at their top, and no module
# imports them at its own top (nnfun.backend imports nnfun.kernels inside a function, behind an
# ImportError), so `import nnfun` never reaches them.
EXTRA_MODULES = {"nnfun/kernels.py": {"numba"}}


def test_importing_nnfun_needs_only_the_runtime_dependencies() -> None:
    """An optional or indirect package (click, matplotlib, PIL) is imported only where used.

    A dev install has them all, so a stray module-level import would pass every other test and
    still break `nnfun` for a user who installed nothing extra.
    """
    runtime = {re.split(r"[<>=\[ ]", d)[0] for d in PROJECT["project"]["dependencies"]}
    allowed = runtime | set(sys.stdlib_module_names) | {"nnfun", "nnfun_cli", "__future__"}
    for folder in SETUPTOOLS["package-dir"].values():
        for path in sorted((ROOT / folder).rglob("*.py")):
            own = EXTRA_MODULES.get(path.relative_to(ROOT).as_posix(), set())
            extra = module_level_imports(path) - allowed - own
            assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)} when imported"


def top_level_imports_of(path: Path, module: str) -> bool:
    """Whether `path` imports the library module `module` (e.g. "kernels") at its top level."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names}
            if node.module in (f"nnfun.{module}", module) or module in names:
                return True
        if isinstance(node, ast.Import) and f"nnfun.{module}" in {a.name for a in node.names}:
            return True
    return False


def test_no_module_imports_an_extra_module_at_its_top(tmp_path: Path) -> None:
    stems = [Path(name).stem for name in EXTRA_MODULES]
    for folder in SETUPTOOLS["package-dir"].values():
        for path in sorted((ROOT / folder).rglob("*.py")):
            for stem in stems:
                assert not top_level_imports_of(path, stem), f"{path.name} imports {stem}"
    bad = tmp_path / "bad.py"
    bad.write_text("from . import kernels\n")
    assert top_level_imports_of(bad, "kernels")  # the check can fail


def test_the_console_script_sets_the_blas_idle_time_before_numpy_loads() -> None:
    """OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when NumPy loads it: the launcher must set the
    variable first, so importing it must not load NumPy (nor anything that does)."""
    code = (
        "import os, sys\n"
        "os.environ.pop('OPENBLAS_THREAD_TIMEOUT', None)\n"
        "from nnfun_cli import launch\n"
        "assert 'numpy' not in sys.modules, 'the launcher loaded NumPy'\n"
        "launch.quiet_blas_threads()\n"
        "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])\n"
        "os.environ['OPENBLAS_THREAD_TIMEOUT'] = '25'\n"
        "launch.quiet_blas_threads()\n"
        "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["18", "25"]  # the launcher's value, and then a user's, kept
