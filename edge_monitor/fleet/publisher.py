"""The publisher: a background thread that owns the paho-mqtt client and drains the outbox.

The frame loop never touches the network: it only puts events into the :class:`Outbox`. This
thread connects (a fresh client per connection, with ``offline`` as the retained last will),
publishes ``online``, sends the queued events in order at QoS 1 (a window of at most
``WINDOW`` unacknowledged), deletes each from the outbox on its PUBACK, publishes the retained
state every ``state_interval_s``, and on any failure (refused, dropped, no CONNACK within
``keepalive_s``, TLS verification) drops the connection and retries with exponential backoff.
Unacknowledged events stay in the outbox and are sent again on the next connection, so a
consumer sees each event at least once (de-duplicate by ``id``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_monitor.fleet.outbox import Outbox
from edge_monitor.fleet.url import BrokerAddress

log = logging.getLogger("edge_monitor.fleet")

#: Most events published and not yet acknowledged at once.
WINDOW = 20
#: How long one ``loop()`` call may wait for network activity (bounds the thread's reaction time).
POLL_S = 0.1


@dataclass(frozen=True)
class Topics:
    """The topics of one vehicle: ``<prefix>/<vehicle_id>/events|status|state``."""

    prefix: str
    vehicle_id: str

    def _topic(self, leaf: str) -> str:
        return f"{self.prefix}/{self.vehicle_id}/{leaf}"

    @property
    def events(self) -> str:
        """Each event as its JSON object, QoS 1."""
        return self._topic("events")

    @property
    def status(self) -> str:
        """``online`` / ``offline``, retained (``offline`` is also the last will)."""
        return self._topic("status")

    @property
    def state(self) -> str:
        """The current state as a JSON object, retained, every ``state_interval_s``."""
        return self._topic("state")


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: user name and password, and the TLS context for ``mqtts://``."""

    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None


class Publisher:
    """Publishes the outbox to one broker from its own thread.

    Args:
        outbox: Where the events wait.
        address: The broker.
        topics: This vehicle's topics.
        credentials: User, password and TLS context.
        keepalive_s: MQTT keepalive; also the longest wait for CONNACK and between retries.
        state_interval_s: Period of the retained state message.
        state: Called from this thread for the state payload (a JSON-serialisable dict), or None.
        retry_initial_s: First wait after a failed connection (doubles up to ``keepalive_s``).
        clock: Monotonic clock.

    Attributes:
        published: Events acknowledged by the broker (this process).
        connected: Whether a connection is up (CONNACK accepted).
        last_error: The last connection problem, one line, or None.
    """

    def __init__(
        self,
        outbox: Outbox,
        address: BrokerAddress,
        topics: Topics,
        credentials: Credentials | None = None,
        keepalive_s: int = 30,
        state_interval_s: float = 10.0,
        state: Callable[[], dict | None] | None = None,
        retry_initial_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from paho.mqtt import client as mqtt  # the `fleet` extra; checked by the caller first

        self._mqtt = mqtt
        self.outbox = outbox
        self.address = address
        self.topics = topics
        self.credentials = credentials or Credentials()
        self.keepalive_s = int(keepalive_s)
        self.state_interval_s = float(state_interval_s)
        self._state = state
        self.retry_initial_s = min(float(retry_initial_s), float(keepalive_s))
        self.retry_max_s = float(keepalive_s)
        self.clock = clock
        self.published = 0
        self.connected = False
        self.last_error: str | None = None
        self.connections = 0
        self._client: Any = None
        self._connect_started = 0.0
        self._next_attempt = 0.0
        self._backoff = self.retry_initial_s
        self._inflight: dict[int, int] = {}  # paho message id -> outbox seq
        self._sent_upto = 0
        self._next_state = 0.0
        self._stop = threading.Event()
        self._flush_deadline = 0.0
        self._reported: str | None = None
        self._refused: str | None = None
        self._thread = threading.Thread(target=self._run, name="fleet-publisher", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (returns at once; connecting happens in the background)."""
        self._thread.start()

    def close(self, flush_timeout_s: float = 1.0) -> None:
        """Stop: finish a connection under way and publish queued events for up to ``flush_timeout_s``, publish
        ``offline``, disconnect. What is not acknowledged by then stays in the outbox. Idempotent.
        """
        if not self._stop.is_set():
            self._flush_deadline = self.clock() + flush_timeout_s
            self._stop.set()
        if self._thread.is_alive():
            # A connect() blocked on an unreachable host returns within keepalive_s; never wait that long.
            self._thread.join(flush_timeout_s + 1.0)

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            now = self.clock()
            if self._stop.is_set() and (
                # Stopping: finish a connection under way and send what is queued, until the deadline.
                self._client is None or now >= self._flush_deadline or (self.connected and self._drained())
            ):
                break
            try:
                if self._client is None:
                    if self._stop.is_set():
                        break
                    if now < self._next_attempt:
                        self._stop.wait(min(self._next_attempt - now, POLL_S * 4))
                        continue
                    self._connect()
                else:
                    self._step(now)
            except Exception as exc:  # telemetry must never take the process down
                log.debug("fleet: publisher step failed", exc_info=True)
                self._fail(f"unexpected {type(exc).__name__}: {exc}")
        try:
            self._say_goodbye()
        except Exception:
            log.debug("fleet: goodbye failed", exc_info=True)
            self._discard()

    def _drained(self) -> bool:
        return not self._inflight and not self.outbox.peek(self._sent_upto, 1)

    def _step(self, now: float) -> None:
        rc = self._client.loop(timeout=POLL_S)
        if self._refused is not None:  # set by a callback; the socket is closed here, outside paho
            reason, self._refused = self._refused, None
            self._fail(reason)
            return
        if rc != self._mqtt.MQTT_ERR_SUCCESS:
            self._fail(f"connection lost ({self._mqtt.error_string(rc)})")
            return
        if not self.connected:
            if now - self._connect_started > self.keepalive_s:
                self._fail(f"no answer to CONNECT within {self.keepalive_s} s")
            return
        self._publish_pending()
        if now >= self._next_state and self._publish_state():
            self._next_state = now + self.state_interval_s

    def _connect(self) -> None:
        mqtt = self._mqtt
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"edge-monitor-{self.topics.vehicle_id}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.connect_timeout = float(self.keepalive_s)
        client.will_set(self.topics.status, "offline", qos=1, retain=True)
        if self.credentials.username is not None:
            client.username_pw_set(self.credentials.username, self.credentials.password)
        if self.credentials.tls is not None:
            client.tls_set_context(self.credentials.tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        self._connect_started = self.clock()
        try:
            client.connect(self.address.host, self.address.port, keepalive=self.keepalive_s)
        except (OSError, ValueError) as exc:
            self._fail(_describe(exc))

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if client is not self._client:
            return
        if reason_code.is_failure:
            hint = ""
            if reason_code.value in (0x04, 0x05, 0x86, 0x87):  # bad user name or password, not authorized
                hint = "; check fleet.username and fleet.password_file"
            self._refused = f"the broker refused the connection: {reason_code}{hint}"
            return
        self.connected = True
        self.connections += 1
        self._backoff = self.retry_initial_s
        self._inflight.clear()
        self._sent_upto = 0
        self._next_state = 0.0
        client.publish(self.topics.status, "online", qos=1, retain=True)
        if self._reported is not None or self.connections == 1:
            log.info("fleet: connected to %s", self.address)
        self._reported = None
        self.last_error = None

    def _on_disconnect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if client is not self._client or self._refused is not None:
            return
        if self.connected:
            self._refused = f"connection lost ({reason_code})"
        elif "keep alive" in str(reason_code).lower():
            self._refused = f"no answer to CONNECT within {self.keepalive_s} s"
        else:
            self._refused = f"the broker closed the connection before answering CONNECT ({reason_code})"

    def _on_publish(self, client, _userdata, mid, _reason_code, _properties) -> None:
        if client is not self._client:
            return
        seq = self._inflight.pop(mid, None)
        if seq is not None:
            self.outbox.ack(seq)
            self.published += 1

    def _publish_pending(self) -> None:
        room = WINDOW - len(self._inflight)
        if room <= 0 or len(self.outbox) <= len(self._inflight):  # nothing new: skip the query
            return
        for item in self.outbox.peek(self._sent_upto, room):
            info = self._client.publish(self.topics.events, item.payload, qos=1)
            if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
                self._fail(f"publish failed ({self._mqtt.error_string(info.rc)})")
                return
            self._inflight[info.mid] = item.seq
            self._sent_upto = item.seq

    def _publish_state(self) -> bool:
        """Publish the retained state; False when there is none yet (no frame processed)."""
        payload = self._state() if self._state is not None else None
        if payload is None:
            return False
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        self._client.publish(self.topics.state, body, qos=1, retain=True)
        return True

    def _fail(self, reason: str) -> None:
        """Drop the connection and schedule the next attempt; report each new problem once."""
        self._discard()
        self.last_error = reason
        delay = self._backoff * random.uniform(0.8, 1.2)  # spread a fleet's reconnects
        self._next_attempt = self.clock() + delay
        self._backoff = min(self._backoff * 2, self.retry_max_s)
        if reason != self._reported:
            log.warning(
                "fleet: %s: %s; events wait in the outbox (%d queued), retrying",
                self.address,
                reason,
                len(self.outbox),
            )
            self._reported = reason

    def _discard(self) -> None:
        client, self._client = self._client, None
        self.connected = False
        self._refused = None
        self._inflight.clear()
        if client is not None:
            sock = client.socket()
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def _say_goodbye(self) -> None:
        """Publish the retained ``offline`` (a clean DISCONNECT suppresses the will), then disconnect."""
        client = self._client
        if client is None or not self.connected:
            if self._reported is None and len(self.outbox):  # say once why events are left over
                state = "still waiting for CONNACK" if client is not None else "not connected"
                log.warning(
                    "fleet: %s: %s at exit; %d events wait in the outbox for the next run",
                    self.address,
                    state,
                    len(self.outbox),
                )
            self._discard()
            return
        self._publish_state()  # the last word on the run's state, then offline
        info = client.publish(self.topics.status, "offline", qos=1, retain=True)
        deadline = self.clock() + 0.5
        while not info.is_published() and self.clock() < deadline and self._client is not None:
            if client.loop(timeout=POLL_S) != self._mqtt.MQTT_ERR_SUCCESS:
                break
        if self._client is not None:
            client.disconnect()
            client.loop(timeout=POLL_S)
        self._discard()


def _describe(exc: BaseException) -> str:
    """One line for a connection failure, with what to check."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason
        return f"TLS certificate verify failed ({detail}); check fleet.ca_file (it must hold the broker's CA)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}; check that the broker speaks TLS on this port (mqtts://)"
    if isinstance(exc, TimeoutError | ssl.SSLZeroReturnError):
        return "no answer (timed out)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
