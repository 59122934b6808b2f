"""A recipe's training time as a multiple of the seed recipe's, measured side by side.

    python bench/budget.py --data-dir ../shared/data --recipe best --epochs 220 -- --ema 0.9995

runs `nnfun train` (the whole command, as a user runs it, without figures) for the seed recipe
and for the candidate (`--recipe`, plus any `nnfun train` flags after `--`), a few epochs each,
alternating for `--rounds` rounds so that other work on the machine slows both sides alike. Each
run's `history.json` gives its seconds per epoch; the rest of its wall time (start-up, loading
the data, the final evaluation, writing the run folder) is its fixed cost. A full run is
projected as fixed cost + epochs x median seconds per epoch: the seed recipe's 80 epochs
against the candidate's `--epochs`. It prints both, their ratio, and the most epochs that fit in
`--budget` times the seed recipe's time; then the ratio from each side's fastest epoch and
fixed cost, which a neighbour's burst of work disturbs least.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from step_limit import blas_info, cpu_model, describe_cpu

SEED_EPOCHS = 80


def timed_run(flags: list[str], epochs: int, data_dir: str) -> tuple[list[float], float]:
    """Seconds of each epoch and the rest of the wall time of one `nnfun train` process."""
    nnfun = Path(sys.executable).with_name("nnfun")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [str(nnfun), "train", *flags, "--epochs", str(epochs), "--no-figures"]
        began = time.perf_counter()
        subprocess.run(
            [*command, "--out", str(out), "--data-dir", data_dir],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - began
        seconds = [float(r["seconds"]) for r in json.loads((out / "history.json").read_text())]
    return seconds, wall - sum(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="data", help="folder holding mnist/")
    parser.add_argument("--recipe", default="best", help="the candidate's shipped recipe")
    parser.add_argument("--epochs", type=int, required=True, help="the candidate's full length")
    parser.add_argument("--sample", type=int, default=3, help="epochs timed per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=12.0)
    parser.add_argument("flags", nargs="*", help="more `nnfun train` flags for the candidate")
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    sides = {"seed": ["--recipe", "seed"], "candidate": ["--recipe", args.recipe, *args.flags]}
    epochs: dict[str, list[float]] = {name: [] for name in sides}
    fixed: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, flags in sides.items():
            seconds, rest = timed_run(flags, args.sample, data_dir)
            epochs[name] += seconds
            fixed[name].append(rest)
    blas = ", ".join(f"{b['internal_api']} {b.get('architecture', '')}" for b in blas_info())
    print(f"CPU: {describe_cpu(cpu_model())}; BLAS: {blas or 'unknown'}")
    full = {"seed": SEED_EPOCHS, "candidate": args.epochs}
    projected = {}
    for name in sides:
        per_epoch, rest = statistics.median(epochs[name]), statistics.median(fixed[name])
        projected[name] = rest + full[name] * per_epoch
        print(
            f"{name:9}  {per_epoch:.3f} s/epoch (min {min(epochs[name]):.3f}, max "
            f"{max(epochs[name]):.3f})  fixed {rest:.1f} s  ->  {full[name]} epochs: "
            f"{projected[name]:.0f} s   [{' '.join(sides[name])}]"
        )
    ratio = projected["candidate"] / projected["seed"]
    room = args.budget * projected["seed"] - statistics.median(fixed["candidate"])
    fits = int(room / statistics.median(epochs["candidate"]))
    print(f"candidate / seed = {ratio:.2f}x; {args.budget:g}x the seed recipe fits {fits} epochs")
    fastest = {n: min(fixed[n]) + full[n] * min(epochs[n]) for n in sides}  # the least disturbed
    print(f"from each side's fastest epoch instead: {fastest['candidate'] / fastest['seed']:.2f}x")


if __name__ == "__main__":
    main()
