"""The exception hierarchy; every class has its own exit code, which the CLI returns.

Exit codes: 2 command-line usage · 10-15 configuration · 20-25 frame sources · 30-33 models ·
40-41 outputs · 50 datasets · 130 interrupted before the first frame.
"""


class EdgeMonitorError(Exception):
    """Base of every error edge-monitor reports to the user.

    Messages are one line and say what to do about the problem. A subclass states its code in its
    bases, ``class ConfigKeyError(ConfigError, exit_code=12)``, or keeps its parent's.
    """

    exit_code = 1

    def __init_subclass__(cls, exit_code: int | None = None, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code


class UsageError(EdgeMonitorError, ValueError, exit_code=2):
    """A command-line option is invalid (out of range, or an output that is also an input)."""


class ConfigError(EdgeMonitorError, ValueError, exit_code=10):
    """The configuration file cannot be used (e.g. it does not exist)."""


class ConfigSyntaxError(ConfigError, exit_code=11):
    """The configuration file is not valid YAML."""


class ConfigKeyError(ConfigError, exit_code=12):
    """The configuration names a key that does not exist."""


class ConfigTypeError(ConfigError, exit_code=13):
    """A configuration value has the wrong type."""


class ConfigRangeError(ConfigError, exit_code=14):
    """A configuration value is outside its allowed range or choices."""


class ConfigLimitError(ConfigError, exit_code=15):
    """The configuration file exceeds a safety limit (size, nesting depth, alias expansion)."""


class SourceError(EdgeMonitorError, IOError, exit_code=20):
    """A camera or video file cannot be opened or read."""


class VideoNotFoundError(SourceError, exit_code=21):
    """The video file does not exist."""


class VideoFormatError(SourceError, exit_code=22):
    """The file is not a video OpenCV can decode."""


class VideoTruncatedError(SourceError, exit_code=23):
    """The video is an MP4/MOV whose data is cut short or whose index is missing."""


class CameraError(SourceError, exit_code=24):
    """A camera cannot be opened or stopped delivering frames."""


class PicameraUnavailableError(SourceError, exit_code=25):
    """picamera2 cannot be imported (not a Raspberry Pi, or not installed from apt)."""


class ModelError(EdgeMonitorError, RuntimeError, exit_code=30):
    """A model cannot be used."""


class ModelNotFoundError(ModelError, exit_code=31):
    """A model or metadata file does not exist."""


class ModelFormatError(ModelError, exit_code=32):
    """A file is not a TFLite model, or its metadata is not valid."""


class ModelMismatchError(ModelError, exit_code=33):
    """A model's tensors do not match its metadata."""


class OutputError(EdgeMonitorError, IOError, exit_code=40):
    """An output (event log, annotated video, plot, GPIO pins) cannot be written or claimed."""


class FleetUnavailableError(OutputError, exit_code=41):
    """Fleet telemetry is asked for (``--mqtt``, ``fleet.url``) but paho-mqtt is not installed."""


class DatasetError(EdgeMonitorError, ValueError, exit_code=50):
    """A training or evaluation dataset is missing or malformed (used by ``conversion``)."""


def show_value(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a value in an error message is one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
