"""Which implementation runs the elementwise passes of training (the optimizer updates, the
hidden layers' bias + ReLU and its gradient, the augmentation's resampling, the weight average):
compiled kernels, or the NumPy reference.

The environment variable `NNFUN_KERNELS` decides, at every step:

- unset or `auto`: the compiled kernels of `nnfun.kernels` when numba is importable (the extra
  `nnfun[fast]`), else NumPy;
- `numpy`: always the NumPy reference (in `nnfun.optim`, `nnfun.network`, ...: readable, and
  the definition the kernels must equal bit for bit);
- `numba`: the kernels, and a ConfigError if numba is missing.

Both give the same weights bit for bit; only the speed differs. The kernels module is imported
on first use, so `import nnfun` never loads numba.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

import numpy as np

from .errors import ConfigError

VARIABLE = "NNFUN_KERNELS"
CHOICES = ("auto", "numba", "numpy")
FLOATS = (np.float32, np.float64)
"""The dtypes the compiled kernels take; any other dtype runs the NumPy reference."""


@functools.cache
def _kernels() -> ModuleType | None:
    """The compiled kernels module, or None when numba cannot be imported (tried once)."""
    try:
        from . import kernels
    except ImportError:
        return None
    return kernels


def kernels() -> ModuleType | None:
    """The kernels to use for this update according to `NNFUN_KERNELS`, or None for NumPy."""
    choice = os.environ.get(VARIABLE, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ConfigError(f"{VARIABLE} must be one of {', '.join(CHOICES)}, got {choice!r}")
    if choice == "numpy":
        return None
    found = _kernels()
    if found is None and choice == "numba":
        raise ConfigError(f"{VARIABLE}=numba needs numba: pip install 'nnfun[fast]'")
    return found
