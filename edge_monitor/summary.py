"""Totals of a run, accumulated frame by frame: the ``summary`` event and the console report."""

from __future__ import annotations

from collections import defaultdict

from edge_monitor.types import Event, StepResult


class RunSummary:
    """Counts frames, face frames and time per stable emotion (pure: times come from frames)."""

    def __init__(self) -> None:
        self.frames = 0
        self.face_frames = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.last_index = 0
        self.emotion_s: dict[str, float] = defaultdict(float)
        self.events: dict[str, int] = defaultdict(int)
        self._prev_label: str | None = None
        self._frame_dt = 0.0

    def update(self, result: StepResult) -> None:
        """Add one processed frame."""
        t = result.frame.t
        if self.last_t is not None:
            dt = t - self.last_t
            self._frame_dt = dt
            if self._prev_label is not None:
                self.emotion_s[self._prev_label] += dt
        else:
            self.first_t = t
        self.frames += 1
        self.face_frames += int(result.face_detected)
        self.last_t, self.last_index = t, result.frame.index
        self._prev_label = result.stable.label
        for e in result.events:
            self.events[e.kind] += 1

    @property
    def duration_s(self) -> float:
        """Time covered by the frames, counting the last frame's own duration."""
        if self.first_t is None or self.last_t is None:
            return 0.0
        return self.last_t - self.first_t + self._frame_dt

    @property
    def face_pct(self) -> float:
        """Percentage of frames with a detected face."""
        return 100.0 * self.face_frames / self.frames if self.frames else 0.0

    def event(self, wall_s: float, stopped_by: str) -> Event:
        """The ``summary`` event.

        Args:
            wall_s: Wall-clock seconds the run took (for the processing rate).
            stopped_by: ``end``, ``max_frames``, ``signal`` or ``error``.
        """
        t = self.last_t if self.last_t is not None else 0.0
        return Event(
            "summary",
            t,
            self.last_index,
            {
                "frames": self.frames,
                "face_frames": self.face_frames,
                "face_pct": round(self.face_pct, 2),
                "duration_s": round(self.duration_s, 3),
                "wall_s": round(wall_s, 3),
                "fps": round(self.frames / wall_s, 2) if wall_s > 0 else 0.0,
                "emotion_s": {k: round(v, 3) for k, v in sorted(self.emotion_s.items())},
                "events": dict(sorted(self.events.items())),
                "stopped_by": stopped_by,
            },
        )

    def report(self, wall_s: float) -> str:
        """A short human-readable report."""
        fps = self.frames / wall_s if wall_s > 0 else 0.0
        lines = [
            f"frames {self.frames} in {wall_s:.1f} s ({fps:.1f} fps), clip time {self.duration_s:.1f} s",
            f"face found in {self.face_pct:.1f} % of frames",
        ]
        if self.emotion_s:
            total = sum(self.emotion_s.values()) or 1.0
            parts = sorted(self.emotion_s.items(), key=lambda kv: -kv[1])
            lines.append(
                "dominant emotion: " + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in parts)
            )
        else:
            lines.append("dominant emotion: none established")
        return "\n".join(lines)
