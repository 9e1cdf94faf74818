"""Broker URLs (``mqtt://host:port``, ``mqtts://host:port``), MQTT topic names and the password file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from edge_monitor.errors import ConfigError, ConfigRangeError

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is.

    Attributes:
        host: Host name or IP address.
        port: TCP port.
        tls: True for ``mqtts://``.
    """

    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str, what: str = "--mqtt") -> BrokerAddress:
    """Parse ``mqtt://host[:port]`` or ``mqtts://host[:port]``.

    Args:
        url: The URL.
        what: The option or key named in the error.

    Raises:
        ConfigRangeError: Not such a URL (credentials in it are refused: they belong in files).
    """
    fix = "use mqtt://HOST:PORT or mqtts://HOST:PORT"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigRangeError(f"{what}: {url!r} is not a broker URL ({exc}); {fix}") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigRangeError(f"{what}: {url!r} is not a broker URL; {fix}")
    if parts.username or parts.password:
        raise ConfigRangeError(
            f"{what}: {url!r} holds credentials; put them in fleet.username and fleet.password_file"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigRangeError(f"{what}: {url!r} has a path or query; {fix}")
    return BrokerAddress(parts.hostname, port or DEFAULT_PORTS[parts.scheme], parts.scheme == "mqtts")


def check_topic_part(value: str, what: str, *, allow_slash: bool) -> None:
    """Refuse a topic prefix or vehicle id an MQTT topic cannot hold.

    Raises:
        ConfigRangeError: Empty, a wildcard (``+``, ``#``), a NUL, an empty level, or a ``/``
            where levels are not allowed.
    """
    bad = not value or any(c in value for c in "+#\0")
    levels = value.split("/")
    if not allow_slash and len(levels) > 1:
        bad = True
    if any(level == "" for level in levels):
        bad = True
    if bad:
        slash = "levels separated by '/', " if allow_slash else "no '/', "
        raise ConfigRangeError(
            f"{what}: {value!r} cannot be part of an MQTT topic; use letters, digits, '-', '_' ({slash}no '+' or '#')"
        )


def read_password(path: str | Path, what: str) -> str:
    """The broker password: the first line of ``path`` (the daemon's ``fleet.password_file``, the
    consumer's ``--password-file``; ``what`` names it in the error).

    Raises:
        ConfigError: The file is missing, unreadable, not UTF-8 text, or empty.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc}; give a readable UTF-8 text file") from None
    if not lines:
        raise ConfigError(f"{what}: {path} is empty; put the broker password on its first line")
    return lines[0]
