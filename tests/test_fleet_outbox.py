"""The fleet outbox (real SQLite files), the fleet config, event ids and the consumer's writer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from edge_monitor import errors
from edge_monitor.config import FleetConfig, parse_config
from edge_monitor.fleet.consumer import FleetWriter
from edge_monitor.fleet.outbox import Outbox
from edge_monitor.fleet.sink import FleetSink, event_payload, outbox_path
from edge_monitor.fleet.url import parse_broker_url
from edge_monitor.outputs.events import EventLog, read_events
from edge_monitor.types import Event


def payload(n: int, size: int = 100) -> bytes:
    return json.dumps({"n": n, "pad": "x" * size}).encode()


def test_put_peek_in_order_and_ack_by_seq(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", 1_000_000)
    for i in range(5):
        box.put(f"id{i}", "emotion", payload(i))
    items = box.peek(0, 3)
    assert [p.id for p in items] == ["id0", "id1", "id2"]
    assert [p.id for p in box.peek(items[-1].seq, 10)] == ["id3", "id4"]
    assert box.ack(items[1].seq) and not box.ack(items[1].seq)  # a second ack finds nothing
    assert [p.id for p in box.peek(0, 10)] == ["id0", "id2", "id3", "id4"]
    assert len(box) == 4 and box.acked == 1
    assert box.size_bytes == sum(len(p.payload) for p in box.peek(0, 10))
    box.close()
    box.close()  # idempotent


def test_outbox_is_wal_and_survives_reopen(tmp_path):
    path = tmp_path / "deep" / "o.sqlite"  # parent folders are created
    box = Outbox(path, 1_000_000)
    box.put("a", "alert", payload(1))
    box.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = Outbox(path, 1_000_000)
    assert [p.id for p in again.peek()] == ["a"] and again.size_bytes == len(payload(1))
    again.close()


def test_full_outbox_drops_oldest_non_alert_events_first_then_oldest_alerts(tmp_path):
    one = len(payload(0))
    box = Outbox(tmp_path / "o.sqlite", 4 * one)
    box.put("e1", "emotion", payload(0))
    box.put("a1", "alert", payload(0))
    box.put("e2", "face_lost", payload(0))
    box.put("a2", "alert", payload(0))
    assert box.dropped == 0
    assert box.put("e3", "emotion", payload(0)) == 1  # e1: the oldest non-alert
    assert [p.id for p in box.peek()] == ["a1", "e2", "a2", "e3"]
    box.put("a3", "alert", payload(0))  # e2 goes
    box.put("a4", "alert", payload(0))  # e3 goes
    assert [p.id for p in box.peek()] == ["a1", "a2", "a3", "a4"]
    box.put("e4", "emotion", payload(0))  # only alerts left: the oldest alert goes
    assert [p.id for p in box.peek()] == ["a2", "a3", "a4", "e4"]
    assert box.dropped == 4 and box.size_bytes <= 4 * one
    assert box.put("big", "alert", payload(0, 10 * one)) == 1  # larger than the bound: itself dropped
    assert box.dropped == 5 and len(box) == 4
    box.close()
    assert [p.id for p in Outbox(tmp_path / "o.sqlite", 4 * one).peek()] == ["a2", "a3", "a4", "e4"]


def test_committed_events_survive_sigkill(tmp_path):
    path = tmp_path / "o.sqlite"
    code = (
        "import os, signal, sys\n"
        "from edge_monitor.fleet.outbox import Outbox\n"
        f"box = Outbox({str(path)!r}, 10**6)\n"
        "for i in range(50): box.put(f'id{i}', 'emotion', b'{}')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert r.returncode == -signal.SIGKILL
    box = Outbox(path, 10**6)
    assert [p.id for p in box.peek(0, 100)] == [f"id{i}" for i in range(50)]
    box.close()


def test_unusable_outbox_file_is_an_output_error(tmp_path):
    bad = tmp_path / "o.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(errors.OutputError, match=r"fleet outbox .*fleet\.outbox"):
        Outbox(bad, 1000)


def test_sink_queues_record_with_ts_and_reports_counts(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", 10**6)
    sink = FleetSink(box, wall_clock=lambda: 1700000000.25)
    event = Event("alert", 1.5, 30, {"level": "warning", "previous": "ok", "reason": "eyes"})
    sink.on_event(event)
    (item,) = box.peek()
    assert item.id == event.id and item.kind == "alert"
    assert json.loads(item.payload) == {**event.to_record(), "ts": 1700000000.25}
    assert sink.state() is None  # no frame yet
    assert sink.summary_fields() == {"fleet": {"published": 0, "queued": 1, "dropped": 0}}
    sink.close()
    sink.on_event(event)  # after close: ignored, no error


def test_event_ids_are_unique_written_to_the_log_and_not_part_of_equality(tmp_path):
    a, b = Event("start", 0.0, 0), Event("start", 0.0, 0)
    assert a == b and a.id != b.id and len(a.id) == 36
    assert list(a.to_record())[:4] == ["t", "frame", "kind", "id"]
    with EventLog(tmp_path / "e.jsonl") as log:
        log.write(a)
    assert read_events(tmp_path / "e.jsonl")[0]["id"] == a.id
    assert json.loads(event_payload(a, 1.0))["id"] == a.id


def test_fleet_config_keys_and_checks():
    assert {f for f in FleetConfig.__dataclass_fields__} == {
        "url", "vehicle_id", "topic_prefix", "outbox", "max_outbox_mb", "state_interval_s",
        "username", "password_file", "ca_file", "client_cert", "client_key", "keepalive_s",
    }  # fmt: skip
    cfg = parse_config("fleet:\n  url: mqtts://broker.example:8884\n  vehicle_id: bus-7\n")
    assert cfg.fleet.url == "mqtts://broker.example:8884"
    with pytest.raises(errors.ConfigRangeError, match=r"fleet\.url"):
        parse_config("fleet:\n  url: http://x\n")
    with pytest.raises(errors.ConfigRangeError, match=r"fleet\.vehicle_id"):
        parse_config("fleet:\n  vehicle_id: a/b\n")
    with pytest.raises(errors.ConfigRangeError, match=r"fleet\.topic_prefix"):
        parse_config("fleet:\n  topic_prefix: fleet/#\n")
    with pytest.raises(errors.ConfigRangeError, match="client_cert and client_key"):
        parse_config("fleet:\n  client_cert: c.pem\n")
    with pytest.raises(errors.ConfigKeyError):
        parse_config("fleet:\n  broker: x\n")


def test_broker_urls():
    a = parse_broker_url("mqtt://127.0.0.1")
    assert (a.host, a.port, a.tls) == ("127.0.0.1", 1883, False)
    assert parse_broker_url("mqtts://h:9000").port == 9000 and parse_broker_url("mqtts://h").port == 8883
    for bad in ("127.0.0.1:1883", "mqtt://", "mqtt://u:p@h:1", "mqtt://h:99999", "mqtt://h/x"):
        with pytest.raises(errors.ConfigRangeError, match="--mqtt"):
            parse_broker_url(bad)


def test_outbox_default_places(tmp_path):
    cfg = FleetConfig()
    assert outbox_path(cfg, tmp_path / "e.jsonl", {}) == tmp_path / "fleet-outbox.sqlite"
    assert outbox_path(cfg, None, {"STATE_DIRECTORY": "/var/lib/edge-monitor"}).parent.name == "edge-monitor"
    assert outbox_path(FleetConfig(outbox=str(tmp_path / "x.db")), None, {}) == tmp_path / "x.db"
    with pytest.raises(errors.ConfigError, match=r"fleet\.outbox"):
        outbox_path(cfg, None, {})


def _cli(*args: str, code: str = "") -> subprocess.CompletedProcess:
    prog = code + "import sys; from edge_monitor.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-c", prog, *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_mqtt_flag_errors_are_one_line_with_their_exit_codes(tmp_path, clip):
    video = clip("pyfeat/single_face.mp4")
    r = _cli("--video", str(video), "--mqtt", "tcp://127.0.0.1:1")
    assert r.returncode == errors.ConfigRangeError.exit_code
    assert r.stderr.strip().count("\n") == 0 and "--mqtt" in r.stderr
    # Without paho-mqtt (the `fleet` extra): one line naming the extra, exit 41.
    r = _cli(
        "--video", str(video), "--mqtt", "mqtt://127.0.0.1:1", code="import sys; sys.modules['paho'] = None\n"
    )
    assert r.returncode == errors.FleetUnavailableError.exit_code, r.stderr
    assert "edge-monitor[fleet]" in r.stderr and r.stderr.strip().count("\n") == 0


def test_consumer_writer_deduplicates_by_id_across_restarts(tmp_path):
    def msg(eid: str) -> bytes:
        return json.dumps({"t": 0.0, "frame": 0, "kind": "start", "id": eid}).encode()

    w = FleetWriter(tmp_path, sys.stdout)
    assert w.message("edge-monitor/car-1/events", msg("a"), "edge-monitor")
    assert not w.message("edge-monitor/car-1/events", msg("a"), "edge-monitor")  # a redelivery
    assert w.message("edge-monitor/car-2/events", msg("b"), "edge-monitor")
    w.message("edge-monitor/car-1/status", b"online", "edge-monitor")
    w.close()
    again = FleetWriter(tmp_path, sys.stdout)  # a restarted consumer knows what it wrote
    assert not again.message("edge-monitor/car-1/events", msg("a"), "edge-monitor")
    again.close()
    car1 = read_events(tmp_path / "car-1.jsonl")
    assert [(r["vehicle_id"], r["kind"]) for r in car1] == [("car-1", "start"), ("car-1", "status")]
    assert read_events(tmp_path / "car-2.jsonl")[0]["id"] == "b"


def test_unusable_outbox_warns_and_monitoring_goes_on(tmp_path, clip):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the outbox's folder should be")
    config = tmp_path / "c.yaml"
    config.write_text(f"fleet:\n  outbox: {blocker / 'o.sqlite'}\n  vehicle_id: car-1\n")
    events = tmp_path / "e.jsonl"
    r = _cli(
        "--video", str(clip("pyfeat/single_face.mp4")), "--events", str(events), "--gpio", "off", "--quiet",
        "--config", str(config), "--mqtt", "mqtt://127.0.0.1:1",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "monitoring continues without fleet telemetry" in r.stderr
    assert read_events(events)[-1]["kind"] == "summary" and "fleet" not in read_events(events)[-1]
