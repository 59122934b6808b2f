"""Runs for people: setting values as text, a run in a line, what differs between runs, short names."""

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


def describe_run(run: Run) -> str:
    """`sgd, lr 0.01 (x0.1 at epochs 30, 50, 65), batch 128, 10 epochs in 24 s`."""
    c = run.config
    parts = [f"{c.get('optimizer', 'sgd')}, lr {format_setting(c.get('lr'))}"]
    schedule = c.get("schedule", "step")
    epochs = len(run.history)
    if schedule == "step":
        steps = [
            m
            for m in c.get("milestones") or []
            if isinstance(m, int | float) and not isinstance(m, bool) and m < epochs
        ]
        if steps:
            parts[0] += (
                f" (x{format_setting(c.get('gamma'))} at epoch {', '.join(map(str, steps))})"
            )
    elif schedule:
        parts[0] += f" ({schedule} schedule)"
    parts.append(f"batch {c.get('batch_size', '?')}")
    for key, label in (("dropout", "dropout"), ("label_smoothing", "label smoothing")):
        if c.get(key):
            parts.append(f"{label} {format_setting(c[key])}")
    if any(c.get(k) for k in ("shift", "rotate", "scale", "elastic_alpha")):
        parts.append("augmented")
    if c.get("ema_decay"):
        parts.append(f"weights averaged (EMA {format_setting(c['ema_decay'])})")
    took = f"{run.seconds:.1f}" if run.seconds < 10 else f"{run.seconds:.0f}"
    parts.append(f"{epochs} epoch{'s' * (epochs != 1)} in {took} s")
    return ", ".join(parts)


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
