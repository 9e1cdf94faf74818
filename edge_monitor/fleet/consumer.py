"""``edge-monitor-fleet``: subscribe to a broker and write the fleet's events as JSON Lines.

The reference for what a fleet backend receives. Each line is one event with ``vehicle_id``
added (``--out DIR``: one file per vehicle, ``DIR/<vehicle_id>.jsonl``, appended; default:
stdout). Events are de-duplicated by ``id`` (QoS 1 may deliver one twice, and the outbox
resends what was not acknowledged); the ids already in the output files count as seen, so a
restarted consumer does not write them again. ``--status`` also writes the vehicles' status
and state messages (``kind`` ``status`` / ``state``).

With ``--client-id`` the consumer keeps a persistent session: the broker queues the events
published while it is away (QoS 1) and delivers them when it comes back.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from edge_monitor.errors import EdgeMonitorError, FleetUnavailableError
from edge_monitor.fleet.url import BrokerAddress, check_topic_part, parse_broker_url, read_password
from edge_monitor.outputs.events import read_events


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(
        prog="edge-monitor-fleet",
        description="Subscribe to the fleet's MQTT broker and write every vehicle's events as JSON Lines.",
    )
    p.add_argument("url", metavar="URL", help="the broker: mqtt://host:port or mqtts://host:port")
    p.add_argument("--topic-prefix", default="edge-monitor", help="the vehicles' fleet.topic_prefix")
    p.add_argument("--vehicle", default="+", help="only this vehicle id (default: all)")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="append to DIR/<vehicle_id>.jsonl (default: stdout)"
    )
    p.add_argument("--status", action="store_true", help="also write status and state messages")
    p.add_argument("--client-id", help="keep a persistent session under this id (events queue while away)")
    p.add_argument("--username", help="broker user name")
    p.add_argument("--password-file", type=Path, help="file holding the broker password (first line)")
    p.add_argument("--ca-file", type=Path, help="CA certificate(s) for mqtts://")
    p.add_argument("--max-events", type=int, metavar="N", help="exit after N new events")
    p.add_argument("--timeout", type=float, metavar="S", help="exit after S seconds")
    return p


class FleetWriter:
    """Writes received messages as JSON Lines, one event per ``id``.

    Args:
        out: Folder of per-vehicle files, or None for ``stream``.
        stream: Where lines go without ``out``.
    """

    def __init__(self, out: Path | None, stream: TextIO) -> None:
        self.out = out
        self.stream = stream
        self.seen: set[str] = set()
        self.new_events = 0
        self.duplicates = 0
        self._files: dict[str, TextIO] = {}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for path in sorted(out.glob("*.jsonl")):
                self.seen.update(str(r["id"]) for r in read_events(path) if "id" in r)

    def _write(self, vehicle: str, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        if self.out is None:
            self.stream.write(line)
            self.stream.flush()
            return
        fh = self._files.get(vehicle)
        if fh is None:
            fh = self._files[vehicle] = open(self.out / f"{vehicle}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        fh.write(line)
        fh.flush()

    def message(self, topic: str, payload: bytes, prefix: str) -> bool:
        """Handle one message; True when it was a new event."""
        parts = topic[len(prefix) + 1 :].split("/")
        if len(parts) != 2:
            return False
        vehicle, leaf = parts
        if leaf == "events":
            try:
                record = json.loads(payload)
            except ValueError:
                print(f"edge-monitor-fleet: {topic}: not JSON, skipped", file=sys.stderr)
                return False
            if not isinstance(record, dict):
                return False
            eid = str(record.get("id", ""))
            if eid and eid in self.seen:
                self.duplicates += 1
                return False
            self.seen.add(eid)
            self._write(vehicle, {"vehicle_id": vehicle, **record})
            self.new_events += 1
            return True
        if leaf == "status":
            self._write(
                vehicle,
                {"vehicle_id": vehicle, "kind": "status", "status": payload.decode("utf-8", "replace")},
            )
        elif leaf == "state":
            try:
                state = json.loads(payload)
            except ValueError:
                return False
            self._write(vehicle, {"vehicle_id": vehicle, "kind": "state", **state})
        return False

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()


def make_client(args: argparse.Namespace, address: BrokerAddress) -> Any:
    """A paho client for ``args`` (session, credentials, TLS), not connected yet.

    Raises:
        FleetUnavailableError: paho-mqtt is not installed.
        ConfigError: The password file cannot be read.
    """
    try:
        from paho.mqtt import client as mqtt
    except ImportError:
        raise FleetUnavailableError(
            "edge-monitor-fleet needs paho-mqtt: pip install 'edge-monitor[fleet]'"
        ) from None
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=args.client_id or "",
        protocol=mqtt.MQTTv311,
        clean_session=args.client_id is None,
    )
    if args.username:
        client.username_pw_set(
            args.username,
            read_password(args.password_file, "--password-file") if args.password_file else None,
        )
    if address.tls:
        client.tls_set(ca_certs=str(args.ca_file) if args.ca_file else None)
    client.reconnect_delay_set(0.5, 10)
    return client


def _subscribe_and_write(
    client: Any, args: argparse.Namespace, address: BrokerAddress, writer: FleetWriter
) -> threading.Event:
    """Wire the callbacks: subscribe on each connection, write each message; the event is set at ``--max-events``."""
    done = threading.Event()
    leaves = ("events", "status", "state") if args.status else ("events",)
    topics = [(f"{args.topic_prefix}/{args.vehicle}/{leaf}", 1) for leaf in leaves]

    def on_connect(c, _u, _f, reason_code, _p):
        if reason_code.is_failure:
            print(
                f"edge-monitor-fleet: {address}: the broker refused the connection: {reason_code}",
                file=sys.stderr,
            )
            return
        c.subscribe(topics)

    def on_message(_c, _u, msg):
        new = writer.message(msg.topic, msg.payload, args.topic_prefix)
        if new and args.max_events and writer.new_events >= args.max_events:
            done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    return done


def _wait(done: threading.Event, timeout: float | None) -> None:
    """Until ``done``, ``timeout`` seconds or Ctrl-C."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with contextlib.suppress(KeyboardInterrupt):
        while not done.wait(0.1):
            if deadline is not None and time.monotonic() >= deadline:
                break


def run(args: argparse.Namespace) -> int:
    """Subscribe and write until interrupted, ``--max-events`` or ``--timeout``."""
    address = parse_broker_url(args.url, "URL")
    check_topic_part(args.topic_prefix, "--topic-prefix", allow_slash=True)
    if args.vehicle != "+":
        check_topic_part(args.vehicle, "--vehicle", allow_slash=False)
    client = make_client(args, address)
    writer = FleetWriter(args.out, sys.stdout)
    done = _subscribe_and_write(client, args, address, writer)
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise EdgeMonitorError(f"cannot connect to {address}: {exc}; is the broker running?") from None
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    client.loop_start()
    try:
        _wait(done, args.timeout)
    finally:
        signal.signal(signal.SIGTERM, previous)
        client.disconnect()
        client.loop_stop()
        writer.close()
    print(
        f"edge-monitor-fleet: {writer.new_events} events, {writer.duplicates} duplicates skipped",
        file=sys.stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``edge-monitor-fleet``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except EdgeMonitorError as exc:
        print(f"edge-monitor-fleet: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
