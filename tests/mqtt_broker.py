"""A real mosquitto broker on 127.0.0.1 for the fleet tests, and a paho subscriber that collects.

``mosquitto`` comes from apt (the Makefile's dev environment installs it through
``scripts/system-deps.sh``); without it the tests skip with the reason, and fail under ``CI=true``.
The broker runs with persistence in its temporary folder, so a subscriber's persistent session
(and the QoS 1 messages queued for it) survives a broker restart: the collector sees every event
the broker accepted, whenever it connects.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

HOST = "127.0.0.1"


def mosquitto_path() -> str:
    """The mosquitto binary; skipped (failed under CI=true) when it is not installed."""
    path = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if path is None:
        msg = "mosquitto is not installed (apt-get install mosquitto; `make test` does it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {msg}")
        pytest.skip(msg)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout} s")


class Broker:
    """mosquitto on a free 127.0.0.1 port with a config of its own in ``folder``.

    Args:
        folder: Temporary folder for the config, the persistence file and the log.
        extra: Extra lines for the listener (TLS files, password file, ...).
        anonymous: ``allow_anonymous``.
    """

    def __init__(self, folder: Path, extra: str = "", anonymous: bool = True) -> None:
        self.binary = mosquitto_path()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {HOST}\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            f"persistence true\npersistence_location {folder}/\n"
            "max_queued_messages 100000\n"
            f"log_dest file {folder}/mosquitto.log\n"
            # As root, mosquitto switches to the 'mosquitto' user, who cannot write to our folder.
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            f"{extra}"
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"

    def start(self) -> Broker:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_port(self.port)
        except TimeoutError:
            self.proc.kill()
            err = self.proc.communicate()[1].decode(errors="replace")
            raise RuntimeError(f"mosquitto did not start: {err}") from None
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it (SIGTERM saves the persistent sessions; SIGKILL does not)."""
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Collector:
    """A paho subscriber with a persistent session on ``<prefix>/+/#`` at QoS 1.

    ``register()`` creates the session and leaves; the broker then queues everything for it
    (also across restarts, see :class:`Broker`). ``connect()`` receives.
    """

    def __init__(self, broker: Broker, prefix: str = "edge-monitor", **tls) -> None:
        from paho.mqtt import client as mqtt

        self.broker = broker
        self.prefix = prefix
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"collector-{id(self)}",
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        if tls:
            self.client.tls_set(**tls)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.5)

    def _on_message(self, _c, _u, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def connect(self) -> Collector:
        self._subscribed.clear()
        self.client.connect(HOST, self.broker.port, keepalive=5)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the collector could not subscribe"
        return self

    def register(self) -> Collector:
        self.connect()
        self.disconnect()
        return self

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def events(self) -> list[dict]:
        import json

        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith("/events")]

    def on(self, leaf: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t.endswith(f"/{leaf}")]

    def wait_ids(self, ids: set[str], timeout: float = 20.0) -> set[str]:
        """Wait until every id in ``ids`` arrived; the ids that did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = {e.get("id") for e in self.events()}
            if ids <= got:
                return got
            time.sleep(0.05)
        return {e.get("id") for e in self.events()}
