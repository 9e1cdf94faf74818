"""A timeline picture of a run: eyes, eye opening, PERCLOS, yawns, mouth opening, head pose, emotion,
face and alert level over time.

matplotlib is an optional dependency (``pip install edge-monitor[plot]``); it is imported only
when the picture is drawn, so the device never needs it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from edge_monitor.errors import OutputError
from edge_monitor.levels import DRIVER_LEVELS, FAULT, rank
from edge_monitor.outputs.sinks import Sink
from edge_monitor.types import Event, StepResult

_LEVEL_COLOURS = {
    "ok": "#2ca02c",
    "notice": "#f2c200",
    "warning": "#ff7f0e",
    "alarm": "#d62728",
    "fault": "#7f3fbf",
}
_LEVEL_Y = {level: rank(level) for level in DRIVER_LEVELS} | {FAULT: -1}  # a fault plots below ok
_EMOTION_COLOURS = {
    "angry": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "happy": "#2ca02c",
    "sad": "#1f77b4",
    "surprise": "#ff7f0e",
    "neutral": "#7f7f7f",
}


def _require_matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise OutputError("--plot needs matplotlib: pip install 'edge-monitor[plot]'") from None
    return plt


def _next_t(t: np.ndarray, i: int) -> float:
    """The end of sample ``i``'s interval: the next sample's time (its own for the last)."""
    return t[i + 1] if i + 1 < len(t) else t[i]


def _runs(values: Sequence) -> Iterator[tuple[int, int, object]]:
    """``(first, last, value)`` of each run of equal consecutive values: one shaded span per run,
    not per frame (an hour at 30 fps is 108,000 frames)."""
    first = 0
    for value, run in itertools.groupby(values):
        last = first + sum(1 for _ in run) - 1
        yield first, last, value
        first = last + 1


def _span(ax, t: np.ndarray, first: int, last: int, **style) -> None:
    """Shade samples ``first``..``last``: from the first's time to the end of the last's interval."""
    ax.axvspan(t[first], _next_t(t, last), lw=0, **style)


def _note(ax, text: str) -> None:
    """A grey note in the middle of a panel that has nothing to plot."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777", fontsize=9)


class TimelineSink(Sink):
    """Records per-frame state and draws the timeline PNG when closed.

    Args:
        path: Output PNG.
        title: Title of the figure (e.g. the clip's name).

    Raises:
        OutputError: matplotlib is missing, or the PNG's folder cannot be created.
    """

    def __init__(self, path: str | Path, title: str = "") -> None:
        self.path = Path(path)
        self.title = title
        self._plt = _require_matplotlib()  # fail at start-up, not after a long run
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the folder for {self.path}: {exc.strerror}") from None
        self._t: list[float] = []
        self._face: list[bool] = []
        self._dist: list[list[float]] = []
        self._labels: tuple[str, ...] | None = None
        self._stable: list[str | None] = []
        self._eye: list[float] = []
        self._yawn: list[float] = []
        self._perclos: list[float] = []
        self._level: list[str] = []
        # Landmark panels: (EAR, mouth opening, yaw, pitch) and the driver's levels, NaN when unknown.
        self._geo: list[tuple[float, float, float, float]] = []
        self._base: list[tuple[float, float, float, float]] = []
        self._away: list[bool] = []
        self._threshold: float | None = None
        self._events: list[Event] = []
        self._closed = False

    def on_event(self, event: Event) -> None:
        if event.kind in (
            "face_found",
            "face_lost",
            "emotion",
            "yawn",
            "microsleep",
            "eyes_closed",
            "sleep",
            "unresponsive",
        ):
            self._events.append(event)

    def on_frame(self, result: StepResult) -> None:
        if self._labels is None:
            self._labels = tuple(result.stable.distribution)
        self._t.append(result.frame.t)
        self._face.append(result.face_detected)
        self._dist.append([result.stable.distribution[k] for k in self._labels])
        self._stable.append(result.stable.label)
        nan = float("nan")
        self._eye.append(nan if result.eye_closed_prob is None else result.eye_closed_prob)
        self._yawn.append(nan if result.yawn_prob is None else result.yawn_prob)
        self._perclos.append(nan if result.driver.perclos is None else result.driver.perclos)
        self._level.append(result.level)
        g, b = result.geometry, result.baseline
        self._geo.append((nan,) * 4 if g is None else (g.ear, g.mouth_open, g.yaw_deg, g.pitch_deg))
        self._base.append((nan,) * 4 if b is None else (b.ear, b.mouth_open, b.yaw_deg, b.pitch_deg))
        self._away.append(result.looking_away)

    def close(self) -> None:
        """Draw and write the PNG (idempotent; nothing is drawn for a run without frames)."""
        if self._closed:
            return
        self._closed = True
        if not self._t or self._labels is None:
            return
        self.draw()

    def _draw_landmark_panels(self, t: np.ndarray, ax_ear, ax_mouth, ax_pose) -> None:
        """Eye opening, mouth opening and head pose from the landmarks, each with the driver's level."""
        geo, base = np.asarray(self._geo, float), np.asarray(self._base, float)
        ax_ear.plot(t, geo[:, 0], color="#17becf", lw=1.2, label="eye opening (EAR)")
        ax_ear.plot(t, base[:, 0], color="#17becf", lw=1, ls="--", label="driver's open level")
        ax_ear.set_ylabel("eye\nopening")
        ax_mouth.plot(t, geo[:, 1], color="#8c564b", lw=1.2, label="mouth opening")
        ax_mouth.plot(t, base[:, 1], color="#8c564b", lw=1, ls="--", label="driver's resting level")
        ax_mouth.set_ylabel("mouth\nopening")
        self._event_spans(ax_mouth, {"yawn": "#8c564b"})
        ax_pose.plot(t, geo[:, 2], color="#1f77b4", lw=1.2, label="yaw")
        ax_pose.plot(t, geo[:, 3], color="#e377c2", lw=1.2, label="pitch")
        ax_pose.plot(t, base[:, 2], color="#1f77b4", lw=1, ls="--")
        ax_pose.plot(t, base[:, 3], color="#e377c2", lw=1, ls="--")
        for first, last, away in _runs(self._away):
            if away:
                _span(ax_pose, t, first, last, color="#ff7f0e", alpha=0.2)
        ax_pose.set_ylabel("head pose\n(deg)")
        has_landmarks = np.isfinite(geo).any()
        for ax in (ax_ear, ax_mouth, ax_pose):
            if has_landmarks:
                ax.legend(fontsize=7, loc="upper right", frameon=False, ncol=2)
            else:
                _note(ax, "no face landmarks")

    def _event_spans(self, ax, colours: dict[str, str]) -> None:
        """Shade each event of a kind in ``colours`` from its ``start_t`` to its time."""
        for e in self._events:
            if e.kind in colours:
                ax.axvspan(e.data["start_t"], e.t, color=colours[e.kind], alpha=0.25, lw=0)

    def _draw_fatigue_panels(self, t: np.ndarray, ax_eye, ax_perclos, ax_yawn) -> None:
        """P(eyes closed) with the closures that became events, PERCLOS, and P(yawn) with the yawns."""
        ax_eye.plot(t, self._eye, color="#1f77b4", lw=1.2)
        ax_eye.set_ylim(-0.02, 1.02)
        ax_eye.set_ylabel("P(eyes\nclosed)")
        self._event_spans(ax_eye, {"microsleep": "#ff7f0e", "eyes_closed": "#d62728"})
        ax_perclos.plot(t, self._perclos, color="#9467bd", lw=1.4)
        ax_perclos.set_ylabel("PERCLOS")
        if not np.isfinite(self._perclos).any():  # short runs: PERCLOS needs enough of its window
            _note(ax_perclos, "not enough observed time yet for PERCLOS (fatigue.perclos_min_coverage)")
        ax_perclos.set_ylim(
            0, max(0.3, np.nanmax(self._perclos) * 1.1) if np.isfinite(self._perclos).any() else 0.3
        )
        ax_yawn.plot(t, self._yawn, color="#8c564b", lw=1.2)
        ax_yawn.set_ylim(-0.02, 1.02)
        ax_yawn.set_ylabel("P(yawn)")
        self._event_spans(ax_yawn, {"yawn": "#8c564b"})

    def _draw_emotion_and_face(self, t: np.ndarray, ax_e, ax_f) -> None:
        """The emotion window's mean probabilities with the reported emotion as a band; face presence."""
        dist = np.asarray(self._dist)
        for i, label in enumerate(self._labels):
            ax_e.plot(t, dist[:, i], color=_EMOTION_COLOURS.get(label), lw=1.2, label=label)
        for first, last, label in _runs(self._stable):
            if label is not None:
                _span(ax_e, t, first, last, ymin=0.0, ymax=0.06, color=_EMOTION_COLOURS.get(label))
        ax_e.set_ylabel("emotion\n(window)")
        ax_e.set_ylim(0, 1)
        ax_e.legend(ncol=7, fontsize=7, loc="upper center", frameon=False)
        ax_f.fill_between(t, 0, np.asarray(self._face, float), step="post", color="#444", alpha=0.6)
        for e in self._events:
            if e.kind in ("face_found", "face_lost"):
                ax_f.axvline(e.t, color="#2ca02c" if e.kind == "face_found" else "#d62728", lw=1.5)
        ax_f.set_yticks([])
        ax_f.set_ylabel("face", rotation=0, ha="right", va="center")

    def _draw_level(self, t: np.ndarray, ax_level) -> None:
        """The alert level as a coloured step line, the urgent events marked where they were raised."""
        y = np.array([_LEVEL_Y[level] for level in self._level], float)
        ax_level.step(t, y, where="post", color="#333", lw=1)
        for first, last, level in _runs(self._level):
            if level != "ok":
                _span(ax_level, t, first, last, color=_LEVEL_COLOURS[level], alpha=0.35)
        for e in self._events:
            if e.kind in ("sleep", "unresponsive"):
                ax_level.axvline(e.t, color="#111", ls="--", lw=1)
                ax_level.text(e.t, 3.0, f" {e.kind}", fontsize=7, va="top")
        ax_level.set_yticks(list(_LEVEL_Y.values()), list(_LEVEL_Y))
        ax_level.set_ylim(-1.5, 3.5)
        ax_level.set_xlabel("time (s)")

    def draw(self) -> None:
        """Write the figure."""
        plt = self._plt
        t = np.asarray(self._t)
        fig, axes = plt.subplots(
            9,
            1,
            figsize=(11, 13),
            sharex=True,
            gridspec_kw={"height_ratios": [2, 1.5, 1.2, 1.2, 1.5, 1.5, 2.5, 0.6, 1.2]},
        )
        ax_eye, ax_ear, ax_perclos, ax_yawn, ax_mouth, ax_pose, ax_e, ax_f, ax_level = axes
        self._draw_landmark_panels(t, ax_ear, ax_mouth, ax_pose)
        self._draw_fatigue_panels(t, ax_eye, ax_perclos, ax_yawn)
        self._draw_emotion_and_face(t, ax_e, ax_f)
        self._draw_level(t, ax_level)
        for ax in axes:
            ax.grid(axis="x", alpha=0.3)
        if self.title:
            fig.suptitle(self.title, fontsize=10)
        fig.tight_layout()
        try:
            fig.savefig(self.path, dpi=100)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from None
        finally:
            plt.close(fig)
