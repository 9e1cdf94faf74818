"""A timeline picture of a run: emotion distribution, face presence and events over time.

matplotlib is an optional dependency (``pip install edge-monitor[plot]``); it is imported only
when the picture is drawn, so the device never needs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_monitor.errors import OutputError
from edge_monitor.outputs.sinks import Sink
from edge_monitor.types import Event, StepResult

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
        self._events: list[Event] = []
        self._closed = False

    def on_event(self, event: Event) -> None:
        if event.kind in ("face_found", "face_lost", "emotion"):
            self._events.append(event)

    def on_frame(self, result: StepResult) -> None:
        if self._labels is None:
            self._labels = tuple(result.stable.distribution)
        self._t.append(result.frame.t)
        self._face.append(result.face_detected)
        self._dist.append([result.stable.distribution[k] for k in self._labels])
        self._stable.append(result.stable.label)

    def close(self) -> None:
        """Draw and write the PNG (idempotent; nothing is drawn for a run without frames)."""
        if self._closed:
            return
        self._closed = True
        if not self._t or self._labels is None:
            return
        self.draw()

    def draw(self) -> None:
        """Write the figure."""
        plt = self._plt
        t = np.asarray(self._t)
        dist = np.asarray(self._dist)
        fig, (ax_e, ax_s, ax_f) = plt.subplots(
            3, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [4, 1, 1]}
        )
        for i, label in enumerate(self._labels):
            ax_e.plot(t, dist[:, i], color=_EMOTION_COLOURS.get(label), lw=1.4, label=label)
        ax_e.set_ylabel("window mean prob.")
        ax_e.set_ylim(0, 1)
        ax_e.legend(ncol=7, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.18), frameon=False)
        for e in self._events:
            if e.kind == "emotion":
                ax_e.axvline(e.t, color=_EMOTION_COLOURS.get(e.data["emotion"]), ls=":", lw=1)
        # The reported (stable) emotion as a coloured band.
        for i, label in enumerate(self._stable):
            if label is not None:
                t1 = t[i + 1] if i + 1 < len(t) else t[i]
                ax_s.axvspan(t[i], t1, color=_EMOTION_COLOURS.get(label), lw=0)
        ax_s.set_yticks([])
        ax_s.set_ylabel("reported", rotation=0, ha="right", va="center")
        ax_f.fill_between(t, 0, np.asarray(self._face, float), step="post", color="#444", alpha=0.6)
        for e in self._events:
            if e.kind in ("face_found", "face_lost"):
                ax_f.axvline(e.t, color="#2ca02c" if e.kind == "face_found" else "#d62728", lw=1.5)
        ax_f.set_yticks([0, 1], ["no", "yes"])
        ax_f.set_ylabel("face", rotation=0, ha="right", va="center")
        ax_f.set_xlabel("time (s)")
        if self.title:
            fig.suptitle(self.title, y=0.995, fontsize=10)
        fig.tight_layout()
        try:
            fig.savefig(self.path, dpi=110)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from None
        finally:
            plt.close(fig)
