"""The seed recipe in PyTorch or JAX, one epoch per command: the peers of bench/train_speed.py.

    <python with torch or jax> bench/peer_worker.py torch|jax DATA.npz

Runs in the peer's own virtual environment (it needs numpy and torch or jax, not nnfun). It
loads the training images (float32, already scaled to [0, 1]) and labels from DATA.npz, builds
the recipe, prints one JSON line describing itself (with `PEER_THREADS` set, PyTorch uses that
many threads; bench/train_speed.py sets BLAS's and XLA's thread variables alongside), then for every line `epoch` on its standard
input trains one epoch and prints `{"seconds", "steps", "loss", "accuracy"}`. The timing covers
what nnfun's epoch covers: a shuffled copy of the data, every step, and summing the loss and
counting correct predictions (which waits for each step's result).

The recipe: 784-1024-10, ReLU, float32, He-normal weights and zero biases, softmax
cross-entropy, batch 128, SGD with momentum 0.9, L2 1e-4 and every gradient value clipped to
[-5, 5], learning rate 0.01.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

BATCH, HIDDEN, CLASSES = 128, 1024, 10
LR, MOMENTUM, DECAY, CLIP, SEED = 0.01, 0.9, 1e-4, 5.0, 0


def blas_kernel() -> str:
    """The BLAS numpy loaded here (threadpoolctl), for the record."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    libs = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return ", ".join(f"{lib['internal_api']} {lib.get('architecture', '?')}" for lib in libs)


def torch_trainer(
    x: np.ndarray, y: np.ndarray
) -> tuple[Callable[[], dict[str, Any]], dict[str, Any]]:
    """`nn.Sequential` and `torch.optim.SGD`, gradients clamped before each step."""
    import torch

    if "PEER_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["PEER_THREADS"]))
    torch.manual_seed(SEED)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES)
    )
    for layer in (model[0], model[2]):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    params = list(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    # Torch adds the weight decay after the clamp, nnfun before it: the same work.
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM, weight_decay=DECAY)
    gen = torch.Generator().manual_seed(SEED)
    n = len(xt)

    def epoch() -> dict[str, Any]:
        order = torch.randperm(n, generator=gen)
        xs, ys = xt[order], yt[order]
        loss_sum, correct = 0.0, 0
        for start in range(0, n, BATCH):
            xb, yb = xs[start : start + BATCH], ys[start : start + BATCH]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            for p in params:
                p.grad.clamp_(-CLIP, CLIP)
            opt.step()
            loss_sum += loss.item() * len(xb)
            correct += int((logits.argmax(dim=1) == yb).sum())
        return {"loss": loss_sum / n, "accuracy": correct / n}

    info = {"peer": f"PyTorch {torch.__version__}", "threads": torch.get_num_threads()}
    return epoch, info


def jax_trainer(
    x: np.ndarray, y: np.ndarray
) -> tuple[Callable[[], dict[str, Any]], dict[str, Any]]:
    """The whole step (forward, backward, update) as one jitted function, buffers donated."""
    import jax
    import jax.numpy as jnp

    k1, k2 = jax.random.split(jax.random.PRNGKey(SEED))
    inputs = x.shape[1]
    params = {
        "W1": jax.random.normal(k1, (inputs, HIDDEN), jnp.float32) * np.sqrt(2 / inputs),
        "b1": jnp.zeros(HIDDEN, jnp.float32),
        "W2": jax.random.normal(k2, (HIDDEN, CLASSES), jnp.float32) * np.sqrt(2 / HIDDEN),
        "b2": jnp.zeros(CLASSES, jnp.float32),
    }
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)

    def loss_fn(p: Any, xb: Any, yb: Any) -> Any:
        h = jax.nn.relu(xb @ p["W1"] + p["b1"])
        logits = h @ p["W2"] + p["b2"]
        picked = jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1)
        return -jnp.mean(picked), logits

    def step(p: Any, v: Any, xb: Any, yb: Any, lr: Any) -> Any:
        (loss, logits), g = jax.value_and_grad(loss_fn, has_aux=True)(p, xb, yb)
        g = jax.tree_util.tree_map(lambda gi, w: jnp.clip(gi + DECAY * w, -CLIP, CLIP), g, p)
        v = jax.tree_util.tree_map(lambda vi, gi: MOMENTUM * vi - lr * gi, v, g)
        p = jax.tree_util.tree_map(lambda w, vi: w + vi, p, v)
        return p, v, loss, jnp.sum(jnp.argmax(logits, axis=1) == yb)

    jitted = jax.jit(step, donate_argnums=(0, 1))
    rng = np.random.default_rng(SEED)
    n, state = len(x), [params, velocity]
    lr = jnp.float32(LR)

    def epoch() -> dict[str, Any]:
        order = rng.permutation(n)
        xs, ys = x[order], y[order].astype(np.int32)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, BATCH):
            xb, yb = xs[start : start + BATCH], ys[start : start + BATCH]
            state[0], state[1], loss, right = jitted(state[0], state[1], xb, yb, lr)
            loss_sum += float(loss) * len(xb)
            correct += int(right)
        return {"loss": loss_sum / n, "accuracy": correct / n}

    info = {"peer": f"JAX {jax.__version__} (jit)", "devices": str(jax.devices())}
    return epoch, info


def main() -> None:
    kind, data = sys.argv[1], np.load(sys.argv[2])
    x, y = np.ascontiguousarray(data["x"], dtype=np.float32), data["y"]
    epoch, info = {"torch": torch_trainer, "jax": jax_trainer}[kind](x, y)
    info |= {"blas": blas_kernel(), "steps": -(-len(x) // BATCH)}
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() != "epoch":
            break
        began = time.perf_counter()
        result = epoch()
        result |= {"seconds": time.perf_counter() - began, "steps": info["steps"]}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
