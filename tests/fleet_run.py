"""The fleet tests' helpers: ``edge-monitor`` with a fleet config, a broker that never answers, polling."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from edge_monitor.outputs.events import read_events
from tests.mqtt_broker import HOST

CLIP = "pyfeat/single_face.mp4"
LONG_CLIP = "pyfeat/WolfgangLanger_Pexels.mp4"


def wait_for(predicate, timeout: float = 15.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """The URL of a port that accepts TCP (the kernel completes the handshake) and never answers CONNECT."""
    with socket.socket() as hole:
        hole.bind((HOST, 0))
        hole.listen(8)
        yield f"mqtt://{HOST}:{hole.getsockname()[1]}"


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
