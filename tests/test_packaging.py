"""A quiet, complete install: pyproject.toml names every folder that ships, and every file in it.

setuptools warns (dozens of lines in `make train`) about a folder inside a package that is not
in `packages` and about a licence given as a table; and a file that no `package-data` pattern
matches is silently left out of a wheel. Each check fails on the next folder or file added
without a word in pyproject.toml.
"""

from __future__ import annotations

import fnmatch
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
