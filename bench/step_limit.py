"""The physical limit of a seed-recipe step, and the machine it is measured on.

The limit is what a step cannot do without: the two big products of the first layer on the
pixel columns the batch uses (`x[:, used] @ W1[used]` and its transpose with the hidden-layer
gradient), one streaming pass of the SGD update over every parameter (read w, v and the
gradient's rows once, write w and v once), and the small rest (scaling the uint8 batch, the
bias and ReLU, the 1024 x 10 layer forward and back, the softmax cross-entropy, the epoch's
shuffle). Each piece runs on preallocated arrays, with the real batches' sizes and used-column
counts, without the gathers or fresh arrays a real step needs.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from nnfun.batching import SCALE, batches, shuffle
from nnfun.train import EPOCH, rng_for

INPUTS, HIDDEN, CLASSES = 784, 1024, 10

# AMD's families and models by microarchitecture, for naming a CPU well enough to quote.
AMD_KINDS = {
    23: lambda m: "Zen 2" if m >= 0x30 else "Zen / Zen+",
    25: lambda m: "Zen 4" if 0x10 <= m <= 0x1F or 0x60 <= m <= 0xAF else "Zen 3",
    26: lambda m: "Zen 5",
}


def cpu_model() -> dict[str, str]:
    """Model name, family, model, the AMD microarchitecture where known, and the vector unit."""
    try:
        lines = Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
    except OSError:
        return {"name": platform.processor() or platform.machine()}
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    flags = fields.get("flags", "").split()
    family, model = int(fields.get("cpu family", "0")), int(fields.get("model", "0"))
    kind = ""
    if fields.get("vendor_id") == "AuthenticAMD" and family in AMD_KINDS:
        kind = AMD_KINDS[family](model)
    return {
        "name": fields.get("model name", platform.machine()),
        "family": str(family),
        "model": str(model),
        "kind": kind,
        "vector": "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2",
    }


def describe_cpu(cpu: dict[str, str]) -> str:
    """`AMD EPYC (family 26, model 2: Zen 5, AVX-512)`."""
    if "family" not in cpu:
        return cpu["name"]
    kind = f": {cpu['kind']}" if cpu["kind"] else ""
    return f"{cpu['name']} (family {cpu['family']}, model {cpu['model']}{kind}, {cpu['vector']})"


def blas_info() -> list[dict[str, Any]]:
    """The BLAS libraries loaded in this process (threadpoolctl), or [] without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]


class StepLimit:
    """The ideal seed-recipe epoch over the same batches as nnfun's, timed piece by piece."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch: int, seed: int) -> None:
        from nnfun import kernels  # the update pass is the compiled kernel: it needs numba

        self.kernels, self.x, self.y, self.batch, self.seed = kernels, x, y, batch, seed
        xs, _ = shuffle(x, y, rng_for(seed, EPOCH, 0))
        self.used = [int(np.count_nonzero(xb.any(axis=0))) for xb, _ in batches(xs, y, batch)]
        rng = np.random.default_rng(0)
        f32 = np.float32
        self.w = {
            "W1": rng.standard_normal((INPUTS, HIDDEN), dtype=f32) * f32(0.05),
            "b1": np.zeros((1, HIDDEN), f32),
            "W2": rng.standard_normal((HIDDEN, CLASSES), dtype=f32) * f32(0.05),
            "b2": np.zeros((1, CLASSES), f32),
        }
        self.v = {k: np.zeros_like(w) for k, w in self.w.items()}
        self.new = {k: (np.empty_like(w), np.empty_like(w)) for k, w in self.w.items()}
        self.g = {k: rng.standard_normal(w.shape, dtype=f32) * f32(0.01) for k, w in self.w.items()}
        self.xf = np.empty((batch, INPUTS), f32)
        self.h = np.empty((batch, HIDDEN), f32)
        self.dh = rng.standard_normal((batch, HIDDEN), dtype=f32) * f32(0.01)
        self.z = np.empty((batch, CLASSES), f32)
        self.rows = {k: np.arange(w.shape[0], dtype=np.intp) for k, w in self.w.items()}
        self.pieces: list[dict[str, float]] = []

    def _update(self, used: int) -> None:
        """One streaming SGD pass over every parameter; W1's gradient has `used` rows."""
        s = self.kernels.scalars(np.dtype(np.float32), 0.01, 0.9, 1e-4, -5.0, 5.0, 0.0)
        for k, w in self.w.items():
            rows = self.rows[k][:used] if k == "W1" else self.rows[k]
            out_w, out_v = self.new[k]
            g = self.g[k][: len(rows)]
            self.kernels.sgd_rows(w, g, rows, self.v[k], *s, True, True, False, out_w, out_v)

    def _rest(self, xb: np.ndarray, yb: np.ndarray) -> None:
        """Everything but the two big products and the update, on preallocated arrays."""
        m = len(xb)
        xf, h, z = self.xf[:m], self.h[:m], self.z[:m]
        np.multiply(xb, SCALE, out=xf, dtype=np.float32)
        h += self.w["b1"]
        np.maximum(h, 0, out=h)
        np.matmul(h, self.w["W2"], out=z)
        z += self.w["b2"]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(m), yb] -= 1  # softmax minus one-hot: dL/dz (times m)
        np.matmul(h.T, z, out=self.g["W2"])
        self.g["b2"][0] = z.sum(axis=0)
        dh = self.dh[:m]
        np.matmul(z, self.w["W2"].T, out=dh)
        dh *= h > 0
        self.g["b1"][0] = dh.sum(axis=0)

    def epoch(self) -> None:
        """One epoch of ideal steps; its per-piece seconds are appended to `pieces`."""
        clock = time.perf_counter
        began = clock()
        xs, ys = shuffle(self.x, self.y, rng_for(self.seed, EPOCH, len(self.pieces)))
        rest = clock() - began
        products = update = 0.0
        x1 = np.ascontiguousarray(self.x[: self.batch], dtype=np.float32)
        w1, dw1 = self.w["W1"], self.g["W1"]
        for (xb, yb), used in zip(batches(xs, ys, self.batch), self.used, strict=True):
            m = len(xb)
            t0 = clock()
            np.matmul(x1[:m, :used], w1[:used], out=self.h[:m])
            np.matmul(x1[:m, :used].T, self.dh[:m], out=dw1[:used])
            t1 = clock()
            self._rest(xb, yb)
            t2 = clock()
            self._update(used)
            t3 = clock()
            products, rest, update = products + t1 - t0, rest + t2 - t1, update + t3 - t2
        self.pieces.append({"products": products, "update": update, "rest": rest})
