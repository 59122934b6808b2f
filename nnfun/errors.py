"""The project's own error types: every bad input ends in one of these, never in a traceback."""


class NnfunError(Exception):
    """Base class: a problem the user can fix, with a one-line message saying how."""


class DataError(NnfunError):
    """A dataset file is missing, truncated, garbled or inconsistent."""


class ModelError(NnfunError):
    """A model or checkpoint file cannot be loaded safely."""


class ConfigError(NnfunError, ValueError):
    """A setting is of the wrong type, out of range or does not apply; `setting` names it.

    Also a ValueError: code that catches a bad value the standard way catches this one too.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class DivergedError(NnfunError):
    """Training diverged; `lr` is the learning rate of the step where it was noticed, if known."""

    def __init__(self, message: str, *, lr: float | None = None) -> None:
        super().__init__(message)
        self.lr = lr
