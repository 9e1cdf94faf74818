"""Fleet telemetry's credentials and TLS against a real mosquitto broker (password file, own CAs)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge_monitor.fleet.outbox import Outbox
from edge_monitor.outputs.events import read_events
from tests.fleet_run import CLIP, fleet_lines, ids, run_cli
from tests.mqtt_broker import HOST, Broker, Collector, mosquitto_path

pytest.importorskip("paho.mqtt", reason="the fleet extra (paho-mqtt) is not installed")
pytestmark = pytest.mark.slow


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


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read"),  # missing: the message carries the OS's reason
        (b"", "is empty; put the broker password on its first line"),
        (b"\xff\xfe\x00secret\n", "give a readable UTF-8 text file"),  # a binary file
    ],
)
def test_a_bad_password_file_is_one_line_and_exit_10_for_the_daemon_and_the_consumer(
    tmp_path, clip, content, says
):
    """Both programs read the password file the same way (``fleet.url.read_password``)."""
    secret = tmp_path / "secret"
    if content is not None:
        secret.write_bytes(content)
    daemon = run_cli(
        tmp_path, clip(CLIP), "--mqtt", "mqtt://127.0.0.1:1", username="car-1", password_file=str(secret)
    )
    consumer = subprocess.run(
        [sys.executable, "-m", "edge_monitor.fleet.consumer", "mqtt://127.0.0.1:1", "--out",
         str(tmp_path / "depot"), "--username", "depot", "--password-file", str(secret)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    for run, key in ((daemon, "fleet.password_file"), (consumer, "--password-file")):
        assert run.returncode == 10, run.stderr
        (line,) = run.stderr.strip().splitlines()
        assert key in line and says in line and str(secret) in line
    assert not (tmp_path / "e.jsonl").exists() or read_events(tmp_path / "e.jsonl") == []
