"""The frame loop's side of fleet telemetry: put each event into the outbox, nothing else.

:func:`open_fleet` checks the settings and builds the outbox, the publisher (started) and the
:class:`FleetSink`. The sink never waits for the network: ``on_event`` is one SQLite commit,
``on_frame`` keeps a reference to the latest result, which the publisher thread turns into the
retained ``state`` message. No image, crop or frame is ever published.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from edge_monitor.config import FleetConfig
from edge_monitor.errors import ConfigError, FleetUnavailableError
from edge_monitor.fleet.outbox import Outbox
from edge_monitor.fleet.publisher import Credentials, Publisher, Topics
from edge_monitor.fleet.url import BrokerAddress, check_topic_part, parse_broker_url, read_password
from edge_monitor.outputs.events import json_safe
from edge_monitor.outputs.sinks import Sink
from edge_monitor.types import Event, StepResult

log = logging.getLogger("edge_monitor.fleet")

OUTBOX_NAME = "fleet-outbox.sqlite"
#: Longest a clean exit keeps publishing queued events (the service stops within 2 s of SIGTERM).
FLUSH_TIMEOUT_S = 1.0


def event_payload(event: Event, wall_time: float) -> bytes:
    """The MQTT payload of an event: its event-log record plus ``ts`` (Unix time it was queued)."""
    record = json_safe(event.to_record()) | {"ts": round(wall_time, 3)}
    return json.dumps(record, separators=(",", ":"), allow_nan=False).encode("utf-8")


class FleetSink(Sink):
    """Queues every event for the broker and offers the latest state to the publisher.

    Args:
        outbox: The durable queue (shared with ``publisher``).
        publisher: The started publisher; closed (flushing up to ``FLUSH_TIMEOUT_S``) by ``close``.
        clock: Monotonic clock (fps in the state).
        wall_clock: Unix time for each payload's ``ts``.
    """

    def __init__(
        self,
        outbox: Outbox,
        publisher: Publisher | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.publisher = publisher
        self.clock = clock
        self.wall_clock = wall_clock
        self.failed = 0
        self._warned = False
        self._latest: StepResult | None = None
        self._frames = 0
        self._fps_mark = (clock(), 0)  # only the publisher's thread reads and moves it
        self._closed = False

    def on_event(self, event: Event) -> None:
        if self._closed:
            return
        try:
            self.outbox.put(event.id, event.kind, event_payload(event, self.wall_clock()))
        except (sqlite3.Error, OSError) as exc:  # alerts never depend on the disk or the network
            self.failed += 1
            if not self._warned:
                log.warning("fleet: cannot queue events in %s: %s; monitoring goes on", self.outbox.path, exc)
                self._warned = True

    def on_frame(self, result: StepResult) -> None:
        self._latest = result
        self._frames += 1

    def state(self) -> dict | None:
        """The retained state message; None before the first frame.

        Called only from the publisher's thread. The frame loop replaces ``_latest`` and counts
        ``_frames`` meanwhile: each read is one reference (atomic), and a count one frame ahead
        of the result read just before only nudges the rate.
        """
        result = self._latest
        if result is None:
            return None
        now, frames = self.clock(), self._frames
        t0, f0 = self._fps_mark
        self._fps_mark = (now, frames)
        fps = (frames - f0) / (now - t0) if now > t0 else 0.0
        stats, driver = result.stats, result.driver
        return json_safe(
            {
                "ts": round(self.wall_clock(), 3),
                "t": round(float(result.frame.t), 3),
                "level": result.level,
                "reason": result.reason,
                "face_present": result.face_present,
                "calibrated": None if result.baseline is None else result.baseline.calibrated,
                "emotion": result.stable.label,
                "fps": round(fps, 2),
                "perclos": None if driver.perclos is None else round(driver.perclos, 4),
                "blinks": stats.blinks,
                "microsleeps": stats.microsleeps,
                "long_closures": stats.long_closures,
                "yawns": stats.yawns,
                **self.counts(),
            }
        )

    def counts(self) -> dict:
        """``published`` (this run), ``queued`` (in the outbox now), ``dropped`` (this run)."""
        published = self.publisher.published if self.publisher is not None else 0
        return {
            "published": published,
            "queued": len(self.outbox),
            "dropped": self.outbox.dropped + self.failed,
        }

    def summary_fields(self) -> dict:
        return {"fleet": self.counts()}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.publisher is not None:
                self.publisher.close(FLUSH_TIMEOUT_S)
        finally:
            self.outbox.close()


def preflight(cfg: FleetConfig, url: str) -> BrokerAddress:
    """Check what can be checked before the models load: the URL and that paho-mqtt is installed.

    Raises:
        ConfigRangeError: A bad URL.
        FleetUnavailableError: paho-mqtt is not installed.
    """
    address = parse_broker_url(url, "--mqtt" if url != cfg.url else "fleet.url")
    _require_paho()
    return address


def _require_paho() -> None:
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        raise FleetUnavailableError(
            "fleet telemetry needs paho-mqtt: pip install 'edge-monitor[fleet]' (or remove --mqtt / fleet.url)"
        ) from None


def _readable(path: str, key: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{key}: {path} does not exist or is not a file")
    return p


def _credentials(cfg: FleetConfig, address: BrokerAddress) -> Credentials:
    password = read_password(cfg.password_file, "fleet.password_file") if cfg.password_file else None
    context = None
    if address.tls:
        try:
            context = ssl.create_default_context(
                cafile=str(_readable(cfg.ca_file, "fleet.ca_file")) if cfg.ca_file else None
            )
            if cfg.client_cert:
                context.load_cert_chain(
                    _readable(cfg.client_cert, "fleet.client_cert"),
                    _readable(cfg.client_key, "fleet.client_key"),
                )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"fleet: the TLS files (ca_file, client_cert, client_key) are not usable PEM files: {exc}"
            ) from None
    elif cfg.ca_file or cfg.client_cert:
        log.warning("fleet: ca_file/client_cert are only used with mqtts://, not %s", address)
    return Credentials(cfg.username or None, password, context)


def outbox_path(cfg: FleetConfig, events_path: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """Where the outbox lives: ``fleet.outbox``, else beside the event log, else in systemd's state dir.

    Raises:
        ConfigError: None of these is set.
    """
    env = os.environ if env is None else env
    if cfg.outbox:
        return Path(cfg.outbox)
    if events_path is not None:
        return events_path.parent / OUTBOX_NAME
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0]) / OUTBOX_NAME
    raise ConfigError("fleet: set fleet.outbox (or give an event log to keep the outbox beside it)")


def open_fleet(cfg: FleetConfig, url: str, events_path: Path | None) -> FleetSink:
    """Check the fleet settings, open the outbox and start publishing in the background.

    Args:
        cfg: The ``fleet`` section.
        url: The broker URL (``--mqtt`` or ``fleet.url``).
        events_path: The event log, if any (the outbox goes beside it by default).

    Raises:
        FleetUnavailableError: paho-mqtt is not installed.
        ConfigError: A bad URL, vehicle id or credentials/TLS file.
        OutputError: The outbox cannot be opened.
    """
    address = preflight(cfg, url)
    vehicle_id = cfg.vehicle_id or socket.gethostname()
    check_topic_part(vehicle_id, "fleet.vehicle_id (the hostname)", allow_slash=False)
    credentials = _credentials(cfg, address)
    outbox = Outbox(outbox_path(cfg, events_path), int(cfg.max_outbox_mb * 1_000_000))
    if len(outbox):
        log.info("fleet: %d events from earlier runs wait in %s", len(outbox), outbox.path)
    sink = FleetSink(outbox)
    sink.publisher = Publisher(
        outbox,
        address,
        Topics(cfg.topic_prefix, vehicle_id),
        credentials,
        keepalive_s=cfg.keepalive_s,
        state_interval_s=cfg.state_interval_s,
        state=sink.state,
    )
    sink.publisher.start()
    return sink
