"""A description of the machine a benchmark ran on, stored with every result, and the result file."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("model name", "Model", "Hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe() -> dict:
    """CPU, cores, load, OS, Python and the versions of the libraries that matter for speed."""
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "load_avg_1_5_15": load,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "libraries": {
            name: _version(name)
            for name in (
                "ai-edge-litert",
                "tflite-runtime",
                "opencv-python-headless",
                "numpy",
                "edge-monitor",
            )
        },
    }


def write_result(path: Path, result: dict) -> None:
    """Write a benchmark's result (which carries :func:`describe`) as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def write_latencies(path: Path, result: dict, timings: dict[str, dict], per: str = "") -> None:
    """Write ``result``, then print each model's median and p99 latency (``timings``: name → ms)."""
    write_result(path, result)
    for name, ms in timings.items():
        print(
            f"int8 {name}, 1 thread: median {ms['p50']:.3f} ms, p99 {ms['p99']:.3f} ms{per} ({ms['n']} runs)"
        )
    print(f"wrote {path}")
