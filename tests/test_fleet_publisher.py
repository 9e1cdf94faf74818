"""The fleet publisher and outbox in-process, against a real mosquitto broker on 127.0.0.1.

The real :class:`Outbox` and :class:`Publisher` (paho-mqtt); settings are short (keepalive 1 s) so
the module takes seconds.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from edge_monitor.fleet.outbox import Outbox
from edge_monitor.fleet.publisher import Publisher, Topics
from edge_monitor.fleet.url import parse_broker_url
from tests.fleet_run import black_hole, wait_for
from tests.mqtt_broker import Collector

pytest.importorskip("paho.mqtt", reason="the fleet extra (paho-mqtt) is not installed")
pytestmark = pytest.mark.slow


def publisher(outbox: Outbox, url: str, keepalive_s: int = 1, **kw) -> Publisher:
    p = Publisher(
        outbox, parse_broker_url(url), Topics("edge-monitor", "car-1"), keepalive_s=keepalive_s,
        retry_initial_s=0.1, **kw,
    )  # fmt: skip
    p.start()
    return p


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
    with black_hole() as url:
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
