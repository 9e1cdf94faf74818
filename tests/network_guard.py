"""No test reaches the network: a pytest plugin that allows only loopback and Unix sockets.

The whole session runs with ``socket.socket.connect``, ``connect_ex`` and ``sendto`` and
``socket.getaddrinfo`` wrapped: an address other than 127.0.0.0/8, ::1 or ``localhost`` (or a
Unix socket) raises :class:`NetworkAccessError` in the code that tried, and the test fails even
when that code swallowed the error (a retry loop, a background thread). Subprocesses are not
covered: they have sockets of their own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

LOCAL_NAMES = frozenset({"localhost"})
CALL_REPORT = pytest.StashKey[pytest.TestReport]()


class NetworkAccessError(RuntimeError):
    """A test tried to reach beyond the machine (not an OSError, so no retry loop swallows it)."""


def _text(host: object) -> str | None:
    if isinstance(host, bytes):
        return host.decode("ascii", "replace")
    return host if isinstance(host, str) else None


def is_address(host: object) -> bool:
    """Whether ``host`` is an IP address literal (no lookup needed)."""
    try:
        ipaddress.ip_address((_text(host) or "").split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_local(host: object) -> bool:
    """Whether ``host`` (a name or an address literal) stays on this machine."""
    text = _text(host)
    if text is None:
        return False
    if text.lower() in LOCAL_NAMES:
        return True
    return is_address(text) and ipaddress.ip_address(text.split("%", 1)[0]).is_loopback


class Guard:
    """The wrappers of one test; ``attempts`` lists what was refused, in order."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def refuse(self, attempt: str) -> None:
        """Record ``attempt`` and raise in the code that made it."""
        self.attempts.append(attempt)
        raise NetworkAccessError(
            f"a test may not reach the network ({attempt}): only 127.0.0.1, ::1, localhost and Unix sockets"
        )

    def check(self, family: int, address: object, how: str) -> None:
        """Refuse ``address`` unless it is a Unix socket or local."""
        host = address[0] if isinstance(address, tuple) and address else address
        if family != socket.AF_UNIX and not is_local(host):
            self.refuse(f"{how} {address!r}")

    def check_lookup(self, host: object) -> None:
        """Refuse a name lookup (DNS); an address literal is left for ``connect`` to judge."""
        if host is not None and not is_local(host) and not is_address(host):
            self.refuse(f"look up {host!r}")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Wrap the socket calls until ``monkeypatch`` undoes them."""
        connect, connect_ex, sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
        getaddrinfo = socket.getaddrinfo

        def guarded_connect(sock, address):
            self.check(sock.family, address, "connect to")
            return connect(sock, address)

        def guarded_connect_ex(sock, address):
            self.check(sock.family, address, "connect to")
            return connect_ex(sock, address)

        def guarded_sendto(sock, data, *rest):
            self.check(sock.family, rest[-1], "send to")
            return sendto(sock, data, *rest)

        def guarded_getaddrinfo(host, *args, **kwargs):
            self.check_lookup(host)
            return getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", guarded_connect)
        monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
        monkeypatch.setattr(socket.socket, "sendto", guarded_sendto)
        monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep the call's report on the item: the guard fails a test only if the call itself passed."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


@pytest.fixture(scope="session", autouse=True)
def network_guard_installed() -> Iterator[Guard]:
    """The wrappers, from before the first fixture (session-scoped ones too) to the end."""
    guard = Guard()
    with pytest.MonkeyPatch.context() as monkeypatch:
        guard.install(monkeypatch)
        yield guard


@pytest.fixture(autouse=True)
def network_guard(request: pytest.FixtureRequest, network_guard_installed: Guard) -> Iterator[Guard]:
    """Every test: a refused address fails it, even where the code that tried caught the error.

    Attempts made while a module or session fixture was set up for this test count for it too.
    """
    guard = network_guard_installed
    yield guard
    attempts, guard.attempts[:] = guard.attempts[:], []
    report = request.node.stash.get(CALL_REPORT, None)
    if attempts and (report is None or report.passed):
        pytest.fail("the test reached for the network: " + "; ".join(attempts), pytrace=False)
