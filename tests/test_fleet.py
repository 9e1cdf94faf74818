"""Fleet telemetry against a real mosquitto broker on 127.0.0.1 (started and stopped by the tests).

In-process cases drive the real :class:`Outbox` and :class:`Publisher` (paho-mqtt); end-to-end
cases run the ``edge-monitor`` command on a shared clip and compare the broker's events with the
JSON Lines log by id. Settings are short (keepalive 1-2 s) so the whole module takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_monitor.fleet.outbox import Outbox
from edge_monitor.fleet.publisher import Publisher, Topics
from edge_monitor.fleet.url import parse_broker_url
from edge_monitor.outputs.events import read_events
from tests.mqtt_broker import HOST, Broker, Collector, free_port, mosquitto_path

pytest.importorskip("paho.mqtt", reason="the fleet extra (paho-mqtt) is not installed")
pytestmark = pytest.mark.slow

CLIP = "pyfeat/single_face.mp4"
LONG_CLIP = "pyfeat/WolfgangLanger_Pexels.mp4"


@pytest.fixture
def broker(tmp_path):
    mosquitto_path()
    b = Broker(tmp_path / "broker")
    yield b
    b.stop(signal.SIGKILL)


def publisher(outbox: Outbox, url: str, keepalive_s: int = 1, **kw) -> Publisher:
    p = Publisher(
        outbox, parse_broker_url(url), Topics("edge-monitor", "car-1"), keepalive_s=keepalive_s,
        retry_initial_s=0.1, **kw,
    )  # fmt: skip
    p.start()
    return p


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def fleet_config(tmp_path: Path, **fleet) -> Path:
    """A config file with a fleet section (short keepalive and state interval)."""
    settings = {"vehicle_id": "car-1", "keepalive_s": 2, "state_interval_s": 0.5, **fleet}
    lines = ["fleet:"] + [f"  {k}: {json.dumps(v)}" for k, v in settings.items()]
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(tmp_path: Path, video: Path, *extra: str, events: str = "e.jsonl", popen: bool = False, **fleet):
    args = [
        sys.executable, "-m", "edge_monitor", "--video", str(video), "--events", str(tmp_path / events),
        "--gpio", "off", "--quiet", "--config", str(fleet_config(tmp_path, **fleet)), *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if popen:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)


def fleet_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "fleet" in line]


def ids(path: Path) -> list[str]:
    return [r["id"] for r in read_events(path)]


# --- in-process: the publisher and the outbox ---------------------------------------------------


def test_broker_down_at_start_then_up_delivers_in_order_in_the_same_run(tmp_path, broker):
    broker.start()
    collector = Collector(broker).register()
    broker.stop()  # the collector's session is saved; nothing listens now
    box = Outbox(tmp_path / "o.sqlite", 10**6)
    pub = publisher(box, broker.url)
    sent = [f"id{i}" for i in range(30)]
    for eid in sent:
        box.put(eid, "emotion", json.dumps({"id": eid}).encode())
    assert wait_for(lambda: pub.last_error is not None)
    assert "refused" in pub.last_error and len(box) == 30 and pub.published == 0
    broker.start()
    assert wait_for(lambda: len(box) == 0), pub.last_error
    pub.close()
    box.close()
    collector.connect()
    assert wait_for(lambda: len(collector.events()) >= 30)
    assert [e["id"] for e in collector.events()] == sent  # in order, each once
    assert pub.published == 30
    collector.disconnect()


def test_broker_killed_and_restarted_mid_stream_loses_nothing(tmp_path, broker):
    broker.start()
    collector = Collector(broker).register()
    broker.restart()  # SIGTERM saves the collector's session: a SIGKILLed broker restores it
    collector.connect()  # live until the kill, then queued for it by the restarted broker
    box = Outbox(tmp_path / "o.sqlite", 10**6)
    pub = publisher(box, broker.url)
    assert wait_for(lambda: pub.connected)
    sent = []
    for i in range(150):  # 3 s of events at 50 per second; the broker is away for the middle second
        if i == 40:
            broker.stop(signal.SIGKILL)
        if i == 90:
            broker.start()
        eid = f"id{i}"
        box.put(eid, "alert", json.dumps({"id": eid}).encode())
        sent.append(eid)
        time.sleep(0.02)
    assert wait_for(lambda: len(box) == 0), pub.last_error
    assert pub.connections >= 2 and pub.published >= 150 and box.dropped == 0
    pub.close()
    box.close()
    assert collector.wait_ids(set(sent)) >= set(sent)
    got = [e["id"] for e in collector.events()]
    assert sorted(set(got), key=got.index) == sent  # first deliveries in order; repeats only as QoS 1 allows
    collector.disconnect()


def test_black_hole_broker_times_out_connect_and_close_does_not_hang(tmp_path):
    hole = socket.socket()
    hole.bind((HOST, 0))
    hole.listen(8)  # accepts TCP (the kernel completes the handshake) and never answers CONNECT
    url = f"mqtt://{HOST}:{hole.getsockname()[1]}"
    box = Outbox(tmp_path / "o.sqlite", 10**6)
    pub = publisher(box, url, keepalive_s=1)
    box.put("a", "alert", b"{}")
    assert wait_for(lambda: pub.last_error is not None, timeout=10)
    assert "no answer to CONNECT within 1 s" in pub.last_error
    assert not pub.connected and len(box) == 1
    t0 = time.monotonic()
    pub.close(flush_timeout_s=0.5)
    assert time.monotonic() - t0 < 3.0
    box.close()
    hole.close()


# --- end to end: the edge-monitor command ---------------------------------------------------------


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


def test_wrong_credentials_one_line_and_the_events_wait(tmp_path, clip):
    mosquitto_path()
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.access(passwd, os.X_OK):
        pytest.skip("mosquitto_passwd is not installed (apt-get install mosquitto)")
    folder = tmp_path / "broker"
    folder.mkdir()
    subprocess.run([passwd, "-b", "-c", str(folder / "passwd"), "car-1", "right"], check=True, timeout=30)
    broker = Broker(folder, extra=f"password_file {folder / 'passwd'}\n", anonymous=False).start()
    try:

        def attempt(secret):
            (tmp_path / secret).write_text(secret + "\n")
            return run_cli(
                tmp_path,
                clip(CLIP),
                "--mqtt",
                broker.url,
                username="car-1",
                password_file=str(tmp_path / secret),
            )

        bad = attempt("wrong")
        assert bad.returncode == 0, bad.stderr
        (line,) = fleet_lines(bad.stderr)
        assert "refused" in line and "fleet.password_file" in line
        assert read_events(tmp_path / "e.jsonl")[-1]["fleet"]["published"] == 0
        good = attempt("right")
        assert good.returncode == 0 and not fleet_lines(good.stderr), good.stderr
        records = read_events(tmp_path / "e.jsonl")
        assert records[-1]["fleet"]["published"] >= len(records) // 2  # the first run's events too
        outbox = Outbox(tmp_path / "fleet-outbox.sqlite", 10**6)
        assert len(outbox) == 0
        outbox.close()
    finally:
        broker.stop(signal.SIGKILL)


# A P-256 key, unencrypted (much faster to make than RSA).
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> None:
    _openssl("req", "-x509", *EC_KEY, "-days", "2", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)  # fmt: skip


def test_tls_with_the_right_ca_delivers_and_a_wrong_ca_is_one_line(tmp_path, clip):
    mosquitto_path()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (apt-get install openssl)")
    certs = tmp_path / "certs"
    certs.mkdir()
    make_ca(certs, "test-ca")
    make_ca(certs, "other-ca")
    _openssl("req", *EC_KEY, "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr",
             cwd=certs)  # fmt: skip
    (certs / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "test-ca.pem", "-CAkey", "test-ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=certs)  # fmt: skip
    os.chmod(certs / "server.key", 0o644)  # mosquitto may read it as another user
    tls = f"cafile {certs / 'test-ca.pem'}\ncertfile {certs / 'server.pem'}\nkeyfile {certs / 'server.key'}\n"
    broker = Broker(tmp_path / "broker", extra=tls).start()
    try:
        url = f"mqtts://{HOST}:{broker.port}"
        collector = Collector(broker, ca_certs=str(certs / "test-ca.pem")).connect()
        ok = run_cli(tmp_path, clip(CLIP), "--mqtt", url, ca_file=str(certs / "test-ca.pem"))
        assert ok.returncode == 0 and not fleet_lines(ok.stderr), ok.stderr
        logged = set(ids(tmp_path / "e.jsonl"))
        assert collector.wait_ids(logged) >= logged
        wrong = run_cli(
            tmp_path, clip(CLIP), "--mqtt", url, ca_file=str(certs / "other-ca.pem"), events="w.jsonl"
        )
        assert wrong.returncode == 0, wrong.stderr
        (line,) = fleet_lines(wrong.stderr)
        assert "certificate verify failed" in line and "fleet.ca_file" in line
        records = read_events(tmp_path / "w.jsonl")
        assert records[-1]["kind"] == "summary" and records[-1]["frames"] > 0  # monitoring went on
        assert not {r["id"] for r in records} & {e["id"] for e in collector.events()}
        plain = run_cli(tmp_path, clip(CLIP), "--mqtt", broker.url, events="p.jsonl")  # mqtt:// to a TLS port
        assert plain.returncode == 0, plain.stderr
        assert len(fleet_lines(plain.stderr)) == 1
        collector.disconnect()
    finally:
        broker.stop(signal.SIGKILL)


def test_black_hole_broker_changes_neither_frames_nor_events(tmp_path, clip):
    hole = socket.socket()
    hole.bind((HOST, 0))
    hole.listen(8)
    url = f"mqtt://{HOST}:{hole.getsockname()[1]}"
    with_hole = run_cli(tmp_path, clip(CLIP), "--mqtt", url, events="h.jsonl", keepalive_s=1)
    without = subprocess.run(
        [sys.executable, "-m", "edge_monitor", "--video", str(clip(CLIP)), "--events", str(tmp_path / "n.jsonl"),
         "--gpio", "off", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    hole.close()
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
    assert box.size_bytes <= 1000 and set(alerts) <= set(kept)  # the alerts outlived older events
    assert len(kept) < len(records)  # the rest was dropped (counted: the summary counts those before it)
    assert records[-1]["fleet"]["dropped"] <= len(records) - len(kept)
    assert kept == [e["id"] for e in records if e["id"] in kept]  # still in order
