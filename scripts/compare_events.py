#!/usr/bin/env python3
"""Compare two event logs of the same replay (e.g. x86 and arm64 under qemu); exit 1 if they differ.

    scripts/compare_events.py REFERENCE.jsonl CANDIDATE.jsonl
    scripts/compare_events.py --transcode CLIP COPY.mkv    (needs OpenCV: run it with a venv's python)

Every event must be identical, field by field and in order, except what depends on the machine
rather than on the clip and the models:

- ``id`` of every event (a random id given to each event, unique per run);
- ``summary``: ``wall_s`` and ``fps`` (wall-clock time of the run and the processing rate);
- ``start``: ``model`` and ``source`` are compared by file name (the checkout and the installed
  package live in different directories);
- with ``--tolerances FILE`` (written by ``scripts/float_sensitivity.py`` on the same clip), the
  numbers measured from the float face models (``FLOAT_DERIVED``: the calibration's ratios and
  angles, the summary's attentive share) may differ by as much as that file measured when those
  models' outputs move within their parity tolerance; every other field stays exact.

Comparing needs only the standard library (scripts/test-arm64.sh runs it on /usr/bin/python3).

``--transcode`` writes CLIP's frames, as this machine's OpenCV decodes them, losslessly (FFV1) to
COPY and checks that they read back unchanged. Replaying the copy on two machines feeds both the
same pixels: FFmpeg's YUV-to-BGR conversion of an H.264 clip differs by 1-2 levels between its
x86 and arm64 code, although the decoded YUV planes are identical (docs/arm64.md).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

WALL_CLOCK = {"summary": ("wall_s", "fps")}
PATHS = {"start": ("model", "source")}
_CALIBRATION = ("ear", "mouth_open", "mouth_width", "yaw_deg", "pitch_deg")
FLOAT_DERIVED = {
    "calibrated": _CALIBRATION,
    "summary": ("attentive_pct", *(f"calibration.{k}" for k in _CALIBRATION)),
}


def _within(reference: dict, candidate: dict, tolerances: dict[str, float]) -> dict:
    """``candidate`` with each float-derived number replaced by the reference's where they differ
    by no more than its tolerance (``kind.field`` -> largest allowed difference)."""
    kind = candidate.get("kind")
    if kind != reference.get("kind"):
        return candidate
    out = json.loads(json.dumps(candidate))
    for path in FLOAT_DERIVED.get(kind, ()):
        *parents, key = path.split(".")
        a, b = reference, out
        for part in parents:
            a, b = a.get(part, {}), b.get(part, {})
        x, y = a.get(key), b.get(key)
        numbers = isinstance(x, int | float) and isinstance(y, int | float)
        if numbers and abs(x - y) <= tolerances.get(f"{kind}.{path}", 0.0) + 1e-12:
            b[key] = x
    return out


def normalize(event: dict) -> dict:
    """The event without its wall-clock fields and with its paths reduced to file names."""
    kind = event.get("kind")
    out = {k: v for k, v in event.items() if k != "id" and k not in WALL_CLOCK.get(kind, ())}
    for key in PATHS.get(kind, ()):
        if isinstance(out.get(key), str):
            out[key] = re.sub(r"\S*/", "", out[key])
    return out


def load(path: Path) -> list[dict]:
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not JSON ({exc})") from None
    kinds = [e.get("kind") for e in events]
    if not kinds or kinds[0] != "start" or kinds[-1] != "summary":
        raise SystemExit(f"{path}: not a complete run (first {kinds[:1]}, last {kinds[-1:]})")
    if events[-1].get("stopped_by") != "end":
        raise SystemExit(
            f"{path}: the run stopped by {events[-1].get('stopped_by')!r}, not at the clip's end"
        )
    return events


def compare(
    reference: list[dict], candidate: list[dict], tolerances: dict[str, float] | None = None
) -> list[str]:
    """Diff lines of the normalized logs; empty when they match (float-derived numbers within
    ``tolerances``, see the module's docstring)."""
    if tolerances is not None:
        candidate = [
            _within(r, c, tolerances) for r, c in zip(reference, candidate, strict=False)
        ] + candidate[len(reference) :]
    a = [json.dumps(normalize(e), sort_keys=True) for e in reference]
    b = [json.dumps(normalize(e), sort_keys=True) for e in candidate]
    return [] if a == b else list(difflib.unified_diff(a, b, "reference", "candidate", lineterm=""))


def _frames(cap) -> Iterator:
    while True:
        ok, bgr = cap.read()
        if not ok or bgr is None:
            return
        yield bgr


def transcode(clip: Path, dest: Path) -> int:
    """Write ``clip``'s decoded frames losslessly (FFV1 in Matroska) to ``dest``; the frame count."""
    import cv2  # only this mode needs OpenCV

    cap = cv2.VideoCapture(str(clip))
    if not cap.isOpened():
        raise SystemExit(f"{clip}: OpenCV cannot open it")
    fps = cap.get(cv2.CAP_PROP_FPS)
    partial = dest.with_name(dest.name + ".partial.mkv")
    writer, n = None, 0
    for bgr in _frames(cap):
        if writer is None:
            h, w = bgr.shape[:2]
            writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
            if not writer.isOpened():
                raise SystemExit("this OpenCV cannot write FFV1")
        writer.write(bgr)
        n += 1
    cap.release()
    if writer is None:
        raise SystemExit(f"{clip}: no frame could be decoded")
    writer.release()
    # Lossless means every frame reads back identical.
    original, copy = cv2.VideoCapture(str(clip)), cv2.VideoCapture(str(partial))
    same = sum(1 for a, b in zip(_frames(original), _frames(copy), strict=True) if (a == b).all())
    original.release()
    copy.release()
    if same != n:
        partial.unlink()
        raise SystemExit(f"{partial}: only {same} of {n} frames read back identical")
    partial.replace(dest)
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "reference", type=Path, help="events of the reference run (or the clip, with --transcode)"
    )
    parser.add_argument(
        "candidate", type=Path, help="events of the other run (or the copy, with --transcode)"
    )
    parser.add_argument("--transcode", action="store_true", help="write a lossless copy of a clip instead")
    parser.add_argument(
        "--tolerances",
        type=Path,
        help="scripts/float_sensitivity.py's result for this clip: how far float-derived numbers may differ",
    )
    args = parser.parse_args(argv)
    if args.transcode:
        n = transcode(args.reference, args.candidate)
        print(f"wrote {args.candidate}: {n} frames, identical to {args.reference} as decoded here")
        return 0
    reference, candidate = load(args.reference), load(args.candidate)
    tolerances = None
    if args.tolerances:
        try:
            tolerances = json.loads(args.tolerances.read_text(encoding="utf-8"))["moved"]
        except (OSError, ValueError, KeyError) as exc:
            raise SystemExit(f"{args.tolerances}: not a float_sensitivity result ({exc})") from None
    diff = compare(reference, candidate, tolerances)
    if diff:
        print(f"events differ: {args.reference} vs {args.candidate}", file=sys.stderr)
        print("\n".join(diff), file=sys.stderr)
        return 1
    counts = Counter(e["kind"] for e in reference if e["kind"] not in ("start", "summary"))
    ignored = ", ".join(f"{kind}.{key}" for kind, keys in WALL_CLOCK.items() for key in keys)
    if tolerances is not None:
        ignored += f"; float-derived numbers within {args.tolerances}"
    print(
        f"events match: {len(reference)} events ({', '.join(f'{k} {n}' for k, n in sorted(counts.items()))});"
        f" ignored only {ignored}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
