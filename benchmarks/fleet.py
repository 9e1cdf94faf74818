"""Frame rate of a replay with fleet telemetry: broker up, down and black-holed vs no MQTT.

    python -m benchmarks.fleet [--clip PATH] [--repeats 5]

Runs ``edge-monitor --video CLIP`` (fast replay, the device's code path) through its entry point
``edge_monitor.cli.main`` in this process (models loaded per run, outside the timed loop; each
run's publisher thread is closed before the next), interleaving the four cases so that a change in
the machine's load hits them alike, and reads the processing rate (``fps`` of the ``summary``
event: frames over the frame loop's wall time) and the process's CPU time per run.
The broker is a mosquitto started on a free 127.0.0.1 port; "down" is a port nobody listens on
(connection refused, retried with backoff); "black hole" is a socket that accepts TCP and never
answers CONNECT. Target: every case ≥ 0.95 of the rate without MQTT (median of the runs).

Writes ``benchmarks/results/fleet.json`` and ``benchmarks/results/fleet.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.machine import describe, write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("EDGE_MONITOR_SHARED", REPO.parent / "shared"))
DEFAULT_CLIP = SHARED / "clips/pyfeat/WolfgangLanger_Pexels.mp4"
CASES = ("none", "up", "down", "black hole")
TARGET = 0.95


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_mosquitto(folder: Path) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(binary, os.X_OK):
        raise SystemExit("mosquitto is not installed: apt-get install mosquitto")
    port = _free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("mosquitto did not start")


def _replay(clip: Path, folder: Path, url: str | None, n: int) -> dict:
    """One replay through ``edge-monitor``'s own entry point, in this process."""
    from edge_monitor import cli, service

    events = folder / f"events-{n}.jsonl"
    argv = ["--video", str(clip), "--events", str(events), "--gpio", "off", "--quiet", "--log-level", "ERROR"]
    if url is not None:
        config = folder / "fleet.yaml"
        config.write_text(f"fleet:\n  vehicle_id: bench\n  outbox: {folder / f'outbox-{n}.sqlite'}\n")
        argv += ["--config", str(config), "--mqtt", url]
    loop_cpu: list[float] = []

    class TimedRunner(service.Runner):
        """The CLI's Runner, also measuring the CPU time of the thread that runs the frame loop."""

        def run(self):
            t0 = time.thread_time()
            try:
                return super().run()
            finally:
                loop_cpu.append(time.thread_time() - t0)

    real_runner, service.Runner = service.Runner, TimedRunner  # cli imports it when it runs
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        code = cli.main(argv)
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        service.Runner = real_runner
    main_cpu_s = loop_cpu[0]
    if code != 0:
        raise SystemExit(f"edge-monitor failed with exit code {code}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads(events.read_text().splitlines()[-1])
    return {
        "fps": summary["fps"],
        "frames": summary["frames"],
        "cpu_s": cpu_s,
        "main_cpu_s": main_cpu_s,
        "fleet": summary.get("fleet"),
    }


def _replay_every_case(clip: Path, repeats: int, folder: Path) -> dict[str, list[dict]]:
    """``repeats`` rounds of the four cases (each round back to back, alternating their order)."""
    runs: dict[str, list[dict]] = {case: [] for case in CASES}
    broker, port = _start_mosquitto(folder)
    hole = socket.socket()  # a broker that accepts connections and never answers
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    urls = {
        "none": None,
        "up": f"mqtt://127.0.0.1:{port}",
        "down": f"mqtt://127.0.0.1:{_free_port()}",
        "black hole": f"mqtt://127.0.0.1:{hole.getsockname()[1]}",
    }
    try:
        n = 0
        for rep in range(repeats):
            order = CASES if rep % 2 == 0 else tuple(reversed(CASES))
            for case in order:
                n += 1
                runs[case].append(_replay(clip, folder, urls[case], n))
                print(f"{case:>10}: {runs[case][-1]['fps']:.1f} fps", file=sys.stderr)
    finally:
        hole.close()
        broker.terminate()
        broker.wait(10)
    return runs


def _case_summary(runs: list[dict], none: list[dict], base_cpu: float) -> dict:
    fps = [r["fps"] for r in runs]
    main_cpu = [r["main_cpu_s"] for r in runs]
    other_cpu = [r["cpu_s"] - r["main_cpu_s"] for r in runs]
    # Each round ran the four cases back to back: its ratio cancels the machine's load drift.
    paired = [a["fps"] / b["fps"] for a, b in zip(runs, none, strict=True)]
    return {
        "fps_runs": fps,
        "fps_median": statistics.median(fps),
        "ratio": round(statistics.median(paired), 3),
        "main_cpu_s_median": round(statistics.median(main_cpu), 3),
        "cpu_ratio": round(base_cpu / statistics.median(main_cpu), 3),
        "other_threads_cpu_s_median": round(statistics.median(other_cpu), 3),
        "fleet_last_run": runs[-1]["fleet"],
    }


def run(clip: Path, repeats: int) -> dict:
    machine = describe()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        runs = _replay_every_case(clip, repeats, Path(tmp))
    base_cpu = statistics.median(r["main_cpu_s"] for r in runs["none"])
    return {
        "benchmark": "fleet",
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "wall_s": round(time.monotonic() - started, 1),
        "clip": clip.name,
        "frames": runs["none"][0]["frames"],
        "repeats": repeats,
        "target_ratio": TARGET,
        "machine": machine,
        "cases": {case: _case_summary(runs[case], runs["none"], base_cpu) for case in CASES},
    }


def render(result: dict) -> str:
    m = result["machine"]
    base = result["cases"]["none"]["fps_runs"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items() if v)
    lines = [
        "# Fleet telemetry benchmark",
        "",
        f"Generated by `python -m benchmarks.fleet` on {result['date_utc']} UTC ({result['wall_s']:.0f} s)."
        " Raw numbers: `fleet.json`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['machine']}), {m['os']}, Python {m['python']}; {libs}."
        f" Load average before the run: {m['load_avg_1_5_15']}.",
        "",
        f"Replay of {result['clip']} ({result['frames']} frames, fast replay, in one process,"
        f" {result['repeats']} runs per case, interleaved); fps = frames / frame-loop wall time.",
        "",
        "| case | median fps | fps ratio | main-thread CPU s | CPU ratio | target | |"
        " other threads CPU s | runs (fps) | fleet counts, last run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case, c in result["cases"].items():
        worst = min(c["ratio"], c["cpu_ratio"])
        met = "–" if case == "none" else ("met" if worst >= result["target_ratio"] else "NOT met")
        target = "–" if case == "none" else f"≥ {result['target_ratio']}"
        runs = ", ".join(f"{v:.0f}" for v in c["fps_runs"])
        counts = c["fleet_last_run"]
        counts = "–" if counts is None else ", ".join(f"{k} {v}" for k, v in counts.items())
        lines.append(
            f"| {case} | {c['fps_median']:.1f} | {c['ratio']:.3f} | {c['main_cpu_s_median']:.2f}"
            f" | {c['cpu_ratio']:.3f} | {target} | {met} | {c['other_threads_cpu_s_median']:.2f} | {runs} | {counts} |"
        )
    lines += [
        "",
        "up: mosquitto on 127.0.0.1; down: nothing listens (refused, retried with backoff); black hole:"
        " a socket that accepts TCP and never answers CONNECT.",
        "",
        "fps ratio: median over the rounds of (case fps / no-MQTT fps in the same round); the rounds ran"
        " the four cases back to back, so a change in the machine's load cancels out. Main-thread CPU s:"
        " CPU time of the thread that runs the frame loop (Runner.run: first frame to the sinks' close;"
        " with fleet telemetry it includes the puts into the outbox); CPU ratio: no-MQTT / case, i.e. the frame rate the loop would keep on an idle"
        " core. Other threads CPU s: the rest of the process during the run (model loading, the fleet"
        " publisher thread), which runs on another core. The target counts as met when both ratios reach it. The counts"
        " are those of the summary event (before the summary itself is queued).",
        "",
        f"Noise: the no-MQTT runs alone ranged {min(base):.0f}–{max(base):.0f} fps (the load average is"
        " above); a wall-clock ratio is only as good as the machine is quiet, the CPU ratio less so.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    p.add_argument("--render-only", action="store_true", help="rewrite fleet.md from fleet.json")
    args = p.parse_args(argv)
    if args.render_only:
        result = json.loads((args.out_dir / "fleet.json").read_text())
        (args.out_dir / "fleet.md").write_text(render(result))
        return
    if not args.clip.exists():
        raise SystemExit(f"{args.clip} is absent (the shared data sits beside the repository)")
    result = run(args.clip, args.repeats)
    write_result(args.out_dir / "fleet.json", result)
    (args.out_dir / "fleet.md").write_text(render(result))
    print(render(result))


if __name__ == "__main__":
    main()
