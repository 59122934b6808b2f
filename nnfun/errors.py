"""The project's own error types: every bad input ends in one of these, never in a traceback."""


class NnfunError(Exception):
    """Base class: a problem the user can fix, with a one-line message saying how."""


class DataError(NnfunError):
    """A dataset file is missing, truncated, garbled or inconsistent."""


class ModelError(NnfunError):
    """A model or checkpoint file cannot be loaded safely."""


class ConfigError(NnfunError):
    """A hyper-parameter or recipe is out of range."""


class DivergedError(NnfunError):
    """Training produced a non-finite loss."""
