"""Config sections of the outputs: GPIO buzzer and LED, event log, snapshots, fleet telemetry."""

from __future__ import annotations

from edge_monitor.config.fields import section, spec
from edge_monitor.levels import DRIVER_LEVELS, FAULT


@section
class GpioConfig:
    """Buzzer and LED on the Pi's GPIO header (BCM pin numbers)."""

    mode: str = spec(
        "auto", "auto: real pins if present; on; off; mock", choices=("auto", "on", "off", "mock")
    )
    buzzer_pin: int = spec(17, "BCM pin of the buzzer", lo=0, hi=27)
    led_pin: int = spec(27, "BCM pin of the LED", lo=0, hi=27)
    buzzer_active_high: bool = spec(True, "the buzzer sounds when its pin is high")


@section
class EventsConfig:
    """The JSON Lines event log."""

    path: str = spec("", "event log file (appended); empty = none unless --events is given")
    max_bytes: int = spec(
        10_000_000, "rotate the event log past this size in bytes", lo=10_000, hi=10_000_000_000
    )
    keep: int = spec(5, "rotated event logs kept (events.jsonl.1 is the newest)", lo=0, hi=100)


@section
class SnapshotsConfig:
    """Pictures of alert moments: off by default, nothing of the driver is stored (privacy)."""

    enabled: bool = spec(False, "save the frame of each alert at or above min_level")
    dir: str = spec("", "snapshot folder; empty = 'snapshots' beside the event log")
    min_level: str = spec("alarm", "lowest alert level saved", choices=(*DRIVER_LEVELS[1:], FAULT))
    keep: int = spec(50, "snapshots kept; the oldest are deleted", lo=1, hi=100_000)


@section
class FleetConfig:
    """Fleet telemetry: events, status and state to an MQTT broker, through a durable outbox."""

    url: str = spec("", "broker: mqtt://host:port or mqtts://host:port (TLS); empty = off; --mqtt sets it")
    vehicle_id: str = spec("", "this vehicle's name in the topics; empty = the hostname")
    topic_prefix: str = spec("edge-monitor", "topics are <topic_prefix>/<vehicle_id>/events|status|state")
    outbox: str = spec(
        "",
        "durable queue (SQLite) of unsent events; empty = fleet-outbox.sqlite beside the event log"
        " (in $STATE_DIRECTORY under systemd)",
    )
    max_outbox_mb: float = spec(
        50.0,
        "outbox bound in MB of events; past it the oldest non-alert events go first",
        lo=0.001,
        hi=100_000,
    )
    state_interval_s: float = spec(10.0, "publish the retained state this often", lo=0.2, hi=3600.0)
    username: str = spec("", "broker user name; empty = anonymous")
    password_file: str = spec("", "file holding the broker password (first line); empty = none")
    ca_file: str = spec("", "CA certificate(s) for mqtts://; empty = the system's CAs")
    client_cert: str = spec("", "client certificate for mqtts:// (with client_key); empty = none")
    client_key: str = spec("", "private key of client_cert; empty = none")
    keepalive_s: int = spec(
        30, "MQTT keepalive; also the longest wait for CONNACK and between reconnects", lo=1, hi=3600
    )
