"""The exception hierarchy; every class has its own exit code, which the CLI returns.

Exit codes: 2 command-line usage · 10-15 configuration · 20-25 frame sources · 30-33 models ·
40-41 outputs · 50 datasets · 130 interrupted before the first frame.
"""


class EdgeMonitorError(Exception):
    """Base of every error edge-monitor reports to the user.

    Messages are one line and say what to do about the problem.
    """

    exit_code = 1


class UsageError(EdgeMonitorError, ValueError):
    """A command-line option is invalid (out of range, or an output that is also an input)."""

    exit_code = 2


class ConfigError(EdgeMonitorError, ValueError):
    """The configuration file cannot be used (e.g. it does not exist)."""

    exit_code = 10


class ConfigSyntaxError(ConfigError):
    """The configuration file is not valid YAML."""

    exit_code = 11


class ConfigKeyError(ConfigError):
    """The configuration names a key that does not exist."""

    exit_code = 12


class ConfigTypeError(ConfigError):
    """A configuration value has the wrong type."""

    exit_code = 13


class ConfigRangeError(ConfigError):
    """A configuration value is outside its allowed range or choices."""

    exit_code = 14


class ConfigLimitError(ConfigError):
    """The configuration file exceeds a safety limit (size, nesting depth, alias expansion)."""

    exit_code = 15


class SourceError(EdgeMonitorError, IOError):
    """A camera or video file cannot be opened or read."""

    exit_code = 20


class VideoNotFoundError(SourceError):
    """The video file does not exist."""

    exit_code = 21


class VideoFormatError(SourceError):
    """The file is not a video OpenCV can decode."""

    exit_code = 22


class VideoTruncatedError(SourceError):
    """The video is an MP4/MOV whose data is cut short or whose index is missing."""

    exit_code = 23


class CameraError(SourceError):
    """A camera cannot be opened or stopped delivering frames."""

    exit_code = 24


class PicameraUnavailableError(SourceError):
    """picamera2 cannot be imported (not a Raspberry Pi, or not installed from apt)."""

    exit_code = 25


class ModelError(EdgeMonitorError, RuntimeError):
    """A model cannot be used."""

    exit_code = 30


class ModelNotFoundError(ModelError):
    """A model or metadata file does not exist."""

    exit_code = 31


class ModelFormatError(ModelError):
    """A file is not a TFLite model, or its metadata is not valid."""

    exit_code = 32


class ModelMismatchError(ModelError):
    """A model's tensors do not match its metadata."""

    exit_code = 33


class OutputError(EdgeMonitorError, IOError):
    """An output (event log, annotated video, plot, GPIO pins) cannot be written or claimed."""

    exit_code = 40


class FleetUnavailableError(OutputError):
    """Fleet telemetry is asked for (``--mqtt``, ``fleet.url``) but paho-mqtt is not installed."""

    exit_code = 41


class DatasetError(EdgeMonitorError, ValueError):
    """A training or evaluation dataset is missing or malformed (used by ``conversion``)."""

    exit_code = 50


def show_value(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a value in an error message is one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
