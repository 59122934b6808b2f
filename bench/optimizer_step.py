"""What does composing the optimizer cost? The fused step against the equivalent chain.

Run `python bench/optimizer_step.py` (see bench/README.md). For the seed network (784-1024-10,
float32) it times one epoch's worth of optimizer updates (430 steps, no forward or backward pass)
with the fused function and with the chain of gradient transformations that computes the same
weights bit for bit, alternating the two in every repetition so that both see the same machine,
and prints the medians and their ratio (and the ratio of the fastest epochs, which other work on
the machine disturbs least). The gradients are random, drawn once before timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial

import numpy as np

import nnfun as nf

SIZES = (784, 1024, 10)
STEPS = 430  # batches per epoch: 55,000 training images in batches of 128
GRAD_POOL = 8  # distinct gradient sets, cycled through (430 would need 1.4 GB)

PAIRS: dict[str, tuple[nf.Optimizer, nf.Optimizer, float]] = {
    "seed SGD (momentum 0.9, L2 1e-4, clip 5)": (
        nf.Optimizer(nf.sgd_init, nf.sgd_step),
        nf.as_optimizer(
            nf.chain(
                nf.add_decayed_weights(1e-4),
                nf.clip(5.0),
                nf.scale_by_learning_rate(),
                nf.trace(0.9),
            )
        ),
        0.01,
    ),
    "AdamW (weight decay 1e-2)": (
        nf.Optimizer(nf.adam_init, partial(nf.adam_step, weight_decay=1e-2)),
        nf.as_optimizer(
            nf.chain(nf.scale_by_adam(), nf.add_decayed_weights(1e-2), nf.scale_by_learning_rate())
        ),
        1e-3,
    ),
}


def epoch_of_updates(
    opt: nf.Optimizer, params: nf.Params, pool: list[nf.Params], lr: float
) -> tuple[float, nf.Params]:
    """Seconds for STEPS optimizer steps from a fresh state, and the weights they reach."""
    state = opt.init(params)
    start = time.perf_counter()
    for i in range(STEPS):
        params, state = opt.step(params, pool[i % len(pool)], state, lr=lr)
    return time.perf_counter() - start, params


def compare(
    fused: nf.Optimizer, chained: nf.Optimizer, lr: float, repeats: int
) -> tuple[list[float], list[float]]:
    """Alternate fused and chained epochs (after one warm-up of each); check they agree."""
    rng = np.random.default_rng(0)
    params = nf.init_params(SIZES, rng)
    pool = [
        nf.freeze({k: rng.standard_normal(w.shape, dtype=np.float32) for k, w in params.items()})
        for _ in range(GRAD_POOL)
    ]
    times: tuple[list[float], list[float]] = ([], [])
    for rep in range(repeats + 1):
        results = [epoch_of_updates(opt, params, pool, lr) for opt in (fused, chained)]
        if rep == 0:
            a, b = results[0][1], results[1][1]
            if not all(np.array_equal(a[k], b[k]) for k in a):
                raise SystemExit("the chain did not reach the fused step's weights")
            continue
        for column, (seconds, _) in zip(times, results, strict=True):
            column.append(seconds)
    return times


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs of each (default 7)")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}; load average at start {os.getloadavg()[0]:.2f}")
    print(
        f"{STEPS} steps of {'-'.join(map(str, SIZES))} float32, median (min-max) of {args.repeats}"
    )
    for name, (fused, chained, lr) in PAIRS.items():
        t_fused, t_chain = compare(fused, chained, lr, args.repeats)
        ratio = statistics.median(t_chain) / statistics.median(t_fused)
        best = min(t_chain) / min(t_fused)
        print(
            f"\n{name}\n  fused: {spread(t_fused)}\n  chain: {spread(t_chain)}\n  chain / fused: {ratio:.2f}x (fastest: {best:.2f}x)"
        )


if __name__ == "__main__":
    main()
