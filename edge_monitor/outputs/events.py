"""The JSON Lines event log: one event per line, appended, flushed as it happens.

Each record is written with a single ``write`` call and flushed at once, so a crash or
SIGKILL leaves at most a partial last line, which ``read_events`` skips; the next run keeps it
and starts its records on a new line (the log is only ever appended to, see ``logfile``). Alerts are
also ``fsync``-ed: they survive a power cut. The file rotates by size (``events.jsonl.1``, ...).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any, Self, TextIO

import numpy as np

from edge_monitor.errors import OutputError
from edge_monitor.outputs.logfile import NotAnEventLogError, open_log, parse_record
from edge_monitor.types import URGENT_KINDS, Event

logger = logging.getLogger("edge_monitor.events")


def json_safe(value: Any) -> Any:
    """Return ``value`` with every NaN/inf float replaced by None, recursively.

    NumPy scalars and arrays become plain Python values, so the result dumps as strict
    JSON (``allow_nan=False``) whenever the input was otherwise JSON-serialisable.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


class EventLog:
    """Appends events to a JSON Lines file.

    Earlier contents are kept: a second run on the same path appends to the first. Write
    failures (disk full, ...) never stop the run: the first one logs a warning and the
    events are counted in ``dropped``, because alerts must not depend on the disk.

    Attributes:
        dropped: Number of events not written: their write failed or came after ``close``.
    """

    def __init__(
        self,
        path: str | Path,
        max_bytes: int = 0,
        keep: int = 5,
        sync_kinds: Collection[str] = ("alert", *sorted(URGENT_KINDS)),
    ) -> None:
        """Open ``path`` for appending, creating its parent directories.

        Args:
            path: The log file.
            max_bytes: Rotate when the file grows past this size (0: never).
            keep: Rotated files kept (``path.1`` is the newest).
            sync_kinds: Event kinds ``fsync``-ed to the disk as soon as they are written (alerts and
                the urgent kinds, ``sleep`` and ``unresponsive``).

        Raises:
            NotAnEventLogError: The path is not a regular file or not an event log (it is left untouched).
            OutputError: The file cannot be opened.
        """
        self._path = Path(path)
        self._max_bytes = max_bytes
        self._keep = keep
        self._sync_kinds = frozenset(sync_kinds)
        self.dropped = 0
        self.rotations = 0
        self._warned = False
        self._fh: TextIO | None = None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except NotAnEventLogError:  # an OutputError, so an OSError too: pass it on unwrapped
            raise
        except OSError as e:
            raise OutputError(
                f"cannot open event log {self._path}: {e.strerror or e}; choose a writable file path"
            ) from e

    def _open(self) -> None:
        self._fh = open_log(self._path)  # line-buffered: every record reaches the OS at once

    def _rotate(self) -> None:
        self._fh.close()
        self._fh = None
        for i in range(self._keep - 1, 0, -1):
            older = self._path.with_name(f"{self._path.name}.{i}")
            if older.exists():
                older.replace(self._path.with_name(f"{self._path.name}.{i + 1}"))
        if self._keep > 0:
            self._path.replace(self._path.with_name(f"{self._path.name}.1"))
        else:
            self._path.unlink()
        self.rotations += 1
        self._open()

    @property
    def path(self) -> Path:
        """Path of the event log file."""
        return self._path

    def write(self, event: Event) -> None:
        """Append ``event`` as one JSON line and flush it.

        Never raises for I/O problems: failed writes and writes after ``close`` are
        counted in ``dropped``.
        """
        if self._fh is None:
            self.dropped += 1
            return
        line = json.dumps(json_safe(event.to_record()), separators=(",", ":"), allow_nan=False) + "\n"
        try:
            self._fh.write(line)
            self._fh.flush()
            if event.kind in self._sync_kinds:
                os.fsync(self._fh.fileno())
            if self._max_bytes and self._fh.tell() >= self._max_bytes:
                self._rotate()
        except OSError as e:
            self.dropped += 1
            self._warn(e)

    def close(self) -> None:
        """Close the file; calling it again does nothing."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            fh.close()
        except OSError as e:
            # A failed final flush (disk still full) must not turn shutdown into a crash.
            self._warn(e)

    def _warn(self, error: OSError) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "cannot write event log %s (%s); further events will be dropped", self._path, error
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: str | Path) -> list[dict]:
    """Read a JSON Lines event log.

    Blank lines are skipped, and so is an unparseable line that is the last one or is followed
    by a ``start`` record: that is what a run killed in the middle of a write leaves behind.

    Args:
        path: The event log file.

    Returns:
        The records in file order.

    Raises:
        OSError: The file cannot be read.
        ValueError: Another line is not a JSON object (names the line number).
    """
    lines = [(n, raw) for n, raw in enumerate(Path(path).read_bytes().split(b"\n"), start=1) if raw.strip()]
    records: list[dict] = []
    for i, (lineno, raw) in enumerate(lines):
        record = parse_record(raw)
        if record is None:
            following = parse_record(lines[i + 1][1]) if i + 1 < len(lines) else None
            if i == len(lines) - 1 or (following or {}).get("kind") == "start":
                continue  # the partial line a killed run leaves
            raise ValueError(f"{path}: line {lineno} is not a valid JSON object; the event log is corrupt")
        records.append(record)
    return records
