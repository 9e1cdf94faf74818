"""Default locations of the shared data and the shipped models."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"


def shared_dir() -> Path:
    """``../shared`` beside the repository, or ``$EDGE_MONITOR_SHARED``."""
    return Path(os.environ.get("EDGE_MONITOR_SHARED", REPO.parent / "shared"))


def fer2013_path() -> Path:
    """The canonical FER2013 npz."""
    return shared_dir() / "datasets" / "fer2013.npz"


def ferplus_path() -> Path:
    """The FER+ labels aligned with :func:`fer2013_path`."""
    return shared_dir() / "datasets" / "ferplus.npz"
