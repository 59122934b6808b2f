"""Softmax and cross-entropy, computed stably with the log-sum-exp trick."""

from __future__ import annotations

import numpy as np

from . import checks
from .errors import DataError


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """`log softmax(z)_k = z_k - m - log sum_j exp(z_j - m)` with `m = max_j z_j`, so exp never overflows."""
    logits = _logits(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """`softmax(z)_k = exp(z_k) / sum_j exp(z_j)`: class probabilities that sum to one per row."""
    logits = _logits(logits)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0) -> np.floating:
    """Mean cross-entropy `-1/n sum_i sum_k q_ik log softmax(z_i)_k`, in the logits' own precision."""
    logits = _logits(logits)
    labels = checks.labels("labels", labels, len(logits), logits.shape[1], of="logits")
    checks.rate("smoothing", smoothing)
    return mean_cross_entropy(logits, labels, smoothing)


def mean_cross_entropy(logits: np.ndarray, labels: np.ndarray, smoothing: float) -> np.floating:
    """`cross_entropy` without its checks, for callers that made them (a gradient check)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    picked = log_probs[np.arange(len(logits)), labels].mean()
    if not smoothing:
        return -picked
    return -(1 - smoothing) * picked - smoothing * log_probs.mean(axis=1).mean()


@checks.diagnosed(lambda *args, **kwargs: cross_entropy(*args, **kwargs))
def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy `L = -1/n sum_i sum_k q_ik log softmax(z_i)_k` and its gradient `dL/dz`.

    The target `q` is one-hot (optionally smoothed: `(1 - s) onehot + s / K`), and the gradient is
    the famous `dL/dz = (softmax(z) - q) / n`: the log cancels the exp of the softmax.
    Labels are checked to lie in `0..k-1` on every call (two reductions, ~1.5 us for 128).
    """
    if not isinstance(logits, np.ndarray) or logits.dtype.kind != "f":  # ints would wrap around
        logits = _logits(logits)
    n, k, labels = *logits.shape, np.asarray(labels)
    if n and not (labels.min() >= 0 and labels.max() < k):  # -1 would pick the last class
        checks.labels("labels", labels, n, k, of="logits")
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


def _logits(logits: np.ndarray) -> np.ndarray:
    """Scores `(n, classes)`: one row per example, at least one class."""
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[1] < 1 or logits.dtype.kind not in "iuf":
        raise DataError(f"logits must be numbers of shape (n, classes), got {logits.shape}")
    return logits if logits.dtype.kind == "f" else logits.astype(np.float64)
