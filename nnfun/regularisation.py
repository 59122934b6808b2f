"""What a training step adds to plain backprop: augmentation, dropout, label smoothing."""

from __future__ import annotations

from dataclasses import dataclass

from . import checks
from .augment import Augmentation


@dataclass(frozen=True)
class Regularisation:
    """What one training step adds to plain backprop: augmentation, dropout and label smoothing.

    `fit(..., regularisation=Regularisation(dropout=0.2, augmentation=Augmentation(shift=2)))`;
    the default, `Regularisation()`, adds nothing.
    """

    augmentation: Augmentation | None = None
    dropout: float = 0.0
    input_dropout: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        checks.regularisation(self.augmentation)
        for name in ("dropout", "input_dropout", "label_smoothing"):
            checks.rate(name, getattr(self, name))

    @property
    def augments(self) -> Augmentation | None:
        """The augmentation, if it changes the images at all (else None)."""
        return self.augmentation if self.augmentation and self.augmentation.active else None
