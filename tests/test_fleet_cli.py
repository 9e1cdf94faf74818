"""Fleet telemetry end to end: the ``edge-monitor`` command on a shared clip, a real mosquitto broker.

The broker's events are compared with the JSON Lines log by id; the broker goes down, is killed and
restarts, or never answers; the depot's consumer writes each vehicle's events once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from edge_monitor.fleet.outbox import PRIORITY_KINDS, Outbox
from edge_monitor.outputs.events import read_events
from tests.fleet_run import CLIP, LONG_CLIP, black_hole, fleet_lines, ids, run_cli, wait_for
from tests.mqtt_broker import HOST, Collector, free_port

pytest.importorskip("paho.mqtt", reason="the fleet extra (paho-mqtt) is not installed")
pytestmark = pytest.mark.slow


def test_replay_delivers_every_event_of_the_log_with_status_and_state(tmp_path, broker, clip):
    broker.start()
    collector = Collector(broker).connect()
    r = run_cli(tmp_path, clip(CLIP), "--mqtt", broker.url)
    assert r.returncode == 0, r.stderr
    assert not fleet_lines(r.stderr), r.stderr
    records = read_events(tmp_path / "e.jsonl")
    assert all(r["id"] for r in records) and len({r["id"] for r in records}) == len(records)
    assert collector.wait_ids({r["id"] for r in records}) >= {r["id"] for r in records}
    got = {e["id"]: e for e in collector.events()}
    for record in records:  # the payload is the log's record plus the time it was queued
        sent = dict(got[record["id"]])
        assert isinstance(sent.pop("ts"), float)
        assert sent == record
    assert [e["id"] for e in collector.events()] == [r["id"] for r in records]  # in order
    summary = records[-1]
    assert summary["fleet"]["dropped"] == 0
    assert summary["fleet"]["published"] + summary["fleet"]["queued"] == len(records) - 1
    assert wait_for(lambda: b"offline" in collector.on("status"))
    assert collector.on("status")[0] == b"online"
    assert any(json.loads(p)["fps"] > 0 for p in collector.on("state"))  # frames/s since the previous state
    collector.disconnect()
    # A newcomer gets the retained status and the last state.
    late = Collector(broker).connect()
    assert wait_for(lambda: late.on("state") and late.on("status"))
    assert late.on("status") == [b"offline"]
    state = json.loads(late.on("state")[-1])
    assert state["level"] == "ok" and state["face_present"] is True and state["t"] > 2.0  # the run's end
    assert {"emotion", "blinks", "microsleeps", "yawns", "published", "queued", "dropped"} <= set(state)
    assert not any(k in state for k in ("frame", "image", "crop"))  # no pictures leave the car
    late.disconnect()
    outbox = Outbox(tmp_path / "fleet-outbox.sqlite", 10**6)  # beside the event log by default
    assert len(outbox) == 0
    outbox.close()


def test_broker_down_then_the_next_run_delivers_both_runs(tmp_path, broker, clip):
    broker.start()
    collector = Collector(broker).register()
    broker.stop()
    first = run_cli(tmp_path, clip(CLIP), "--mqtt", broker.url)
    assert first.returncode == 0, first.stderr
    (line,) = fleet_lines(first.stderr)  # one line, not one per retry
    assert "connection refused" in line and "retrying" in line
    records = read_events(tmp_path / "e.jsonl")
    assert records[-1]["kind"] == "summary" and records[-1]["frames"] > 0  # monitoring went on
    assert records[-1]["fleet"]["published"] == 0 and records[-1]["fleet"]["queued"] == len(records) - 1
    broker.start()
    second = run_cli(tmp_path, clip(CLIP), "--mqtt", broker.url, "--max-frames", "5")
    assert second.returncode == 0, second.stderr
    all_ids = ids(tmp_path / "e.jsonl")
    collector.connect()
    assert collector.wait_ids(set(all_ids)) >= set(all_ids)
    assert [e["id"] for e in collector.events()][: len(records)] == [r["id"] for r in records]
    collector.disconnect()


def test_broker_killed_mid_run_and_restarted_the_run_delivers_everything(tmp_path, broker, clip):
    broker.start()
    collector = Collector(broker).register()
    broker.restart()  # saves the collector's session for the restarted broker
    collector.connect()
    log = tmp_path / "e.jsonl"
    # keepalive 1 s: retries at most ~1.2 s apart, well before the run ends (5 s of clip time)
    proc = run_cli(
        tmp_path,
        clip(LONG_CLIP),
        "--realtime",
        "--max-frames",
        "120",
        "--mqtt",
        broker.url,
        popen=True,
        keepalive_s=1,
    )
    assert wait_for(
        lambda: log.exists() and any(r["kind"] == "emotion" for r in read_events(log)), timeout=60
    )
    broker.stop(signal.SIGKILL)  # at 0.5 s of clip time; the alert at 2.0 s comes while it is away
    time.sleep(2.0)
    broker.start()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert any("connection lost" in line or "refused" in line for line in fleet_lines(stderr)), stderr
    logged = ids(log)
    assert collector.wait_ids(set(logged)) >= set(logged)
    collector.disconnect()


def test_sigkill_mid_run_then_a_new_run_delivers_every_logged_event(tmp_path, broker, clip):
    broker.start()
    collector = Collector(broker).register()
    broker.stop()
    log = tmp_path / "e.jsonl"
    proc = run_cli(tmp_path, clip(LONG_CLIP), "--realtime", popen=True, url=broker.url)  # fleet.url
    assert wait_for(lambda: log.exists() and len(read_events(log)) >= 4, timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    killed = ids(log)
    assert read_events(log)[-1]["kind"] != "summary"
    broker.start()
    r = run_cli(tmp_path, clip(CLIP), "--max-frames", "5", url=broker.url)
    assert r.returncode == 0, r.stderr
    everything = ids(log)
    collector.connect()
    assert collector.wait_ids(set(everything)) >= set(everything)
    got = [e["id"] for e in collector.events()]
    assert got[: len(killed)] == killed  # the killed run's events first, in order
    collector.disconnect()


def test_black_hole_broker_changes_neither_frames_nor_events(tmp_path, clip):
    with black_hole() as url:
        with_hole = run_cli(tmp_path, clip(CLIP), "--mqtt", url, events="h.jsonl", keepalive_s=1)
    without = subprocess.run(
        [sys.executable, "-m", "edge_monitor", "--video", str(clip(CLIP)), "--events", str(tmp_path / "n.jsonl"),
         "--gpio", "off", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert with_hole.returncode == 0 and without.returncode == 0, with_hole.stderr
    (line,) = fleet_lines(with_hole.stderr)  # the timeout, or the exit came first
    assert "no answer to CONNECT within 1 s" in line or "still waiting for CONNACK at exit" in line

    def strip(records: list[dict]) -> list[dict]:
        ignore = ("id", "wall_s", "fps", "fleet", "config")
        return [{k: v for k, v in r.items() if k not in ignore} for r in records]

    assert strip(read_events(tmp_path / "h.jsonl")) == strip(read_events(tmp_path / "n.jsonl"))


def test_consumer_writes_each_vehicles_events_once(tmp_path, broker, clip):
    broker.start()
    out = tmp_path / "fleet"
    consumer = [sys.executable, "-m", "edge_monitor.fleet.consumer", broker.url, "--out", str(out)]
    consumer += ["--client-id", "depot-1", "--status"]
    # A first short session registers the consumer; the broker queues for it while it is away.
    r = subprocess.run([*consumer, "--timeout", "0.5"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    run = run_cli(tmp_path, clip(CLIP), "--mqtt", broker.url)
    assert run.returncode == 0, run.stderr
    logged = read_events(tmp_path / "e.jsonl")
    r = subprocess.run(
        [*consumer, "--max-events", str(len(logged)), "--timeout", "30"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    written = read_events(out / "car-1.jsonl")
    events = [w for w in written if w["kind"] not in ("status", "state")]
    assert [e["id"] for e in events] == [e["id"] for e in logged]
    assert all(e["vehicle_id"] == "car-1" for e in written)
    assert {w["kind"] for w in written} >= {"status", "state"}


def test_full_outbox_drops_non_alert_events_first_and_counts_them(tmp_path, clip):
    refused = f"mqtt://{HOST}:{free_port()}"  # nothing listens: every event stays in the outbox
    r = run_cli(tmp_path, clip(LONG_CLIP), "--mqtt", refused, "--max-frames", "150", max_outbox_mb=0.001)
    assert r.returncode == 0, r.stderr
    records = read_events(tmp_path / "e.jsonl")
    alerts = [e["id"] for e in records if e["kind"] == "alert"]
    assert alerts, "the first 150 frames of the clip raise an alert"
    assert records[-1]["fleet"]["published"] == 0
    assert sum(len(json.dumps(r)) for r in records) > 1000  # more than the outbox holds
    box = Outbox(tmp_path / "fleet-outbox.sqlite", 1000)
    kept = [p.id for p in box.peek(0, 100)]
    box.close()
    assert box.size_bytes <= 1000
    # Non-alert events go first: an alert (or sleep, unresponsive) is only dropped once every
    # older non-alert event is gone. Which alerts fit depends on the events' sizes, this does not.
    for n, record in enumerate(records):
        if record["kind"] in PRIORITY_KINDS and record["id"] not in kept:
            older = [e["id"] for e in records[:n] if e["kind"] not in PRIORITY_KINDS]
            assert not set(older) & set(kept), f"{record['kind']} dropped before older non-alert events"
    assert set(kept) & {e["id"] for e in records if e["kind"] in PRIORITY_KINDS}
    assert len(kept) < len(records)  # the rest was dropped (counted: the summary counts those before it)
    assert records[-1]["fleet"]["dropped"] <= len(records) - len(kept)
    assert kept == [e["id"] for e in records if e["id"] in kept]  # still in order
