"""The annotated video: each frame with the face box, its emotion, the eye and mouth contours, a
head-pose axis and a status panel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from edge_monitor import mesh
from edge_monitor.errors import OutputError
from edge_monitor.native import NativeStderrProbe
from edge_monitor.types import FaceBox, StepResult

_FOURCCS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_GREEN = (0, 255, 0)
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_AMBER = (0, 191, 255)  # BGR
_RED = (0, 0, 255)
_DEFAULT_FPS = 30.0


def _percent(p: float) -> str:
    return f"{p:.0%}" if math.isfinite(p) else "?"


def draw_geometry(out: np.ndarray, result: StepResult, thickness: int) -> None:
    """Draw the eye and mouth contours and a head-pose axis of ``result.geometry`` on ``out`` in place.

    Eyes are green when read open, red when closed and amber when unknown (hidden or looking
    away); the mouth is red while it counts as a yawn. The axis starts at the nose tip and points
    where the head points (its length grows with the turn); it is amber while looking away.
    """
    g = result.geometry
    if g is None:
        return
    pts = np.asarray(g.points, np.float32)
    eye_colour = {"open": _GREEN, "closed": _RED}.get(result.eye_state, _AMBER)
    mouth_colour = _RED if result.mouth_wide else _WHITE
    lips = (mesh.OUTER_LIP_CONTOUR, mesh.INNER_LIP_CONTOUR)
    for contours, colour in ((mesh.EYE_CONTOURS, eye_colour), (lips, mouth_colour)):
        loops = [np.round(pts[list(c)]).astype(np.int32) for c in contours]
        cv2.polylines(out, loops, True, colour, thickness, cv2.LINE_AA)
    # Head-pose axis: the face's forward direction projected on the image, scaled by the eye span.
    span = mesh.eye_span(pts)
    yaw, pitch = math.radians(g.yaw_deg), math.radians(g.pitch_deg)
    nose = pts[mesh.NOSE_TIP]
    tip = nose + span * np.array([math.sin(yaw) * math.cos(pitch), -math.sin(pitch)], np.float32)
    colour = _AMBER if result.looking_away else (255, 128, 0)
    p0 = (round(float(nose[0])), round(float(nose[1])))
    p1 = (round(float(tip[0])), round(float(tip[1])))
    cv2.arrowedLine(out, p0, p1, colour, thickness + 1, cv2.LINE_AA, tipLength=0.2)


@dataclass(frozen=True)
class _Sizes:
    """Text and line sizes that follow the frame height, so text reads the same on 640x360 and 1920x1080."""

    font_scale: float
    text_thick: int
    box_thick: int
    pad: int

    @classmethod
    def of(cls, height: int, width: int) -> _Sizes:
        font_scale = max(0.3, height / 900.0)
        return cls(
            font_scale=font_scale,
            text_thick=max(1, round(height / 540.0)),
            box_thick=max(1, round(min(width, height) / 180.0)),
            pad=max(2, round(6 * font_scale)),
        )


def draw_overlay(bgr: np.ndarray, result: StepResult, extra_lines: Sequence[str] = ()) -> np.ndarray:
    """Draw the face box, its emotion, the landmark contours and a status panel on a copy of ``bgr``.

    Args:
        bgr: HxWx3 uint8 image (HxW grey is accepted); not modified.
        result: The pipeline's result for this frame.
        extra_lines: Further status panel lines (e.g. alert level, eye state).

    Returns:
        The annotated copy, same size as ``bgr``.
    """
    out = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR) if bgr.ndim == 2 else bgr.copy()
    sizes = _Sizes.of(*out.shape[:2])
    stable = result.stable
    lines = [
        f"t={result.frame.t:.2f}s  frame {result.frame.index}",
        f"face: {'yes' if result.face_present else 'no'}",
        f"emotion: {stable.label} ({_percent(stable.confidence)})" if stable.label else "emotion: -",
        *extra_lines,
    ]
    _draw_panel(out, lines, sizes)  # first, so the face box is drawn over it, never hidden by it
    draw_geometry(out, result, max(1, sizes.box_thick // 2))
    turned = result.turned_face
    if turned is not None:  # a face turned away: thin and amber, it only feeds yawn detection
        x1, y1 = turned.x + turned.w - 1, turned.y + turned.h - 1
        cv2.rectangle(out, (turned.x, turned.y), (x1, y1), _AMBER, max(1, sizes.box_thick // 2))
    box = result.face
    if box is not None:
        cv2.rectangle(out, (box.x, box.y), (box.x + box.w - 1, box.y + box.h - 1), _GREEN, sizes.box_thick)
        if result.emotion is not None:
            label, p = result.emotion.top
            _draw_label(out, box, f"{label} {_percent(p)}", sizes)
    return out


def _draw_panel(out: np.ndarray, lines: Sequence[str], s: _Sizes) -> None:
    """The status lines, white on a darkened (semi-transparent black) panel at the top left."""
    height, width = out.shape[:2]
    metrics = [cv2.getTextSize(line, _FONT, s.font_scale, s.text_thick) for line in lines]
    ascent = max(th for (_, th), _ in metrics)
    line_h = ascent + max(base for _, base in metrics) + s.pad
    panel_w = min(width, max(tw for (tw, _), _ in metrics) + 2 * s.pad)
    panel_h = min(height, line_h * len(lines) + s.pad)
    roi = out[:panel_h, :panel_w]
    roi[:] = cv2.convertScaleAbs(roi, alpha=0.35)
    for i, line in enumerate(lines):
        y = s.pad + i * line_h + ascent
        cv2.putText(out, line, (s.pad, y), _FONT, s.font_scale, _WHITE, s.text_thick, cv2.LINE_AA)


def _draw_label(out: np.ndarray, box: FaceBox, text: str, s: _Sizes) -> None:
    """``text`` on black above the face box; inside its top edge when there is no room above."""
    height, width = out.shape[:2]
    (tw, th), base = cv2.getTextSize(text, _FONT, s.font_scale, s.text_thick)
    y = box.y - s.box_thick - base if box.y - s.box_thick - base - th >= 0 else box.y + s.box_thick + th
    y = min(max(th + 1, y), height - base - 1)  # boxes may reach past the frame edge
    x = min(max(0, box.x), max(0, width - tw))
    cv2.rectangle(out, (x, y - th - 1), (x + tw, y + base), _BLACK, cv2.FILLED)
    cv2.putText(out, text, (x, y), _FONT, s.font_scale, _GREEN, s.text_thick, cv2.LINE_AA)


class VideoAnnotator:
    """Writes annotated frames to a video file (``.mp4``/``.m4v``/``.mov`` or ``.avi``).

    Attributes:
        frames_written: Number of frames written so far.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        """Open the video writer, creating parent directories.

        Args:
            path: Output file; the suffix chooses the codec (mp4v or MJPG).
            fps: Frame rate; a non-positive or non-finite value means 30.
            size: Output (width, height); frames of another size are resized.

        Raises:
            OutputError: Unsupported suffix, bad size, or the file cannot be opened.
        """
        self._path = Path(path)
        self.frames_written = 0
        self._writer: cv2.VideoWriter | None = None
        fourcc = _FOURCCS.get(self._path.suffix.lower())
        if fourcc is None:
            raise OutputError(
                f"unsupported video file type '{self._path.suffix}' for {self._path}; use .mp4 or .avi"
            )
        width, height = int(size[0]), int(size[1])
        if width <= 0 or height <= 0:
            raise OutputError(
                f"invalid video size {width}x{height} for {self._path}; width and height must be positive"
            )
        self._size = (width, height)
        self._fps = float(fps) if math.isfinite(fps) and fps > 0 else _DEFAULT_FPS
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(
                f"cannot create directory for {self._path}: {e.strerror or e}; choose a writable path"
            ) from e
        writer = cv2.VideoWriter(
            str(self._path), cv2.VideoWriter_fourcc(*fourcc), self._fps, self._size, True
        )
        if not writer.isOpened():
            writer.release()
            raise OutputError(
                f"cannot open video writer for {self._path}; check the path is writable or use .avi"
            )
        self._writer = writer
        self._probe = NativeStderrProbe()

    @property
    def path(self) -> Path:
        """Path of the video file."""
        return self._path

    @property
    def fps(self) -> float:
        """Frame rate written to the file."""
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        """Output (width, height)."""
        return self._size

    def write(self, result: StepResult, extra_lines: Sequence[str] = ()) -> None:
        """Annotate ``result.frame`` (see ``draw_overlay``) and append it; ignored after ``close``."""
        if self._writer is None:
            return
        out = draw_overlay(result.frame.bgr, result, extra_lines)
        if (out.shape[1], out.shape[0]) != self._size:
            shrinking = out.shape[1] > self._size[0]
            out = cv2.resize(out, self._size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        with self._probe:
            self._writer.write(out)
        self._check("write a frame to")
        self.frames_written += 1

    def _check(self, what: str) -> None:
        # OpenCV returns nothing from write/release; a failure (a full disk) is only printed.
        if self._probe.text:
            reason = self._probe.text.splitlines()[0].rsplit(": ", 1)[-1].strip()
            writer, self._writer = self._writer, None
            if writer is not None:
                with self._probe:  # what it prints now is the same failure
                    writer.release()
            self._probe.close()
            raise OutputError(f"cannot {what} {self._path}: {reason}; check the free disk space")

    def close(self) -> None:
        """Finish and close the file; calling it again does nothing.

        Raises:
            OutputError: OpenCV reported that the file could not be finished (e.g. a full disk).
        """
        writer, self._writer = self._writer, None
        if writer is not None:
            self._probe.text = ""
            with self._probe:
                writer.release()
            self._probe.close()
            self._check("finish")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
