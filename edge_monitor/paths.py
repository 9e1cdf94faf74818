"""Where the shipped models are: inside the installed package, or ``models/`` in a checkout."""

from __future__ import annotations

from pathlib import Path

from edge_monitor.errors import ModelNotFoundError

_PACKAGE = Path(__file__).resolve().parent


def shipped_models_dir() -> Path:
    """The directory holding the shipped ``.tflite`` models and their metadata.

    A wheel installs the repository's ``models/`` as ``edge_monitor/models``; an editable
    install or a plain checkout uses ``models/`` beside the package.
    """
    for candidate in (_PACKAGE / "models", _PACKAGE.parent / "models"):
        if (candidate / "emotion.json").is_file():
            return candidate
    raise ModelNotFoundError("the shipped models are missing; reinstall edge-monitor or set models.* paths")


def model_path(configured: str, name: str) -> Path:
    """The configured model path, or the shipped ``<name>.tflite`` when ``configured`` is empty."""
    return Path(configured).expanduser() if configured else shipped_models_dir() / f"{name}.tflite"
