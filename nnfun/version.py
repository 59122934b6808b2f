"""The version of nnfun, written into every run's settings."""

__version__ = "0.2.0"
