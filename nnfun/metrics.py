"""Accuracy, the confusion matrix, and evaluation of a whole dataset in large batches."""

from __future__ import annotations

import numpy as np

from . import checks
from .batching import scale_pixels
from .ensemble import Model, log_proba, members
from .errors import DataError
from .inference import check_fits
from .losses import log_softmax
from .network import forward


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of predictions equal to the labels, in [0, 1]. Takes labels or logits `(n, k)`."""
    predicted = np.asarray(predicted)
    if predicted.ndim == 2 and predicted.shape[1] > 0:
        predicted = predicted.argmax(axis=1)
    else:
        predicted = checks.labels("predicted", predicted)
    labels = checks.labels("labels", labels, len(predicted), of="predicted")
    return float(np.mean(predicted == labels)) if len(labels) else 0.0


MAX_CLASSES = 10_000
"""A confusion matrix has classes² cells: beyond this it is a mistake, not a dataset."""


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """`C[i, j]` = how many images of class `i` were predicted as class `j` (rows: truth)."""
    classes = checks.whole("classes", classes, 1, MAX_CLASSES)
    labels = checks.labels("labels", labels, classes=classes)
    predicted = checks.labels("predicted", predicted, len(labels), classes, of="labels")
    flat = np.asarray(labels, dtype=np.int64) * classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class: the diagonal of the confusion matrix over its row sums."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.dtype.kind not in "iuf":
        raise DataError(f"matrix must be a square array of counts, got shape {matrix.shape}")
    totals = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), totals, out=np.zeros(len(matrix)), where=totals > 0)


def _floats(x: np.ndarray) -> np.ndarray:
    """uint8 pixels are scaled to [0, 1] chunk by chunk, so a whole dataset is never copied."""
    return scale_pixels(x) if x.dtype == np.uint8 else x


def evaluate(
    model: Model, x: np.ndarray, y: np.ndarray, batch_size: int = 10_000
) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy, accuracy and predicted labels over a whole dataset (floats or uint8).

    Images may be rows `(n, 784)` or a stack `(n, 28, 28)`; pixels are checked as by `predict`.
    An ensemble is scored on the mean of its members' probabilities (`log_proba`); a single
    network on its own logits.
    """
    checks.whole("batch_size", batch_size)
    nets = members(model)
    for net in nets:
        checks.finite_network(net, "model")
    x = checks.pixels("x", x, checks.network(nets[0])[0])
    y = checks.labels("y", y, len(x))
    check_fits(nets, x.shape[1])
    checks.labels("y", y, len(x), checks.network(nets[0])[-1])
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
