"""systemd integration: sd_notify (READY, WATCHDOG, STATUS, STOPPING) and journald logging.

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op. Under systemd the message goes
straight to the notify socket (an ``AF_UNIX`` datagram socket; ``@name`` is the abstract
namespace), which is all sd_notify does. systemd-python's ``daemon.notify`` is not used for it: it
reads ``os.environ`` rather than the environment given, and reports a failure as ``False``
without saying why (found under ``make test-arm64``, where python3-systemd is installed as on
the Pi). Its journal handler is still used for logging.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages to the service manager.

    Args:
        env: The environment to read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` from.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET") or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        # Ping at a third of the timeout: under half, with room for one slow frame.
        self.watchdog_interval_s: float | None = int(usec) / 1e6 / 3 if watched else None
        self._sock: socket.socket | None = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when running under a service manager that listens."""
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one notification; returns whether it was sent (never raises)."""
        if not self.address:
            return False
        try:
            addr = "\0" + self.address[1:] if self.address.startswith("@") else self.address
            self._sock.sendto(message.encode(), addr)
            return True
        except OSError as exc:
            if not self._warned:  # the loop must go on; say it once
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._warned = True
            return False

    def ready(self) -> bool:
        """READY=1: the model is loaded and the first frame arrived."""
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        """WATCHDOG=1: the frame loop is alive."""
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """STATUS=...: one line for ``systemctl status``."""
        return self.notify("STATUS=" + text.replace("\n", " "))

    def stopping(self) -> bool:
        """STOPPING=1: shutting down."""
        return self.notify("STOPPING=1")

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self.address = None


def under_systemd(env: Mapping[str, str] | None = None) -> bool:
    """True when stderr is connected to the journal (systemd sets ``JOURNAL_STREAM``)."""
    env = os.environ if env is None else env
    return bool(env.get("JOURNAL_STREAM") or env.get("INVOCATION_ID"))


def setup_logging(level: str, env: Mapping[str, str] | None = None) -> str:
    """Log to journald (with fields) under systemd when systemd-python is present, else to stderr.

    Returns:
        ``"journald"`` or ``"stderr"``.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if under_systemd(env):
        try:
            from systemd.journal import JournalHandler

            # Upper-case attributes of a record (EDGE_MONITOR_KIND, ...) become journal fields.
            root.handlers[:] = [JournalHandler(SYSLOG_IDENTIFIER="edge-monitor")]
            return "journald"
        except ImportError:
            pass  # stderr reaches the journal anyway, without the structured fields
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    return "stderr"
