"""Seconds per epoch of the seed recipe: this checkout against an earlier commit, side by side.

    python bench/before_after.py --data-dir ../shared/data --before f826a31

checks the `--before` commit out into a temporary git worktree, then runs the seed recipe's
`train_epoch` (the real training path: shuffled uint8 batches, forward, backward, the fused SGD
step) in fresh processes, alternating before / after for `--rounds` rounds of `--epochs` epochs
each, so that a burst of other work on the machine slows both sides, not one. It prints the median
epoch of each side and their ratio. Both sides import their own `nnfun`; the script speaks both
APIs (before the library-first layout, `train_epoch` took a `Config`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, sys, time
import numpy as np
import nnfun
from nnfun.train import EPOCH, SPLIT, rng_for, train_epoch

epochs, data_dir = int(sys.argv[1]), sys.argv[2]
if hasattr(nnfun, "recipe"):  # the library-first layout
    from nnfun.io.datasets import load_dataset
    c = nnfun.Config()
    data = load_dataset("mnist", data_dir)
    x, y, _, _ = nnfun.recipes.split_data(c, data.train_x, data.train_y)
    params = nnfun.recipes.init_network(c, 784, 10)
    optimizer, schedule = nnfun.recipes.build_optimizer(c), nnfun.recipes.build_schedule(c)
    state = optimizer.init(params)
    parts = dict(optimizer=optimizer, schedule=schedule, batch_size=c.batch_size)
else:  # the layout before it
    from nnfun.train import Config, init_state
    from nnfun_cli.datasets import load_dataset
    c = Config()
    data = load_dataset(data_dir, "mnist")
    x, y, _, _ = nnfun.split_validation(data.train_x, data.train_y, c.val_size, rng_for(c.seed, SPLIT))
    start = init_state(c, 784, 10)
    params, state, parts = start.params, start.opt_state, dict(c=c)
times = []
for epoch in range(epochs):
    began = time.perf_counter()
    params, state, loss, acc = train_epoch(params, state, x, y, epoch=epoch, rng=rng_for(c.seed, EPOCH, epoch), **parts)
    times.append(time.perf_counter() - began)
print(json.dumps({"seconds": times, "loss": loss}))
"""


def run_side(tree: Path, epochs: int, data_dir: str) -> dict[str, object]:
    """One fresh process importing `tree`'s nnfun: per-epoch seconds and the last loss."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(epochs), data_dir],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
    )
    return dict(json.loads(result.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--data-dir", default="data", help="folder holding mnist/")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(before), args.before],
            check=True,
        )
        _link_cli(before)
        try:
            sides: dict[str, list[float]] = {"before": [], "after": []}
            losses: dict[str, object] = {}
            for _ in range(args.rounds):
                for name, tree in (("before", before), ("after", ROOT)):
                    out = run_side(tree, args.epochs, data_dir)
                    sides[name] += list(out["seconds"])  # type: ignore[call-overload]
                    losses[name] = out["loss"]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)])
    medians = {name: statistics.median(times) for name, times in sides.items()}
    for name, times in sides.items():
        print(
            f"{name:6}  median {medians[name]:.3f} s/epoch  (min {min(times):.3f}, max "
            f"{max(times):.3f}, {len(times)} epochs)  last loss {losses[name]}"
        )
    print(f"after / before = {medians['after'] / medians['before']:.3f}")


def _link_cli(tree: Path) -> None:
    """Older checkouts import the shell as `nnfun_cli`: make `cli/` importable under that name."""
    if (tree / "cli").is_dir() and not (tree / "nnfun_cli").exists():
        (tree / "nnfun_cli").symlink_to(tree / "cli")


if __name__ == "__main__":
    main()
