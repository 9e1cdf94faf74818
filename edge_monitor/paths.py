"""Where the shipped models are: inside the installed package, or ``models/`` in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from edge_monitor.errors import ModelNotFoundError


def shipped_models_dir() -> Path:
    """The directory holding the shipped ``.tflite`` models and their metadata."""
    try:
        installed = Path(str(resources.files("edge_monitor.models")))
        if installed.is_dir():
            return installed
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parent.parent / "models"
    if checkout.is_dir():
        return checkout
    raise ModelNotFoundError("the shipped models are missing; reinstall edge-monitor or set models.* paths")


def model_path(configured: str, name: str) -> Path:
    """The configured model path, or the shipped ``<name>.tflite`` when ``configured`` is empty."""
    return Path(configured).expanduser() if configured else shipped_models_dir() / f"{name}.tflite"
