"""Softmax and cross-entropy, computed stably with the log-sum-exp trick."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """`log softmax(z)_k = z_k - m - log sum_j exp(z_j - m)` with `m = max_j z_j`, so exp never overflows."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """`softmax(z)_k = exp(z_k) / sum_j exp(z_j)`: class probabilities that sum to one per row."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0) -> np.floating:
    """Mean cross-entropy `-1/n sum_i sum_k q_ik log softmax(z_i)_k`, in the logits' own precision."""
    log_probs = log_softmax(logits)
    picked = log_probs[np.arange(len(logits)), labels].mean()
    if not smoothing:
        return -picked
    return -(1 - smoothing) * picked - smoothing * log_probs.mean(axis=1).mean()


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy `L = -1/n sum_i sum_k q_ik log softmax(z_i)_k` and its gradient `dL/dz`.

    The target `q` is one-hot (optionally smoothed: `(1 - s) onehot + s / K`), and the gradient is
    the famous `dL/dz = (softmax(z) - q) / n`: the log cancels the exp of the softmax.
    """
    n, k = logits.shape
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(total)
    if smoothing:
        loss = (
            -(1 - smoothing) * log_probs[rows, labels].mean()
            - smoothing * log_probs.mean(axis=1).mean()
        )
    else:
        loss = -log_probs[rows, labels].mean()
    grad = exp
    grad /= total
    if smoothing:
        grad -= smoothing / k
    grad[rows, labels] -= 1 - smoothing
    grad /= n
    return float(loss), grad
