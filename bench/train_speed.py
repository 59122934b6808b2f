"""Milliseconds per training step of the seed recipe: nnfun, PyTorch, JAX and the physical limit.

Run `python bench/train_speed.py` (see bench/README.md). In one run, alternating epoch by epoch
so that other work on the machine slows every side alike, it measures for the seed recipe
(784-1024-10, float32, batch 128, SGD momentum 0.9, L2 1e-4, clip 5, lr 0.01, 55,000 training
images after the 5,000-image validation split, 430 steps per epoch):

1. nnfun: `nnfun.train_epoch`, the real training path (uint8 pixels scaled batch by batch, the
   sparse first layer, the update by the compiled kernels or NumPy, as `NNFUN_KERNELS` says);
2. the physical limit (bench/step_limit.py): the big products on the used pixel columns, one
   streaming pass of the update, and the small rest, each on preallocated arrays;
3. PyTorch and JAX (bench/peer_worker.py), each in its own virtual environment, given with
   `--torch-python` and `--jax-python`; a peer without one is skipped with a line saying so.

Figures are per step, since the peers' epochs could differ in steps. It names the CPU, the BLAS
and its kernel (threadpoolctl) and the OpenBLAS variables, which it only reads (unset them for
the command with bench/env_unset.sh). The first epoch of every side is a warm-up, not timed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from step_limit import StepLimit, blas_info, cpu_model, describe_cpu

import nnfun.recipes as recipes
from nnfun import backend
from nnfun.batching import num_batches, scale_pixels
from nnfun.io.datasets import load_dataset, resolve_data_dir
from nnfun.recipes import Config
from nnfun.train import EPOCH, rng_for, train_epoch

HERE = Path(__file__).resolve().parent
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MAX_PEER_RATIO = 0.70  # nnfun's step <= 0.70 x the faster peer's
MAX_LIMIT_RATIO = 1.15  # nnfun's step <= 1.15 x the physical limit


class NnfunTraining:
    """The seed recipe trained one `train_epoch` call at a time, from `recipes.init_network`."""

    def __init__(self, c: Config, x: np.ndarray, y: np.ndarray) -> None:
        self.c, self.x, self.y = c, x, y
        self.params = recipes.init_network(c, x.shape[1], 10)
        self.optimizer, self.schedule = recipes.build_optimizer(c), recipes.build_schedule(c)
        self.opt_state = self.optimizer.init(self.params)
        self.records: list[dict[str, float]] = []

    def epoch(self) -> None:
        epoch = len(self.records)
        self.params, self.opt_state, loss, acc = train_epoch(
            self.params,
            self.opt_state,
            self.x,
            self.y,
            optimizer=self.optimizer,
            schedule=self.schedule,
            batch_size=self.c.batch_size,
            epoch=epoch,
            rng=rng_for(self.c.seed, EPOCH, epoch),
        )
        self.records.append({"loss": loss, "accuracy": acc})


class Peer:
    """A PyTorch or JAX worker process in its own environment, one epoch per request."""

    def __init__(self, kind: str, python: str, data: Path, threads: int | None) -> None:
        script = str(HERE / "peer_worker.py")
        env = dict(os.environ)
        if threads is not None:  # read by peer_worker.py, BLAS and XLA before they start
            env |= {"PEER_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
            env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
            env["XLA_FLAGS"] = (
                f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                f"intra_op_parallelism_threads={threads}"
            )
        self.proc = subprocess.Popen(
            [python, script, kind, str(data)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.info = self._read()
        self.records: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the peer exited with code {self.proc.wait()}")
        return dict(json.loads(line))

    def epoch(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("epoch\n")
        self.proc.stdin.flush()
        self.records.append(self._read())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def rounds(sides: dict[str, Callable[[], None]], epochs: int) -> dict[str, list[float]]:
    """Seconds of `epochs` epochs of every side, one epoch each in turn, after a warm-up each."""
    for run in sides.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(epochs):
        for name, run in sides.items():
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)
    return times


def limit_threads(threads: int | None) -> Any:
    """A context in which this process's BLAS uses `threads` threads (threadpoolctl), if given."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=5, help="timed epochs per side, after one warm-up")
    p.add_argument("--data-dir", type=Path, default=None, help="folder holding mnist/")
    p.add_argument(
        "--images", type=int, default=None, help="train on the first N images (all 55,000)"
    )
    p.add_argument("--torch-python", default=None, help="python of a venv with torch 2.13")
    p.add_argument("--jax-python", default=None, help="python of a venv with jax")
    p.add_argument(
        "--threads", type=int, default=None, help="threads per side (default: each side's own)"
    )
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write JSON here")
    args = p.parse_args(argv)
    if args.epochs < 1 or (args.images is not None and args.images < 1):
        p.error("--epochs and --images must be at least 1")
    return args


def environment(threads: int | None) -> dict[str, Any]:
    kernels = os.environ.get(backend.VARIABLE, "auto")
    found = backend.kernels()
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "numpy": np.__version__,
        "blas": blas_info(),
        "openblas_env": {v: os.environ.get(v, "unset") for v in OPENBLAS_VARS},
        "nnfun_kernels": f"{kernels}: {'numba' if found is not None else 'NumPy'}",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "threads": "each side's default" if threads is None else f"{threads} per side",
    }


def print_environment(console: Console, env: dict[str, Any]) -> None:
    info = Table(title="Environment", show_header=False, title_justify="left")
    info.add_column(style="bold")
    info.add_column()
    info.add_row("date (UTC)", env["date"])
    info.add_row("CPU", f"{describe_cpu(env['cpu'])}, {env['cpus']} logical CPUs")
    info.add_row("load average", " ".join(f"{v:.2f}" for v in env["load_average"]))
    info.add_row("numpy", env["numpy"])
    for lib in env["blas"] or [{"internal_api": "unknown (pip install threadpoolctl)"}]:
        kernel = lib.get("architecture", "?")
        info.add_row("BLAS", f"{lib.get('internal_api')} {lib.get('version', '')}, kernel "
                     f"[bold]{kernel}[/], {lib.get('num_threads', '?')} threads")  # fmt: skip
    for name, value in env["openblas_env"].items():
        info.add_row(name, value)
    info.add_row("nnfun updates", f"NNFUN_KERNELS={env['nnfun_kernels']}")
    info.add_row("threads", env["threads"])
    console.print(info)


def report(
    console: Console,
    times: dict[str, list[float]],
    steps: int,
    limit: StepLimit,
    peers: dict[str, Peer],
) -> dict[str, Any]:
    """The table of milliseconds per step, the ratios against the targets; returns the figures."""
    per_step = {name: [t / steps * 1e3 for t in ts] for name, ts in times.items()}
    pieces = {k: [p[k] / steps * 1e3 for p in limit.pieces[1:]] for k in limit.pieces[0]}
    medians = {name: statistics.median(ms) for name, ms in per_step.items()}
    table = Table(title="ms per step (median of the timed epochs)", title_justify="left")
    for column in ("side", "ms / step", "min–max", "s / epoch"):
        table.add_column(column, justify="left" if column == "side" else "right")
    names = {"nnfun": "nnfun (train_epoch)", "limit": "physical limit"}
    for name, ms in per_step.items():
        label = names.get(name) or peers[name].info["peer"]
        spread = f"{min(ms):.2f}–{max(ms):.2f}"
        table.add_row(label, f"{medians[name]:.2f}", spread, f"{medians[name] * steps / 1e3:.2f}")
    for k, ms in pieces.items():
        table.add_row(f"  limit: {k}", f"{statistics.median(ms):.2f}", "", "")
    console.print(table)
    figures: dict[str, Any] = {
        "ms_per_step": medians,
        "limit_pieces_ms": {k: statistics.median(v) for k, v in pieces.items()},
    }
    checks = [("nnfun / physical limit", medians["nnfun"] / medians["limit"], MAX_LIMIT_RATIO)]
    if peers:
        fastest = min(peers, key=lambda name: medians[name])
        checks.insert(
            0,
            (
                f"nnfun / fastest peer ({fastest})",
                medians["nnfun"] / medians[fastest],
                MAX_PEER_RATIO,
            ),
        )
    for label, ratio, target in checks:
        verdict = "[green]met[/]" if ratio <= target else "[red]missed[/]"
        console.print(f"{label}: [bold]{ratio:.2f}x[/] (target <= {target}x) {verdict}")
        figures[label] = ratio
    for other in ["limit", *peers]:
        paired = paired_ratios(times["nnfun"], times[other])
        figures[f"nnfun / {other}, per round"] = paired
        console.print(
            f"[dim]nnfun / {other}, epoch by epoch in the same round: median "
            f"{statistics.median(paired):.2f}x, {min(paired):.2f}–{max(paired):.2f}x[/]"
        )
    return figures


def paired_ratios(mine: list[float], theirs: list[float]) -> list[float]:
    """nnfun's epoch over the other side's epoch of the same round: a burst of other work on the
    machine slows both epochs of a round alike, so these vary less than the medians' ratio."""
    return [a / b for a, b in zip(mine, theirs, strict=True)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    c = Config()  # the seed recipe
    env = environment(args.threads)
    print_environment(console, env)
    data = load_dataset("mnist", resolve_data_dir(args.data_dir))
    x, y, _, _ = recipes.split_data(c, data.train_x, data.train_y)
    x, y = x[: args.images].reshape(-1, 784), y[: args.images]
    steps = num_batches(len(x), c.batch_size)
    nnfun_run, limit = NnfunTraining(c, x, y), StepLimit(x, y, c.batch_size, c.seed)
    sides: dict[str, Callable[[], None]] = {"nnfun": nnfun_run.epoch, "limit": limit.epoch}
    peers: dict[str, Peer] = {}
    with tempfile.TemporaryDirectory(prefix="nnfun-bench-") as tmp:
        shared = Path(tmp) / "train.npz"
        np.savez(shared, x=scale_pixels(x), y=y)
        for kind, python in (("torch", args.torch_python), ("jax", args.jax_python)):
            if python is None:
                console.print(f"[yellow]{kind} skipped: no --{kind}-python given[/]")
                continue
            peers[kind] = Peer(kind, python, shared, args.threads)
            sides[kind] = peers[kind].epoch
        console.print(
            f"seed recipe, {len(x):,} images, {steps} steps per epoch: "
            f"{', '.join(sides)} alternating, 1 warm-up + {args.epochs} timed epochs each"
        )
        with console.status("training"), limit_threads(args.threads):
            times = rounds(sides, args.epochs)
        for peer in peers.values():
            peer.close()
    figures = report(console, times, steps, limit, peers)
    last = {"nnfun": nnfun_run.records[-1]} | {k: p.records[-1] for k, p in peers.items()}
    for name, record in last.items():
        console.print(f"[dim]{name} after {args.epochs + 1} epochs: loss {record['loss']:.4f}, "
                      f"accuracy {record['accuracy']:.2%}[/]")  # fmt: skip
    for name, peer in peers.items():
        console.print(f"[dim]{name}: {json.dumps(peer.info)}[/]")
    if args.json is not None:
        out = {"environment": env, "steps_per_epoch": steps, "epoch_seconds": times}
        out |= {"figures": figures, "last_epoch": last, "limit_pieces": limit.pieces}
        out |= {"peers": {k: p.info for k, p in peers.items()}}
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
