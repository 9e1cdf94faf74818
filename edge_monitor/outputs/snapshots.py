"""Snapshots of alert moments — off by default (privacy: EU GSR 2019/2144 Art. 6).

Driver-monitoring images stay in the car and are not kept: edge-monitor writes no frame, crop or
video unless ``snapshots.enabled: true``. When enabled, the frame of each alert at or above
``snapshots.min_level`` is saved as a JPEG in ``snapshots.dir`` and only the newest
``snapshots.keep`` files are kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from edge_monitor.errors import OutputError
from edge_monitor.levels import RANK
from edge_monitor.outputs.sinks import Sink
from edge_monitor.types import StepResult

log = logging.getLogger(__name__)


class SnapshotSink(Sink):
    """Saves the frame of each qualifying alert and prunes old snapshots.

    Args:
        directory: Where the JPEGs go (created, mode 0700).
        min_level: The lowest alert level that is saved.
        keep: How many snapshots are kept (oldest deleted first).

    Raises:
        OutputError: The directory cannot be created.
    """

    def __init__(self, directory: str | Path, min_level: str, keep: int) -> None:
        self.directory = Path(directory)
        self._min_rank = RANK[min_level]
        self._keep = keep
        self.saved = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise OutputError(f"cannot create the snapshot folder {self.directory}: {exc.strerror}") from None

    def on_frame(self, result: StepResult) -> None:
        for event in result.events:
            if event.kind == "alert" and RANK[event.data["level"]] >= self._min_rank:
                name = f"{event.t:010.3f}s_frame{event.frame:07d}_{event.data['level']}.jpg"
                path = self.directory / name
                if cv2.imwrite(str(path), result.frame.bgr):
                    self.saved += 1
                    self._prune()
                else:  # a full disk must not stop the monitor
                    log.warning("cannot write snapshot %s", path)
                break

    def _prune(self) -> None:
        files = sorted(self.directory.glob("*.jpg"), key=lambda p: p.stat().st_mtime_ns)
        for old in files[: max(0, len(files) - self._keep)]:
            old.unlink(missing_ok=True)
