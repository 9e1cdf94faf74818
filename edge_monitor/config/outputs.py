"""Config sections of the outputs: GPIO buzzer and LED, event log, snapshots, fleet telemetry."""

from __future__ import annotations

from edge_monitor.config.fields import section, spec
from edge_monitor.levels import DRIVER_LEVELS, FAULT


@section
class GpioConfig:
    """Buzzer and LED on the Pi's GPIO header (BCM pin numbers).

    Attributes:
        mode: auto: real pins if present; on; off; mock
        buzzer_pin: BCM pin of the buzzer
        led_pin: BCM pin of the LED
        buzzer_active_high: the buzzer sounds when its pin is high
    """

    mode: str = spec("auto", choices=("auto", "on", "off", "mock"))
    buzzer_pin: int = spec(17, lo=0, hi=27)
    led_pin: int = spec(27, lo=0, hi=27)
    buzzer_active_high: bool = spec(True)


@section
class EventsConfig:
    """The JSON Lines event log.

    Attributes:
        path: event log file (appended); empty = none unless --events is given
        max_bytes: rotate the event log past this size in bytes
        keep: rotated event logs kept (events.jsonl.1 is the newest)
    """

    path: str = spec("")
    max_bytes: int = spec(10_000_000, lo=10_000, hi=10_000_000_000)
    keep: int = spec(5, lo=0, hi=100)


@section
class SnapshotsConfig:
    """Pictures of alert moments: off by default, nothing of the driver is stored (privacy).

    Attributes:
        enabled: save the frame of each alert at or above min_level
        dir: snapshot folder; empty = 'snapshots' beside the event log
        min_level: lowest alert level saved
        keep: snapshots kept; the oldest are deleted
    """

    enabled: bool = spec(False)
    dir: str = spec("")
    min_level: str = spec("alarm", choices=(*DRIVER_LEVELS[1:], FAULT))
    keep: int = spec(50, lo=1, hi=100_000)


@section
class FleetConfig:
    """Fleet telemetry: events, status and state to an MQTT broker, through a durable outbox.

    Attributes:
        url: broker: mqtt://host:port or mqtts://host:port (TLS); empty = off; --mqtt sets it
        vehicle_id: this vehicle's name in the topics; empty = the hostname
        topic_prefix: topics are <topic_prefix>/<vehicle_id>/events|status|state
        outbox: durable queue (SQLite) of unsent events; empty = fleet-outbox.sqlite beside the event log (in
            $STATE_DIRECTORY under systemd)
        max_outbox_mb: outbox bound in MB of events; past it the oldest non-alert events go first
        state_interval_s: publish the retained state this often
        username: broker user name; empty = anonymous
        password_file: file holding the broker password (first line); empty = none
        ca_file: CA certificate(s) for mqtts://; empty = the system's CAs
        client_cert: client certificate for mqtts:// (with client_key); empty = none
        client_key: private key of client_cert; empty = none
        keepalive_s: MQTT keepalive; also the longest wait for CONNACK and between reconnects
    """

    url: str = spec("")
    vehicle_id: str = spec("")
    topic_prefix: str = spec("edge-monitor")
    outbox: str = spec("")
    max_outbox_mb: float = spec(50.0, lo=0.001, hi=100_000)
    state_interval_s: float = spec(10.0, lo=0.2, hi=3600.0)
    username: str = spec("")
    password_file: str = spec("")
    ca_file: str = spec("")
    client_cert: str = spec("")
    client_key: str = spec("")
    keepalive_s: int = spec(30, lo=1, hi=3600)
