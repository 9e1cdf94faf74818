#!/usr/bin/env python3
"""How far a replay's events move when the float face models round differently.

    .venv/bin/python scripts/float_sensitivity.py CLIP [--runs 10] [--out FILE]

BlazeFace and the face mesh are float models; their kernels may round differently on another
CPU (x86 vs arm64), within what ``tests/test_model_parity.py`` allows: 1e-3 × max(1, |value|)
per output. This replays CLIP once as is and ``--runs`` times with every output of those two
models moved by seeded uniform noise within that bound, and records how far each number of the
events moved: the tolerance ``scripts/compare_events.py`` allows for numbers derived from the
float models comes from this measurement, not from one comparison's diff.

The int8 models (emotion, eye state, yawn) are bit-identical across CPUs and are not perturbed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

# Beside compare_events.py; `edge_monitor` is whichever the running Python has installed.
sys.path.append(str(Path(__file__).resolve().parent))

from compare_events import load, normalize

PARITY_TOLERANCE = 1e-3  # tests/test_model_parity.py: |a - b| <= 1e-3 * max(1, |a|)


class _Perturbed:
    """An interpreter whose float outputs come back moved within the parity tolerance."""

    def __init__(self, interp, rng: np.random.Generator) -> None:
        self._interp, self._rng = interp, rng

    def get_tensor(self, index):
        out = np.array(self._interp.get_tensor(index))
        if out.dtype.kind != "f":
            return out
        bound = PARITY_TOLERANCE * np.maximum(1.0, np.abs(out))
        return (out + self._rng.uniform(-1.0, 1.0, out.shape) * bound).astype(out.dtype)

    def __getattr__(self, name):
        return getattr(self._interp, name)


def replay(clip: Path, events: Path, seed: int | None) -> list[dict]:
    """One replay with the default config (``seed`` None: unperturbed)."""
    from edge_monitor import builder, cli

    real = builder.load_models

    def load_models(cfg, threads=None):
        models = real(cfg, threads)
        if seed is not None:
            rng = np.random.default_rng(seed)
            for part in (models.landmarks, models.detector):
                if part is not None and hasattr(part, "_interp"):
                    part._interp = _Perturbed(part._interp, rng)
        return models

    builder.load_models = load_models
    try:
        code = cli.main(["--video", str(clip), "--events", str(events), "--gpio", "off", "--quiet"])
    finally:
        builder.load_models = real
    if code != 0:
        raise SystemExit(f"replay of {clip} exited {code}")
    return load(events)


def _numbers(event: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in event.items():
        if isinstance(value, dict):
            out.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    return out


def deviations(reference: list[dict], runs: list[list[dict]]) -> dict:
    """Per numeric field (``kind.field``) the largest change over the runs; and per run, the
    non-numeric fields that changed (a different decision or message, not a rounding)."""
    moved: dict[str, float] = {}
    decisions: dict[int, set[str]] = {}
    a = [normalize(e) for e in reference]
    for n, events in enumerate(runs):
        b = [normalize(e) for e in events]
        if [e["kind"] for e in a] != [e["kind"] for e in b]:
            decisions.setdefault(n, set()).add("the events' kinds or number")
            continue
        for x, y in zip(a, b, strict=True):
            nx, ny = _numbers(x), _numbers(y)
            for key in nx.keys() & ny.keys():
                field = f"{x['kind']}.{key}"
                moved[field] = max(moved.get(field, 0.0), abs(nx[key] - ny[key]))
            for key in (x.keys() | y.keys()) - nx.keys() - ny.keys():
                if x.get(key) != y.get(key) and not isinstance(x.get(key), dict):
                    decisions.setdefault(n, set()).add(f"{x['kind']}.{key}")
    return {
        "moved": {k: round(v, 6) for k, v in sorted(moved.items()) if v},
        "other_changes": {str(n): sorted(f) for n, f in sorted(decisions.items())},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clip", type=Path)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--out", type=Path, help="write the result as JSON here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        reference = replay(args.clip, Path(tmp) / "ref.jsonl", None)
        runs = [replay(args.clip, Path(tmp) / f"run{n}.jsonl", n) for n in range(args.runs)]
    result = {
        "clip": args.clip.name,
        "runs": args.runs,
        "bound": PARITY_TOLERANCE,
        **deviations(reference, runs),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
