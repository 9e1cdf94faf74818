"""Totals of a run, accumulated frame by frame: the ``summary`` event and the console report."""

from __future__ import annotations

from collections import defaultdict

from edge_monitor.types import Baseline, Event, FatigueStats, StepResult


class RunSummary:
    """Counts frames, face frames and time per stable emotion (pure: times come from frames)."""

    def __init__(self) -> None:
        self.frames = 0
        self.face_frames = 0
        self.attentive_frames = 0
        self.eyes_hidden_s = 0.0
        self.baseline: Baseline | None = None
        self._prev_hidden = False
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.last_index = 0
        self.emotion_s: dict[str, float] = defaultdict(float)
        self.events: dict[str, int] = defaultdict(int)
        self.level_s: dict[str, float] = defaultdict(float)
        self.stats = FatigueStats()
        self.alarm_episodes: set[int] = set()
        self._prev_label: str | None = None
        self._prev_level = "ok"
        self._frame_dt = 0.0

    def update(self, result: StepResult) -> None:
        """Add one processed frame."""
        t = result.frame.t
        if self.last_t is not None:
            dt = t - self.last_t
            self._frame_dt = dt
            if self._prev_label is not None:
                self.emotion_s[self._prev_label] += dt
            self.level_s[self._prev_level] += dt
            self.eyes_hidden_s += dt * self._prev_hidden
        else:
            self.first_t = t
        self.frames += 1
        self.face_frames += int(result.face_detected)
        self.attentive_frames += int(result.face_detected and not result.looking_away)
        self._prev_hidden = result.driver.eyes_hidden
        self.baseline = result.baseline or self.baseline
        self.last_t, self.last_index = t, result.frame.index
        self._prev_label = result.stable.label
        self._prev_level = result.level
        self.stats = result.stats
        for e in result.events:
            self.events[e.kind] += 1
            if e.kind == "alert" and e.data.get("level") == "alarm":
                self.alarm_episodes.add(e.data.get("episode", 0))

    @property
    def duration_s(self) -> float:
        """Time covered by the frames, counting the last frame's own duration."""
        if self.first_t is None or self.last_t is None:
            return 0.0
        return self.last_t - self.first_t + self._frame_dt

    @property
    def face_pct(self) -> float:
        """Percentage of frames with the driver's face detected, whatever its pose."""
        return 100.0 * self.face_frames / self.frames if self.frames else 0.0

    @property
    def attentive_pct(self) -> float:
        """Percentage of frames with the face detected and the head within range of straight-ahead."""
        return 100.0 * self.attentive_frames / self.frames if self.frames else 0.0

    def event(self, wall_s: float, stopped_by: str, extra: dict | None = None) -> Event:
        """The ``summary`` event.

        Args:
            wall_s: Wall-clock seconds the run took (for the processing rate).
            stopped_by: ``end``, ``max_frames``, ``signal`` or ``error``.
            extra: Fields the sinks add (``fleet``: published, queued, dropped).
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
                "attentive_pct": round(self.attentive_pct, 2),
                "calibration": self.baseline.to_record() if self.baseline is not None else {"state": "off"},
                "eyes_hidden_s": round(self.eyes_hidden_s, 3),
                "duration_s": round(self.duration_s, 3),
                "wall_s": round(wall_s, 3),
                "fps": round(self.frames / wall_s, 2) if wall_s > 0 else 0.0,
                "emotion_s": {k: round(v, 3) for k, v in sorted(self.emotion_s.items())},
                "blinks": self.stats.blinks,
                "blink_mean_s": None
                if self.stats.blink_mean_s is None
                else round(self.stats.blink_mean_s, 3),
                "microsleeps": self.stats.microsleeps,
                "long_closures": self.stats.long_closures,
                "yawns": self.stats.yawns,
                "max_perclos": round(self.stats.max_perclos, 4),
                "alarm_episodes": len(self.alarm_episodes),
                "level_s": {k: round(v, 3) for k, v in sorted(self.level_s.items())},
                "events": dict(sorted(self.events.items())),
                "stopped_by": stopped_by,
                **(extra or {}),
            },
        )

    def report(self, wall_s: float) -> str:
        """A short human-readable report."""
        fps = self.frames / wall_s if wall_s > 0 else 0.0
        lines = [
            f"frames {self.frames} in {wall_s:.1f} s ({fps:.1f} fps), clip time {self.duration_s:.1f} s",
            f"face found in {self.face_pct:.1f} % of frames (any pose),"
            f" attentive in {self.attentive_pct:.1f} %",
        ]
        b = self.baseline
        if b is not None and b.calibrated:
            lines.append(
                f"calibrated: open-eye ratio {b.ear:.3f}, resting mouth {b.mouth_open:.3f},"
                f" straight ahead yaw {b.yaw_deg:.1f} / pitch {b.pitch_deg:.1f} deg"
            )
        elif b is not None:
            lines.append(f"calibrating ({b.learnt_s:.1f} s learnt): default levels used")
        if self.eyes_hidden_s > 0:
            lines.append(f"eyes hidden (sunglasses) for {self.eyes_hidden_s:.1f} s: eye state unknown")
        if self.emotion_s:
            total = sum(self.emotion_s.values()) or 1.0
            parts = sorted(self.emotion_s.items(), key=lambda kv: -kv[1])
            lines.append(
                "dominant emotion: " + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in parts)
            )
        else:
            lines.append("dominant emotion: none established")
        st = self.stats
        blink = f", mean {1000 * st.blink_mean_s:.0f} ms" if st.blink_mean_s is not None else ""
        lines.append(
            f"blinks {st.blinks}{blink}; microsleeps {st.microsleeps}; yawns {st.yawns};"
            f" max PERCLOS {st.max_perclos:.2f}; alarm episodes {len(self.alarm_episodes)}"
        )
        levels = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(self.level_s.items(), key=lambda kv: -kv[1]))
        lines.append(f"alert levels: {levels or 'ok'}")
        return "\n".join(lines)
