"""The exceptions a user can cause. The CLI turns each into one line and a non-zero exit."""


class EffbenchError(Exception):
    """Base class: the message says what went wrong and what to do."""


class ConfigError(EffbenchError):
    """A key, value or combination of keys on the command line or in a config file is wrong."""


class TaskError(EffbenchError):
    """A task does not exist or its definition is invalid."""


class DataError(EffbenchError):
    """A task's data is missing, or differs from the canonical set."""


class BackendError(EffbenchError):
    """The model would not load, or the server did not answer."""


class StoreError(EffbenchError):
    """A run folder cannot be used as asked: bad name, corrupt file, different config."""


class GradingError(EffbenchError):
    """The grading worker processes could not start."""
