"""Where the shipped models are: inside the installed package, or ``models/`` in a checkout.

The third-party face models (MediaPipe's, Apache-2.0) are not in the repository: they are fetched
at install time into ``models/thirdparty`` by ``scripts/fetch_models.py`` (which ``make``,
``deploy/install.sh`` and the package build run), never at run time.
"""

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


FETCH_COMMAND = "python scripts/fetch_models.py"
"""What puts the third-party models in place in a checkout (a ``pip install .`` does it too)."""


def thirdparty_model_path(configured: str, name: str) -> Path:
    """The configured path, or the fetched third-party ``name`` (e.g. ``face_landmark.tflite``).

    Raises:
        ModelNotFoundError: The file does not exist; the message names the command that fetches it.
    """
    path = Path(configured).expanduser() if configured else shipped_models_dir() / "thirdparty" / name
    if not path.is_file():
        raise ModelNotFoundError(
            f"model file not found: {path}; fetch the third-party face models with: {FETCH_COMMAND}"
            " (from the edge-monitor checkout), or reinstall edge-monitor"
        )
    return path
