"""The network guard (tests/network_guard.py) refuses what leaves the machine and fails the test."""

from __future__ import annotations

import socket

import pytest

from tests.network_guard import NetworkAccessError, is_local

OUTSIDE = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never routed, so nothing leaves even if the guard fails


def refused(guard, attempt: str) -> None:
    """The guard recorded exactly ``attempt``; cleared so that this test itself passes."""
    assert guard.attempts == [attempt]
    guard.attempts.clear()


def test_a_connect_outside_raises_in_the_caller_with_the_address(network_guard):
    with pytest.raises(
        NetworkAccessError, match=r"may not reach the network \(connect to \('192\.0\.2\.1', 9\)\)"
    ):
        socket.create_connection((OUTSIDE, 9), timeout=0.5)
    refused(network_guard, f"connect to ('{OUTSIDE}', 9)")


def test_connect_ex_sendto_and_a_lookup_are_refused_too(network_guard):
    with socket.socket() as tcp, pytest.raises(NetworkAccessError):
        tcp.connect_ex((OUTSIDE, 9))
    refused(network_guard, f"connect to ('{OUTSIDE}', 9)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(NetworkAccessError):
        udp.sendto(b"x", (OUTSIDE, 9))
    refused(network_guard, f"send to ('{OUTSIDE}', 9)")
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("example.com", 443)
    refused(network_guard, "look up 'example.com'")


def test_loopback_and_unix_sockets_pass(network_guard, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=2):
                server.accept()[0].close()
    with socket.socket(socket.AF_UNIX) as listener, socket.socket(socket.AF_UNIX) as client:
        listener.bind(str(tmp_path / "s"))
        listener.listen()
        client.connect(str(tmp_path / "s"))
    assert network_guard.attempts == []


LOCAL = ["127.0.0.1", "127.8.9.1", "::1", "LOCALHOST", b"localhost"]
NOT_LOCAL = ["10.0.0.1", "0.0.0.0", "::", "localhost.example", "", None]


@pytest.mark.parametrize("host", LOCAL + NOT_LOCAL)
def test_what_counts_as_local(host):
    assert is_local(host) is (host in LOCAL)


GUARDED = 'pytest_plugins = ("tests.network_guard",)\n'


def test_an_attempt_the_code_swallowed_still_fails_the_test(pytester):
    pytester.makeconftest(GUARDED)
    pytester.makepyfile(
        f"""
        import socket, threading

        def test_retries_quietly_in_a_thread():
            def reach():
                try:
                    socket.create_connection(("{OUTSIDE}", 1883), timeout=0.5)
                except Exception:
                    pass  # as a client library's retry loop would
            t = threading.Thread(target=reach)
            t.start()
            t.join()

        def test_stays_home():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)  # the call passed; the guard's teardown did not
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_retries_quietly_in_a_thread*",
            f"*reached for the network: connect to ('{OUTSIDE}', 1883)*",
        ]
    )


def test_an_attempt_that_failed_the_call_is_reported_once(pytester):
    pytester.makeconftest(GUARDED)
    pytester.makepyfile(
        f'import socket\n\ndef test_reaches():\n    socket.create_connection(("{OUTSIDE}", 80))\n'
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NetworkAccessError: a test may not reach the network*"])


def test_no_test_carries_the_network_marker(request):
    """``network`` is registered so that none may exist: nothing in this session carries it."""
    marked = [item.nodeid for item in request.session.items if item.get_closest_marker("network")]
    assert marked == []
