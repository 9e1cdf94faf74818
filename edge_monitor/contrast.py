"""Contrast normalisation of a model-sized grey crop, shared by training, evaluation and the device.

A model's metadata names its contrast normalisation in the top-level key ``"contrast"``; it is
applied to the resized uint8 crop before ``scale`` / ``offset``. Accepted values:

- ``"none"``: the pixels as they are;
- ``"equalize_hist"``: ``cv2.equalizeHist`` of the crop;
- ``{"clahe": {"clip_limit": C, "tile": T}}``: ``cv2.createCLAHE(clipLimit=C, tileGridSize=(T, T))``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from edge_monitor.errors import ModelFormatError

ACCEPTED = '"none", "equalize_hist" or {"clahe": {"clip_limit": C > 0, "tile": T >= 1}}'
_CLIP_MAX = 1000.0
_TILE_MAX = 64


@dataclass(frozen=True)
class Contrast:
    """One contrast normalisation.

    Attributes:
        kind: ``"none"``, ``"equalize_hist"`` or ``"clahe"``.
        clip_limit: CLAHE clip limit (``clahe`` only).
        tile: CLAHE tiles per side (``clahe`` only).
    """

    kind: str = "none"
    clip_limit: float = 0.0
    tile: int = 0

    def to_json(self) -> str | dict[str, Any]:
        """The metadata value, as external evaluators read it."""
        if self.kind == "clahe":
            return {"clahe": {"clip_limit": self.clip_limit, "tile": self.tile}}
        return self.kind

    def __str__(self) -> str:
        return (
            self.kind if self.kind != "clahe" else f"clahe(clip_limit={self.clip_limit:g}, tile={self.tile})"
        )

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """Normalise uint8 images (H, W) or (N, H, W); returns a new array, or ``pixels`` for ``none``."""
        if self.kind == "none":
            return pixels
        if pixels.dtype != np.uint8:
            raise ValueError(f"contrast {self} needs uint8 pixels, got {pixels.dtype}")
        one = self._one()
        if pixels.ndim == 2:
            return one(np.ascontiguousarray(pixels))
        out = np.empty_like(pixels)
        for i in range(pixels.shape[0]):
            out[i] = one(np.ascontiguousarray(pixels[i]))
        return out

    def _one(self):
        if self.kind == "equalize_hist":
            return cv2.equalizeHist
        return _clahe(self.clip_limit, self.tile).apply


NONE = Contrast()


@functools.lru_cache(maxsize=8)
def _clahe(clip_limit: float, tile: int):
    return cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile, tile))


def parse_contrast(value: Any, where: str = "model metadata") -> Contrast:
    """Read a metadata ``"contrast"`` value.

    Args:
        value: The JSON value (a :class:`Contrast` is returned as is).
        where: What holds the value, for the error message.

    Raises:
        ModelFormatError: The value is not one of the accepted forms (exit code 32).
    """
    if isinstance(value, Contrast):
        return value
    if value in ("none", "equalize_hist"):
        return Contrast(kind=value)
    if isinstance(value, dict) and set(value) == {"clahe"} and isinstance(value["clahe"], dict):
        params = value["clahe"]
        clip, tile = params.get("clip_limit"), params.get("tile")
        if (
            set(params) == {"clip_limit", "tile"}
            and isinstance(clip, int | float)
            and not isinstance(clip, bool)
            and 0 < clip <= _CLIP_MAX
            and isinstance(tile, int)
            and not isinstance(tile, bool)
            and 1 <= tile <= _TILE_MAX
        ):
            return Contrast(kind="clahe", clip_limit=float(clip), tile=tile)
    shown = json.dumps(value) if _jsonable(value) else repr(value)
    raise ModelFormatError(
        f"{where}: contrast {shown} is not one of {ACCEPTED} (tile <= {_TILE_MAX}); fix the .json"
    )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
