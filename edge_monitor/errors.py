"""The exception hierarchy; the CLI maps each class to its own exit code."""


class EdgeMonitorError(Exception):
    """Base of every error edge-monitor reports to the user.

    Messages are one line and say what to do about the problem.
    """

    exit_code = 1


class ConfigError(EdgeMonitorError, ValueError):
    """The configuration file or a command-line option is invalid."""

    exit_code = 2


class SourceError(EdgeMonitorError, IOError):
    """A camera or video file cannot be opened or read."""

    exit_code = 3


class ModelError(EdgeMonitorError, RuntimeError):
    """A model file is missing, is not a TFLite model or does not match its metadata."""

    exit_code = 4


class OutputError(EdgeMonitorError, IOError):
    """An output (event log, annotated video, plot) cannot be written."""

    exit_code = 5


class DatasetError(EdgeMonitorError, ValueError):
    """A training or evaluation dataset is missing or malformed (used by ``conversion``)."""

    exit_code = 6
