"""Value checks of a model's metadata JSON, before it is used (a bad value is garbage output).

A NaN ``scale`` would make every pixel NaN (the eye model then reads "closed" for ever: a
permanent alarm), a ``48.9`` input width would be silently truncated, and string or duplicate
labels would name the wrong class. Each is a :class:`ModelFormatError` naming the field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from edge_monitor.errors import ModelFormatError, show_value

MAX_INPUT_PX = 4096


def _bad(path: Path, field: str, value: Any, why: str) -> ModelFormatError:
    return ModelFormatError(
        f"model metadata {path}: {field} {show_value(value)} {why}; regenerate it with conversion"
    )


def check_values(raw: dict, path: Path) -> None:
    """Check the fields of a metadata dict that are present (missing ones are reported by the loader).

    Raises:
        ModelFormatError: A field has a wrong type or an impossible value.
    """
    if "name" in raw and (not isinstance(raw["name"], str) or not raw["name"]):
        raise _bad(path, "name", raw["name"], "is not a model name")
    if "labels" in raw:
        labels = raw["labels"]
        if not isinstance(labels, list):
            raise _bad(path, "labels", labels, "is not a list")
        if not all(isinstance(x, str) and x.strip() for x in labels):
            raise _bad(path, "labels", labels, "must all be non-empty strings")
        if len(set(labels)) != len(labels):
            raise _bad(path, "labels", labels, "has duplicates")
    for key in ("input_width", "input_height"):
        if key in raw:
            v = raw[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_INPUT_PX:
                raise _bad(path, key, v, f"is not a whole number of pixels from 1 to {MAX_INPUT_PX}")
    for key in ("scale", "offset"):
        if key in raw:
            v = raw[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _bad(path, key, v, "is not a finite number")
    if "scale" in raw and raw["scale"] == 0:
        raise _bad(path, "scale", raw["scale"], "is zero (every input would be the same)")
