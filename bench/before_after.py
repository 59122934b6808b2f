"""Seconds per epoch of a recipe: this checkout against an earlier commit, side by side.

    python bench/before_after.py --data-dir ../shared/data --before f826a31
    python bench/before_after.py --data-dir ../shared/data --before 0e20842 --recipe best

checks the `--before` commit out into a temporary git worktree, then runs the recipe's
`train_epoch` (the real training path: shuffled uint8 batches, augmentation and dropout if the
recipe has them, forward, backward, the optimizer step) in fresh processes, alternating before /
after for `--rounds` rounds of `--epochs` timed epochs each (after `--warm-up` untimed ones, where
a process loads numba's cache), so that a burst of other work slows both sides, not one. It prints the median
epoch of each side, its milliseconds per step, and their ratio. Both sides import their own
`nnfun`; the script speaks both APIs (before the library-first layout, `train_epoch` took a
`Config`).

A shipped recipe can change between the two commits (`best` gained a weight average and dropped
its validation split, so its epochs have more steps and more work per step). `--same-settings`
trains the *before* commit's recipe file on both sides, so the ratio compares code, not recipes:

    python bench/before_after.py --data-dir ../shared/data --before 0e20842 --recipe best --same-settings
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

epochs, data_dir, name, warm = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
if hasattr(nnfun, "recipes") or hasattr(nnfun, "recipe"):  # the library-first layouts
    from nnfun.io.datasets import load_dataset
    from nnfun.train import Regularisation
    if hasattr(nnfun, "recipes"):  # recipes as a package
        R = nnfun.recipes
        split, init, build = R.split_data, R.init_network, (R.build_optimizer, R.build_schedule)
        augmentation, load_recipe = R.build_augmentation, R.load_recipe
    else:  # one module, nnfun/recipe.py
        from nnfun.io.recipes import load_recipe
        R = nnfun.recipe
        split, init, build = R.split, R.init_network, (R.optimizer, R.schedule)
        augmentation = R.augmentation
    if name.endswith(".toml"):  # --same-settings: the other commit's recipe file
        from nnfun.recipes import load_config_file
        c = nnfun.Config.from_dict(load_config_file(name))
    else:
        c = nnfun.Config() if name == "seed" else nnfun.Config.from_dict(load_recipe(name))
    data = load_dataset("mnist", data_dir)
    x, y, _, _ = split(c, data.train_x, data.train_y)
    params = init(c, 784, 10)
    optimizer, schedule = build[0](c), build[1](c)
    state = optimizer.init(params)
    reg = Regularisation(augmentation(c), c.dropout, c.input_dropout, c.label_smoothing)
    parts = dict(optimizer=optimizer, schedule=schedule, batch_size=c.batch_size, regularisation=reg)
else:  # the layout before it
    from nnfun.train import Config, init_state
    from nnfun_cli.datasets import load_dataset
    c = Config()
    data = load_dataset(data_dir, "mnist")
    x, y, _, _ = nnfun.split_validation(data.train_x, data.train_y, c.val_size, rng_for(c.seed, SPLIT))
    start = init_state(c, 784, 10)
    params, state, parts = start.params, start.opt_state, dict(c=c)
times = []
for epoch in range(warm + epochs):  # the first `warm` epochs load and compile: not timed
    began = time.perf_counter()
    params, state, loss, acc = train_epoch(params, state, x, y, epoch=epoch, rng=rng_for(c.seed, EPOCH, epoch), **parts)
    times += [time.perf_counter() - began] if epoch >= warm else []
steps = -(-len(x) // c.batch_size)
print(json.dumps({"seconds": times, "loss": loss, "steps": steps}))
"""


def run_side(tree: Path, epochs: int, data_dir: str, recipe: str, warm: int) -> dict[str, object]:
    """One fresh process importing `tree`'s nnfun: per-epoch seconds and the last loss."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(epochs), data_dir, recipe, str(warm)],
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
    parser.add_argument(
        "--warm-up",
        type=int,
        default=1,
        help="untimed epochs first in each process (loading numba's cache, first touches)",
    )
    parser.add_argument("--recipe", default="seed", help="seed, or a shipped recipe (best)")
    parser.add_argument(
        "--same-settings",
        action="store_true",
        help="train the --before commit's recipe file on both sides",
    )
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
            recipe = {"before": args.recipe, "after": args.recipe}
            if args.same_settings and args.recipe != "seed":
                recipe["after"] = str(before / "nnfun" / "recipes" / f"{args.recipe}.toml")
            sides: dict[str, list[float]] = {"before": [], "after": []}
            last: dict[str, dict[str, object]] = {}
            for _ in range(args.rounds):
                for name, tree in (("before", before), ("after", ROOT)):
                    last[name] = run_side(tree, args.epochs, data_dir, recipe[name], args.warm_up)
                    sides[name] += list(last[name]["seconds"])  # type: ignore[call-overload]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)])
    medians = {name: statistics.median(times) for name, times in sides.items()}
    for name, times in sides.items():
        steps = int(last[name]["steps"])  # type: ignore[call-overload]
        print(
            f"{name:6}  median {medians[name]:.3f} s/epoch = {medians[name] / steps * 1e3:.2f} "
            f"ms/step over {steps} steps  (min {min(times):.3f}, max {max(times):.3f}, "
            f"{len(times)} epochs)  last loss {last[name]['loss']}"
        )
    print(f"after / before = {medians['after'] / medians['before']:.3f} per epoch")
    paired = [a / b for a, b in zip(sides["after"], sides["before"], strict=True)]
    print(
        f"after / before, epoch by epoch within a round: median {statistics.median(paired):.3f}"
        f" ({min(paired):.3f}-{max(paired):.3f})"
    )


def _link_cli(tree: Path) -> None:
    """Older checkouts import the shell as `nnfun_cli`: make `cli/` importable under that name."""
    if (tree / "cli").is_dir() and not (tree / "nnfun_cli").exists():
        (tree / "nnfun_cli").symlink_to(tree / "cli")


if __name__ == "__main__":
    main()
