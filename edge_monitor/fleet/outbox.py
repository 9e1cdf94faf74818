"""The durable outbox: events waiting for the broker's PUBACK, in SQLite (WAL mode).

An event is committed here before it is published and deleted only when the broker has
acknowledged it, so a SIGKILL or a broker outage loses nothing: the next connection (or
the next run) publishes what is left, oldest first. Durability follows the event log's: every
commit reaches the operating system at once (survives a SIGKILL), and an alert's commit is
``fsync``-ed (``synchronous=FULL``), which makes it and everything queued before it survive a
power cut; other events are not fsync-ed one by one (a few milliseconds each on an SD card,
spent in the frame loop).

The outbox is bounded by the total size of its payloads. When a new event does not fit, the
oldest non-alert events are dropped first, then the oldest alerts, and the drops are counted.

One :class:`Outbox` may be used from two threads (the frame loop puts, the publisher peeks
and acks); each thread gets its own SQLite connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from edge_monitor.errors import OutputError
from edge_monitor.types import URGENT_KINDS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_drop ON outbox (priority, seq);
"""

#: Event kinds kept longest when the outbox is full.
PRIORITY_KINDS = frozenset({"alert"}) | URGENT_KINDS  # alerts, sleep and unresponsive: fsync-ed, dropped last


def _totals(db: sqlite3.Connection) -> tuple[int, int]:
    """The queued payloads' total size and count, read from the file."""
    return db.execute("SELECT COALESCE(SUM(LENGTH(payload)), 0), COUNT(*) FROM outbox").fetchone()


@dataclass(frozen=True)
class Pending:
    """One queued event.

    Attributes:
        seq: Position in the outbox (increasing; publication order).
        id: The event's id.
        kind: The event kind.
        payload: The JSON bytes published.
    """

    seq: int
    id: str
    kind: str
    payload: bytes


class Outbox:
    """A bounded, durable FIFO of event payloads.

    Args:
        path: The SQLite file (created with its parent folders).
        max_bytes: Bound on the sum of the payload sizes.

    Attributes:
        dropped: Events this process dropped to stay under ``max_bytes``.
        acked: Events this process removed on acknowledgement.

    Raises:
        OutputError: The file cannot be created or is not an outbox database.
    """

    def __init__(self, path: str | Path, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.dropped = 0
        self.acked = 0
        self._local = threading.local()
        self._lock = threading.Lock()  # size bookkeeping and drops are read-modify-write
        self._closed = False
        self._connections: list[sqlite3.Connection] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._db()
            db.executescript(_SCHEMA)
            self._size, self._count = _totals(db)
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise OutputError(
                f"cannot open the fleet outbox {self.path}: {exc}; set fleet.outbox to a writable file"
            ) from None

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives a crash; put() syncs alerts
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @property
    def size_bytes(self) -> int:
        """Sum of the queued payload sizes."""
        return self._size

    def __len__(self) -> int:
        return self._count

    def put(self, event_id: str, kind: str, payload: bytes) -> int:
        """Queue one event, dropping older ones if it does not fit; returns how many were dropped.

        An event larger than the whole bound is dropped itself (counted).
        """
        size = len(payload)
        priority = 1 if kind in PRIORITY_KINDS else 0
        with self._lock:
            if size > self.max_bytes:
                self.dropped += 1
                return 1
            db = self._db()
            dropped = 0
            if priority:  # an alert's commit is fsync-ed, like in the event log
                db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")
            try:
                while self._size + size > self.max_bytes:
                    row = db.execute(
                        "SELECT seq, LENGTH(payload) FROM outbox ORDER BY priority, seq LIMIT 1"
                    ).fetchone()
                    if row is None:  # only reachable if the file was changed behind our back
                        break
                    db.execute("DELETE FROM outbox WHERE seq = ?", (row[0],))
                    self._size -= row[1]
                    self._count -= 1
                    dropped += 1
                db.execute(
                    "INSERT INTO outbox (id, kind, priority, payload) VALUES (?, ?, ?, ?)",
                    (event_id, kind, priority, payload),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._size, self._count = _totals(db)
                raise
            finally:
                if priority:
                    db.execute("PRAGMA synchronous=NORMAL")
            self._size += size
            self._count += 1
            self.dropped += dropped
            return dropped

    def peek(self, after_seq: int = 0, limit: int = 20) -> list[Pending]:
        """The oldest queued events with ``seq`` above ``after_seq``, in order."""
        rows = (
            self._db()
            .execute(
                "SELECT seq, id, kind, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
            .fetchall()
        )
        return [Pending(seq, eid, kind, bytes(payload)) for seq, eid, kind, payload in rows]

    def ack(self, seq: int) -> bool:
        """Remove an acknowledged event; False when it is no longer there (dropped meanwhile)."""
        with self._lock:
            db = self._db()
            row = db.execute("SELECT LENGTH(payload) FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._size -= row[0]
            self._count -= 1
            self.acked += 1
            return True

    def close(self) -> None:
        """Close every thread's connection (idempotent)."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._closed = True
        for db in connections:
            with contextlib.suppress(sqlite3.Error):
                db.close()
