"""Metadata stored beside each model: what the model expects and what it outputs.

The JSON file next to ``model.tflite`` is the contract between training and the device:
labels in output order, the input size and colour, and the float normalisation
``input = contrast(pixel) * scale + offset`` applied to 8-bit pixels before quantization
(``contrast`` is :mod:`edge_monitor.contrast`, applied to the model-sized crop).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_monitor.contrast import NONE, Contrast, parse_contrast
from edge_monitor.errors import ModelFormatError, ModelNotFoundError
from edge_monitor.metadata_checks import check_values

_COLOURS = ("gray",)


@dataclass(frozen=True)
class ModelMetadata:
    """Description of a classifier's input and output.

    Attributes:
        name: Short model name, e.g. ``"emotion"``.
        labels: Class names in the order of the model's output vector.
        input_width: Input width in pixels.
        input_height: Input height in pixels.
        colour: Input colour space; only ``"gray"`` is supported.
        scale: Multiplier of the normalisation ``pixel * scale + offset``.
        offset: Offset of the normalisation.
        contrast: Contrast normalisation of the model-sized uint8 crop, applied before
            ``scale`` / ``offset`` (a :class:`~edge_monitor.contrast.Contrast` or its JSON value).
        metrics: Measured metrics (free-form; e.g. accuracy on the test split).
        extra: Further information (training recipe, provenance).
    """

    name: str
    labels: tuple[str, ...]
    input_width: int
    input_height: int
    colour: str = "gray"
    scale: float = 1.0 / 127.5
    offset: float = -1.0
    contrast: Contrast = NONE
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.labels:
            raise ModelFormatError(
                f"model metadata '{self.name}' has no labels; regenerate it with conversion"
            )
        if self.input_width <= 0 or self.input_height <= 0:
            raise ModelFormatError(f"model metadata '{self.name}' has a non-positive input size")
        if self.colour not in _COLOURS:
            raise ModelFormatError(
                f"model metadata '{self.name}': colour {self.colour!r} is not one of {_COLOURS}"
            )
        object.__setattr__(self, "contrast", parse_contrast(self.contrast, f"model metadata '{self.name}'"))

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model input."""
        return (self.input_width, self.input_height)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["contrast"] = self.contrast.to_json()
        return d

    def save(self, path: str | Path) -> None:
        """Write the metadata as indented JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ModelMetadata:
        """Read metadata from a JSON file.

        Raises:
            ModelError: The file is missing, is not JSON or lacks a required field.
        """
        p = Path(path)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelNotFoundError(
                f"model metadata not found: {p}; put the .json beside the .tflite"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFormatError(f"model metadata {p} is not valid JSON ({exc}); regenerate it") from None
        if not isinstance(raw, dict):
            raise ModelFormatError(f"model metadata {p} must be a JSON object")
        check_values(raw, p)
        try:
            return cls(
                name=str(raw["name"]),
                labels=tuple(str(x) for x in raw["labels"]),
                input_width=int(raw["input_width"]),
                input_height=int(raw["input_height"]),
                colour=str(raw.get("colour", "gray")),
                scale=float(raw["scale"]),
                offset=float(raw["offset"]),
                # Metadata written before the key existed means no contrast normalisation.
                contrast=parse_contrast(raw.get("contrast", "none"), f"model metadata {p}"),
                metrics=dict(raw.get("metrics", {})),
                extra=dict(raw.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"model metadata {p} is missing or has a bad field ({exc}); regenerate it"
            ) from None
