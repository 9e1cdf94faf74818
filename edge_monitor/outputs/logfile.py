"""Opening the event log: append-only, never blocking, and only onto a file that is an event log.

The event log is only ever appended to. Before the first record goes in, the existing file is
checked without changing it: it must be a regular file or a character device such as
``/dev/null`` (a FIFO without a reader would block the start) and, when not empty, look like JSON Lines (its first and last
complete lines JSON objects with a ``kind``). Anything else (a video, a text file, a binary) is
refused with :class:`NotAnEventLogError`: writing to it would damage the user's file.

A log whose last line is cut short (a run killed mid-write) is kept as it is; a newline is
appended so the new records start on a line of their own, and ``read_events`` skips the cut line.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import TextIO

from edge_monitor.errors import OutputError

log = logging.getLogger("edge_monitor.events")

PROBE_BYTES = 65_536  # a record is a few kB at most
_RECORD_START = b'{"'


class NotAnEventLogError(OutputError):
    """The path exists but is not an event log (refused, never repaired; exit 40)."""


def parse_record(raw: bytes) -> dict | None:
    """Parse one line as a JSON object; None when it is not one."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None
    return record if isinstance(record, dict) else None


def is_record(line: bytes) -> bool:
    """True when ``line`` is one JSON object with a ``kind`` (an event record)."""
    record = parse_record(line)
    return record is not None and "kind" in record


def _looks_like_log(head: bytes, tail: bytes, size: int) -> str | None:
    """None when the probed bytes look like an event log, else why not."""
    first_nl = head.find(b"\n")
    if first_nl < 0:
        if size > PROBE_BYTES:
            return f"no line break in its first {PROBE_BYTES // 1024} kB"
        return None if head.startswith(_RECORD_START) else "its only line is not a JSON record"
    first = head[:first_nl]
    if not (is_record(first) or first.startswith(_RECORD_START)):
        return "its first line is not a JSON record"
    complete = tail[: tail.rfind(b"\n")]  # up to the last line break
    last = complete[complete.rfind(b"\n") + 1 :]
    if last.strip() and not (is_record(last) or last.startswith(_RECORD_START)):
        return "its last line is not a JSON record"
    partial = tail[tail.rfind(b"\n") + 1 :]
    if partial and not partial.startswith(_RECORD_START):
        return "it ends in something that is not a JSON record"
    return None


def open_log(path: Path) -> TextIO:
    """Open ``path`` for appending after checking that it is (or can become) an event log.

    Raises:
        NotAnEventLogError: It is not a regular file, or not a JSON Lines event log.
        OSError: It cannot be opened (permissions, a missing or read-only folder, ...).
    """
    # O_NONBLOCK: opening a FIFO must not wait for a reader; O_RDWR to probe what is there.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    try:
        st = os.fstat(fd)
        # A character device (/dev/null, /dev/full) never blocks a write; a FIFO or socket can.
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise NotAnEventLogError(
                f"event log {path} is not a regular file (a FIFO, socket or block device); give a .jsonl file path"
            )
        if stat.S_ISREG(st.st_mode) and st.st_size:
            head = os.pread(fd, min(st.st_size, PROBE_BYTES), 0)
            tail_at = max(0, st.st_size - PROBE_BYTES)
            tail = os.pread(fd, st.st_size - tail_at, tail_at)
            why = _looks_like_log(head, tail, st.st_size)
            if why is not None:
                raise NotAnEventLogError(
                    f"{path} is not a JSON Lines event log ({why}); it is left untouched:"
                    " give a new file or an existing event log to --events"
                )
            if not tail.endswith(b"\n"):
                log.warning(
                    "event log %s ends in a partial line (a run was killed mid-write); kept,"
                    " new records start on the next line",
                    path,
                )
                os.write(fd, b"\n")
        os.set_blocking(fd, True)
        return open(fd, "a", encoding="utf-8", buffering=1, closefd=True)  # line-buffered
    except BaseException:
        os.close(fd)
        raise
