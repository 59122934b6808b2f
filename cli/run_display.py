"""Runs for people: setting values as text, what differs between runs, and short run names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnfun.io.runs import Run


def format_setting(value: Any) -> str:
    """A config value for people: `[1024, 512]` -> `1024,512`, `0.0001` -> `0.0001`, None -> `off`."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(format_setting(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_differences(runs: Sequence[Run]) -> list[str]:
    """The config keys whose values are not the same in every run (a missing key counts as a value)."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.config if k not in keys]
    missing = object()
    return [k for k in keys if len({repr(run.config.get(k, missing)) for run in runs}) > 1]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Short, distinct names: the folder names, with their parent folder where two would clash."""
    names = [run.name for run in runs]
    labels = []
    for run, name in zip(runs, names, strict=True):
        if names.count(name) > 1:
            name = f"{run.path.resolve().parent.name}/{name}"
        labels.append(name)
    return [
        f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]
