"""How fast does nnfun train the seed recipe, and how far is that from what the hardware allows?

Run `python bench/train_speed.py` (see bench/README.md). In one process it measures, for the seed
recipe (784-1024-10, float32, batch 128, SGD momentum 0.9, L2 1e-4, clip 5, lr 0.01, 55,000
training images after the 5,000-image validation split):

1. nnfun's seconds per epoch: the median of `--epochs` calls of `nnfun.train_epoch` (the
   real training path, uint8 pixels scaled batch by batch) after one warm-up epoch;
2. the matmul floor: one epoch's worth of only the two big products per step, `x @ W1` and
   `x.T @ dh`, on preallocated float32 arrays, timed alternately with the epochs of 1 so that
   both see the same machine, and the ratio epoch / floor;
3. achieved GFLOP/s of the epoch (all matmuls of forward + backward) and of the floor;
4. the peak RSS of a real `python -m nnfun train --epochs 1` process;
5. the time to evaluate the 10,000 test images with `nnfun.evaluate`, and images per second;
6. which BLAS library and kernel ran (threadpoolctl), and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE;
7. the identical recipe in PyTorch, if it is importable, and the ratio nnfun / PyTorch.

The benchmark only reads the OpenBLAS variables; to measure without them, unset them when starting
it (bench/env_unset.sh).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
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

import nnfun
import nnfun.recipes as recipes
from nnfun.batching import num_batches, scale_pixels, split_validation
from nnfun.io.datasets import load_dataset, resolve_data_dir
from nnfun.recipes import Config
from nnfun.train import EPOCH, SPLIT, rng_for, train_epoch

INPUTS, HIDDEN, CLASSES = 784, 1024, 10
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# The targets the figures are held to.
MAX_TORCH_RATIO = 0.40  # nnfun epoch <= 0.40 x PyTorch epoch
MAX_FLOOR_RATIO = 1.3  # nnfun epoch <= 1.3 x matmul floor
MAX_80_EPOCHS_S = 60.0  # a full 80-epoch seed run in at most a minute
MAX_RSS_MB = 400.0  # peak RSS of `nnfun train`
MAX_INFERENCE_S = 0.05  # the 10,000 test images
FULL_RUN_EPOCHS = 80
BUSY_LOAD = 0.5  # a 1-minute load average above this at the start means other work is running


# --- helpers -----------------------------------------------------------------------------------


def timed(fn: Callable[[], object], reps: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of `reps` calls of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def batch_sizes(n: int, batch: int) -> list[int]:
    """The row count of each batch of an epoch over `n` images: full batches, then the rest."""
    return [min(batch, n - start) for start in range(0, n, batch)]


def train_flops(n: int) -> int:
    """FLOPs of all matmuls of one forward + backward pass over `n` images.

    Forward: `x @ W1` (2 n 784 1024) and `h @ W2` (2 n 1024 10). Backward: `dW2 = h.T @ dz`
    (2 n 1024 10), `dh = dz @ W2.T` (2 n 10 1024) and `dW1 = x.T @ dh` (2 n 784 1024); no
    gradient is computed for the input pixels.
    """
    return 2 * n * (2 * INPUTS * HIDDEN + 3 * HIDDEN * CLASSES)


def floor_flops(n: int) -> int:
    """FLOPs of the floor: `x @ W1` and `x.T @ dh` for `n` images."""
    return 2 * 2 * n * INPUTS * HIDDEN


def cpu_model() -> str:
    """`AMD EPYC (family 25, model 17; AVX-512)`: the processor, named well enough to quote.

    "AMD EPYC" alone spans generations whose speed differs a lot here (Zen 3 has AVX2 only,
    Zen 4 and 5 add AVX-512), so the family, model and widest vector unit come with it.
    """
    try:
        lines = Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    flags = fields.get("flags", "").split()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    name = fields.get("model name") or platform.machine()
    return f"{name} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')}; {vector})"


def blas_info() -> list[dict[str, Any]]:
    """The BLAS libraries loaded in this process (threadpoolctl), or [] without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]


# --- the measurements --------------------------------------------------------------------------


def matmul_floor(n: int, batch: int) -> Callable[[], None]:
    """One epoch of only `x @ W1` and `x.T @ dh` per step, on preallocated float32 arrays.

    The batches have the real epoch's sizes (429 of 128 rows and one of 88 for n = 55,000).
    """
    rng = np.random.default_rng(0)
    x = rng.random((batch, INPUTS), dtype=np.float32)
    w1 = rng.standard_normal((INPUTS, HIDDEN), dtype=np.float32) * np.float32(0.05)
    dh = rng.standard_normal((batch, HIDDEN), dtype=np.float32) * np.float32(0.01)
    h = np.empty((batch, HIDDEN), dtype=np.float32)
    dw1 = np.empty((INPUTS, HIDDEN), dtype=np.float32)
    sizes = batch_sizes(n, batch)

    def one_epoch() -> None:
        for m in sizes:
            np.matmul(x[:m], w1, out=h[:m])
            np.matmul(x[:m].T, dh[:m], out=dw1)

    return one_epoch


class NnfunTraining:
    """The seed recipe trained one `train_epoch` call at a time, from `recipes.init_network`."""

    def __init__(self, c: Config, x: np.ndarray, y: np.ndarray) -> None:
        self.c, self.x, self.y = c, x, y
        self.params = recipes.init_network(c, x.shape[1], CLASSES)
        self.optimizer, self.schedule = recipes.build_optimizer(c), recipes.build_schedule(c)
        self.opt_state = self.optimizer.init(self.params)
        self.records: list[dict[str, float]] = []  # loss and accuracy of every epoch run

    def epoch(self) -> None:
        c, epoch = self.c, len(self.records)
        self.params, self.opt_state, loss, acc = train_epoch(
            self.params,
            self.opt_state,
            self.x,
            self.y,
            optimizer=self.optimizer,
            schedule=self.schedule,
            batch_size=c.batch_size,
            epoch=epoch,
            rng=rng_for(c.seed, EPOCH, epoch),
        )
        self.records.append({"epoch": epoch + 1, "loss": loss, "accuracy": acc})


def interleaved(
    a: Callable[[], object], a_reps: int, b: Callable[[], object], b_reps: int
) -> tuple[list[float], list[float]]:
    """Seconds of `a_reps` calls of `a` and `b_reps` of `b`, alternating, after one warm-up each.

    Alternating makes both see the same machine: a burst of other work slows both, not one.
    """
    a_times: list[float] = []
    b_times: list[float] = []
    a()
    b()
    for i in range(max(a_reps, b_reps)):
        for fn, reps, times in ((a, a_reps, a_times), (b, b_reps, b_times)):
            if i < reps:
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
    return a_times, b_times


def train_rss(data_dir: Path) -> dict[str, Any]:
    """Peak RSS (ru_maxrss of exactly that child, via wait4) of `python -m nnfun train --epochs 1`."""
    with tempfile.TemporaryDirectory(prefix="nnfun-bench-") as tmp:
        log_path = Path(tmp) / "train.log"
        cmd = [sys.executable, "-m", "nnfun", "train", "--epochs", "1"]
        cmd += ["--out", str(Path(tmp) / "run"), "--data-dir", str(data_dir)]
        start = time.perf_counter()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        shown = ["python", *cmd[1:6], "--out", "<tmp>", "--data-dir", str(data_dir)]
        result: dict[str, Any] = {"command": " ".join(shown), "wall_seconds": wall}
        if proc.returncode != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            result["error"] = f"exit code {proc.returncode}: " + " | ".join(tail)
            return result
        result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
        return result


def torch_epochs(
    x: np.ndarray, y: np.ndarray, epochs: int, batch: int, seed: int
) -> dict[str, Any]:
    """The seed recipe in PyTorch: seconds per epoch after a warm-up, or why it was skipped."""
    try:
        import torch
    except ImportError as exc:
        return {"skipped": f"PyTorch is not importable ({exc.name or exc})"}
    torch.manual_seed(seed)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES)
    )
    for layer in (model[0], model[2]):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    params = list(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    # Torch adds weight decay after the clamp below, nnfun before it; for speed that is the same.
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    n = len(xt)
    records: list[dict[str, float]] = []

    def one_epoch() -> None:
        order = torch.randperm(n, generator=gen)
        xs, ys = xt[order], yt[order]
        loss_sum, correct = 0.0, 0
        for start in range(0, n, batch):
            xb, yb = xs[start : start + batch], ys[start : start + batch]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            for p in params:
                p.grad.clamp_(-5.0, 5.0)
            opt.step()
            loss_sum += loss.item() * len(xb)  # the same bookkeeping nnfun's loop does
            correct += int((logits.argmax(dim=1) == yb).sum())
        records.append({"loss": loss_sum / n, "accuracy": correct / n})

    times = timed(one_epoch, epochs)
    build = re.findall(r"\b((?:BLAS|LAPACK)_INFO=\w+)", torch.__config__.show())
    return {
        "version": torch.__version__,
        "num_threads": torch.get_num_threads(),
        "build": ", ".join(build) or "BLAS unknown",
        "epoch_seconds": times,
        "epoch_median": statistics.median(times),
        "last_epoch": records[-1],
    }


# --- reporting ---------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "[dim]–[/]"
    return "[green]met[/]" if ok else "[red]missed[/]"


def spread(times: list[float]) -> str:
    return f"{min(times):.3f}–{max(times):.3f}" if len(times) > 1 else ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark nnfun's seed-recipe training speed against a matmul floor and PyTorch."
    )
    p.add_argument("--epochs", type=int, default=5, help="timed epochs, after one warm-up (5)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding mnist/ [default: $NNFUN_DATA, else ./data]",
    )
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--no-rss", action="store_true", help="skip the `nnfun train` RSS subprocess")
    p.add_argument("--floor-reps", type=int, default=5, help="repetitions of the floor (5)")
    p.add_argument("--eval-reps", type=int, default=9, help="repetitions of test inference (9)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write JSON here")
    args = p.parse_args(argv)
    if min(args.epochs, args.floor_reps, args.eval_reps) < 1:
        p.error("--epochs, --floor-reps and --eval-reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    c = Config()  # the seed recipe
    blas = blas_info()
    env = {name: os.environ.get(name, "unset") for name in OPENBLAS_VARS}
    load = os.getloadavg()

    # Environment first: it decides how the numbers below are to be read.
    info = Table(title="Environment", show_header=False, title_justify="left")
    info.add_column(style="bold")
    info.add_column()
    info.add_row("CPU", f"{cpu_model()} ({os.cpu_count()} logical CPUs)")
    info.add_row("load average", " ".join(f"{v:.2f}" for v in load))
    info.add_row("python / numpy", f"{platform.python_version()} / {np.__version__}")
    if blas:
        for lib in blas:
            info.add_row(
                "BLAS",
                f"{lib.get('internal_api')} {lib.get('version')}, "
                f"core type [bold]{lib.get('architecture', '?')}[/], "
                f"{lib.get('num_threads')} threads ({lib.get('threading_layer', '?')})",
            )
    else:
        info.add_row("BLAS", "[yellow]unknown: pip install threadpoolctl to see it[/]")
    for name, value in env.items():
        info.add_row(name, value)
    console.print(info)
    if load[0] > BUSY_LOAD:
        console.print(
            f"[yellow]The load average is {load[0]:.2f} before the benchmark starts: other work is "
            "running, so the figures below are slower and noisier than on an idle machine "
            "(multi-threaded BLAS suffers most).[/]"
        )

    data_dir = resolve_data_dir(args.data_dir)
    with console.status(f"loading MNIST from {data_dir}"):
        data = load_dataset("mnist", data_dir, log=lambda line: console.print(line, style="dim"))
    x, y, x_val, y_val = split_validation(
        data.train_x, data.train_y, c.val_size, rng_for(c.seed, SPLIT)
    )
    n = len(x)
    steps = num_batches(n, c.batch_size)
    console.print(
        f"seed recipe: {INPUTS}-{'-'.join(map(str, c.hidden))}-{CLASSES}, batch {c.batch_size}, "
        f"{n:,} training images ({steps} steps per epoch), {args.epochs} timed epochs"
    )

    run = NnfunTraining(c, x, y)
    with console.status(
        f"nnfun: 1 warm-up + {args.epochs} epochs, alternating with "
        f"1 + {args.floor_reps} repetitions of the matmul floor"
    ):
        epoch_times, floor = interleaved(
            run.epoch, args.epochs, matmul_floor(n, c.batch_size), args.floor_reps
        )
    epoch_records, params = run.records, run.params
    x_test, x_val_f = scale_pixels(data.test_x), scale_pixels(x_val)
    with console.status("test-set inference"):
        infer = timed(lambda: nnfun.evaluate(params, x_test, data.test_y), args.eval_reps)
        val_eval = timed(lambda: nnfun.evaluate(params, x_val_f, y_val), args.eval_reps)
    rss: dict[str, Any] = {"skipped": "--no-rss"}
    if not args.no_rss:
        with console.status("peak RSS of `nnfun train --epochs 1`"):
            rss = train_rss(data_dir)
    torch_result: dict[str, Any] = {"skipped": "--no-torch"}
    if not args.no_torch:
        with console.status(f"PyTorch: 1 warm-up + {args.epochs} epochs"):
            torch_result = torch_epochs(scale_pixels(x), y, args.epochs, c.batch_size, c.seed)

    epoch_s, floor_s = statistics.median(epoch_times), statistics.median(floor)
    infer_s, val_s = statistics.median(infer), statistics.median(val_eval)
    full_run_s = FULL_RUN_EPOCHS * (epoch_s + val_s)
    gflops, floor_gflops = train_flops(n) / epoch_s / 1e9, floor_flops(n) / floor_s / 1e9
    torch_s = torch_result.get("epoch_median")

    table = Table(
        title=f"nnfun training speed (median of {args.epochs} epochs)", title_justify="left"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("min–max", justify="right", style="dim")
    table.add_column("target", justify="right")
    table.add_column("", justify="left")
    table.add_row("nnfun epoch", f"{epoch_s:.3f} s", spread(epoch_times), "", "")
    table.add_row("matmul floor", f"{floor_s:.3f} s", spread(floor), "", "")
    ratio = epoch_s / floor_s
    table.add_row(
        "epoch / floor",
        f"{ratio:.2f}×",
        "",
        f"≤ {MAX_FLOOR_RATIO}×",
        verdict(ratio <= MAX_FLOOR_RATIO),
    )
    table.add_row("nnfun GFLOP/s", f"{gflops:.1f}", "", "", "")
    table.add_row("floor GFLOP/s", f"{floor_gflops:.1f}", "", "", "")
    if torch_s is not None:
        torch_ratio = epoch_s / torch_s
        table.add_row(
            "PyTorch epoch",
            f"{torch_s:.3f} s",
            spread(torch_result["epoch_seconds"]),
            "",
            "",
        )
        table.add_row("PyTorch GFLOP/s", f"{train_flops(n) / torch_s / 1e9:.1f}", "", "", "")
        table.add_row(
            "nnfun / PyTorch",
            f"{torch_ratio:.2f}×",
            "",
            f"≤ {MAX_TORCH_RATIO}×",
            verdict(torch_ratio <= MAX_TORCH_RATIO),
        )
    else:
        table.add_row("PyTorch epoch", "skipped", "", f"nnfun ≤ {MAX_TORCH_RATIO}×", verdict(None))
    table.add_row("val eval, 5k images", f"{val_s:.4f} s", spread(val_eval), "", "")
    table.add_row(
        f"{FULL_RUN_EPOCHS} epochs, projected",
        f"{full_run_s:.1f} s",
        "",
        f"≤ {MAX_80_EPOCHS_S:.0f} s",
        verdict(full_run_s <= MAX_80_EPOCHS_S),
    )
    if "peak_rss_mb" in rss:
        table.add_row(
            "peak RSS, nnfun train",
            f"{rss['peak_rss_mb']:.0f} MB",
            "",
            f"≤ {MAX_RSS_MB:.0f} MB",
            verdict(rss["peak_rss_mb"] <= MAX_RSS_MB),
        )
    else:
        why = rss.get("error") or rss.get("skipped", "")
        table.add_row("peak RSS, nnfun train", "n/a", "", f"≤ {MAX_RSS_MB:.0f} MB", verdict(None))
        console.print(f"[yellow]peak RSS not measured: {why}[/]")
    table.add_row(
        "test inference, 10k",
        f"{infer_s:.4f} s",
        spread(infer),
        f"≤ {MAX_INFERENCE_S} s",
        verdict(infer_s <= MAX_INFERENCE_S),
    )
    table.add_row("test throughput", f"{len(x_test) / infer_s:,.0f} img/s", "", "", "")
    console.print(table)

    last = epoch_records[-1]
    console.print(
        f"[dim]nnfun after {last['epoch']} epochs: train loss {last['loss']:.4f}, "
        f"accuracy {last['accuracy']:.2%}[/]"
    )
    if torch_s is not None:
        t = torch_result
        console.print(
            f"[dim]PyTorch {t['version']}, torch.get_num_threads() = {t['num_threads']}, "
            f"{t['build']}; train loss {t['last_epoch']['loss']:.4f}, "
            f"accuracy {t['last_epoch']['accuracy']:.2%}[/]"
        )
    else:
        console.print(f"[dim]PyTorch comparison skipped: {torch_result['skipped']}[/]")
    if "wall_seconds" in rss:
        console.print(f"[dim]`{rss['command']}` took {rss['wall_seconds']:.1f} s in all[/]")

    if args.json is not None:
        report = {
            "recipe": {
                "sizes": [INPUTS, *c.hidden, CLASSES],
                "batch_size": c.batch_size,
                "train_images": n,
                "steps_per_epoch": steps,
                "optimizer": c.optimizer,
                "lr": c.lr,
                "momentum": c.momentum,
                "weight_decay": c.weight_decay,
                "clip": c.clip,
            },
            "environment": {
                "cpu": cpu_model(),
                "cpu_count": os.cpu_count(),
                "load_average_at_start": list(load),
                "python": platform.python_version(),
                "numpy": np.__version__,
                "blas": blas,
                "env": env,
            },
            "timed_epochs": args.epochs,
            "nnfun": {
                "epoch_median_s": epoch_s,
                "epoch_seconds": epoch_times,
                "epochs": epoch_records,
                "gflops": gflops,
                "flops_per_epoch": train_flops(n),
            },
            "floor": {
                "median_s": floor_s,
                "seconds": floor,
                "gflops": floor_gflops,
                "flops_per_epoch": floor_flops(n),
                "epoch_over_floor": ratio,
            },
            "inference": {
                "test_median_s": infer_s,
                "test_seconds": infer,
                "test_images_per_s": len(x_test) / infer_s,
                "val_median_s": val_s,
            },
            "projected_80_epochs_s": full_run_s,
            "train_process": rss,
            "torch": torch_result,
            "nnfun_over_torch": epoch_s / torch_s if torch_s else None,
            "targets": {
                "nnfun_over_torch_max": MAX_TORCH_RATIO,
                "epoch_over_floor_max": MAX_FLOOR_RATIO,
                "projected_80_epochs_s_max": MAX_80_EPOCHS_S,
                "peak_rss_mb_max": MAX_RSS_MB,
                "test_inference_s_max": MAX_INFERENCE_S,
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, allow_nan=True) + "\n")
        console.print(f"[dim]wrote {args.json}[/]")
    return 0 if math.isfinite(epoch_s) else 1


if __name__ == "__main__":
    sys.exit(main())
