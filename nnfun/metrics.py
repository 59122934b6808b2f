"""Accuracy, the confusion matrix, and evaluation of a whole dataset in large batches."""

from __future__ import annotations

import numpy as np

from .batching import scale_pixels
from .ensemble import Model, log_proba, members
from .inference import check_fits
from .losses import log_softmax
from .network import forward


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of predictions equal to the labels, in [0, 1]. Takes labels or logits `(n, k)`."""
    if predicted.ndim == 2:
        predicted = predicted.argmax(axis=1)
    return float(np.mean(predicted == labels)) if len(labels) else 0.0


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """`C[i, j]` = how many images of class `i` were predicted as class `j` (rows: truth)."""
    flat = np.asarray(labels, dtype=np.int64) * classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class: the diagonal of the confusion matrix over its row sums."""
    totals = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), totals, out=np.zeros(len(matrix)), where=totals > 0)


def _floats(x: np.ndarray) -> np.ndarray:
    """uint8 pixels are scaled to [0, 1] chunk by chunk, so a whole dataset is never copied."""
    return scale_pixels(x) if x.dtype == np.uint8 else x


def evaluate(
    model: Model, x: np.ndarray, y: np.ndarray, batch_size: int = 10_000
) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy, accuracy and predicted labels over a whole dataset (floats or uint8).

    Images may be rows `(n, 784)` or a stack `(n, 28, 28)`. An ensemble is scored on the mean
    of its members' probabilities (`log_proba`); a single network on its own logits.
    """
    nets = members(model)
    x = x.reshape(len(x), -1)
    check_fits(nets, x.shape[1], int(y.max()) + 1 if len(y) else None)
    total, predicted = 0.0, np.empty(len(x), dtype=np.int64)
    for i in range(0, len(x), batch_size):
        xb = _floats(x[i : i + batch_size])
        if len(nets) == 1:
            logits = forward(nets[0], xb)
            log_p = log_softmax(logits)
        else:
            logits = log_p = log_proba(nets, xb)
        rows = np.arange(len(logits))
        total += float(-log_p[rows, y[i : i + batch_size]].sum(dtype=np.float64))
        predicted[i : i + len(logits)] = logits.argmax(axis=1)
    return total / max(len(x), 1), accuracy(predicted, y), predicted
