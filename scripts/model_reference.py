#!/usr/bin/env python3
"""Regenerate tests/data/model_reference.json: the shipped models' outputs for fixed inputs.

    .venv/bin/python scripts/model_reference.py            write the reference (run it on x86)
    .venv/bin/python scripts/model_reference.py --check    compare with the stored one, exit 1 on a difference

The inputs need no data: seeded noise (``numpy.random.RandomState``, whose stream NumPy keeps
stable), blocky noise, gradients, flat grey levels, checkerboards and stripes, at each model's
input size, built with integer arithmetic only. tests/test_model_parity.py runs every shipped
model on them through ``load_classifier(...).predict_pixels`` and compares the raw int8 outputs
and the probabilities exactly, on x86 (``make test``) and on arm64 under qemu (``make test-arm64``).
Regenerate after changing a shipped model; the reference records each model's SHA-256 so a stale
reference says so instead of reporting differing numbers. The two third-party float models
(fetched by scripts/fetch_models.py) are compared too, on 8 fixed RGB inputs, within a tolerance
(float kernels may round differently per CPU).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "tests" / "data" / "model_reference.json"
MODELS = ("emotion", "eye_state", "yawn")
# The third-party float models (scripts/fetch_models.py): compared within a tolerance, since float
# kernels may round differently per CPU; a few outputs per case are enough to catch a broken runtime.
THIRDPARTY = ("face_detection_short_range", "face_landmark")
THIRDPARTY_SEEDS = range(4)
THIRDPARTY_VALUES = 64  # outputs stored per tensor and case (evenly spaced)
THIRDPARTY_TOLERANCE = 1e-3  # |a - b| <= tol * max(1, |b|)
NOISE_SEEDS = range(24)
BLOCKY_SEEDS = range(100, 108)
LEVELS = (0, 1, 64, 127, 128, 192, 254, 255)


def cases(height: int, width: int) -> Iterator[tuple[str, np.ndarray]]:
    """(name, uint8 image of shape (height, width)) for every fixed input, always the same."""
    for seed in NOISE_SEEDS:
        yield f"noise_{seed}", np.random.RandomState(seed).randint(0, 256, (height, width), dtype=np.uint8)
    for seed in BLOCKY_SEEDS:
        small = np.random.RandomState(seed).randint(0, 256, (height // 4 + 1, width // 4 + 1), dtype=np.uint8)
        yield f"blocky_{seed}", np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)[:height, :width]
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    yield "gradient_x", (x * 255 // max(width - 1, 1)).astype(np.uint8)
    yield "gradient_y", (y * 255 // max(height - 1, 1)).astype(np.uint8)
    yield "gradient_xy", ((x + y) * 255 // max(width + height - 2, 1)).astype(np.uint8)
    r2 = (2 * x - width + 1) ** 2 + (2 * y - height + 1) ** 2
    yield "radial", (255 - r2 * 255 // int(r2.max())).astype(np.uint8)
    for level in LEVELS:
        yield f"flat_{level}", np.full((height, width), level, np.uint8)
    for size in (1, 3, 6):
        yield f"checker_{size}", np.where((x // size + y // size) % 2 == 0, 230, 25).astype(np.uint8)
    yield "stripes_h", np.where(y % 4 < 2, 200, 40).astype(np.uint8)
    yield "stripes_v", np.where(x % 4 < 2, 200, 40).astype(np.uint8)
    # The flip test-time augmentation feeds a mirrored, non-contiguous view.
    yield (
        "noise_0_mirrored",
        np.random.RandomState(0).randint(0, 256, (height, width), dtype=np.uint8)[:, ::-1],
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pixels_digest(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()[:16]


def raw_output(clf) -> list[int]:
    """The output tensor of the last invoke as stored by the interpreter (int8 for shipped models)."""
    interp = clf._interp  # the quantized tensor itself: the probabilities are derived from it
    return [int(v) for v in interp.get_tensor(clf._out["index"])[0]]


def run_model(name: str, models_dir: Path) -> dict:
    """Every case's input digest, raw output and probabilities for one shipped model."""
    from edge_monitor.inference import load_classifier

    path = models_dir / f"{name}.tflite"
    clf = load_classifier(path)
    try:
        meta = clf.meta
        out: dict = {
            "tflite_sha256": sha256_of(path),
            "input": [meta.input_height, meta.input_width],
            "input_dtype": str(clf.input_dtype),
            "labels": list(meta.labels),
            "contrast": meta.contrast.to_json(),
            "cases": {},
        }
        for case, pixels in cases(meta.input_height, meta.input_width):
            probs = clf.predict_pixels(pixels)
            out["cases"][case] = {
                "input_sha256": pixels_digest(pixels),
                "raw": raw_output(clf),
                "probs": [float(p) for p in probs],
            }
        return out
    finally:
        clf.close()


def thirdparty_cases(size: int) -> Iterator[tuple[str, np.ndarray]]:
    """(name, uint8 RGB image size x size x 3) for the third-party models, always the same."""
    for seed in THIRDPARTY_SEEDS:
        yield f"noise_{seed}", np.random.RandomState(seed).randint(0, 256, (size, size, 3), dtype=np.uint8)
    grey = dict(cases(size, size))
    for name in ("gradient_xy", "radial", "checker_6", "flat_128"):
        yield name, np.repeat(grey[name][..., None], 3, axis=2)


def run_thirdparty(name: str, models_dir: Path) -> dict:
    """Evenly spaced values of every output tensor per case, for one third-party float model.

    The input is scaled as edge-monitor feeds it: [-1, 1] for BlazeFace, [0, 1] for the landmarks.
    """
    from edge_monitor.inference import build_interpreter

    path = models_dir / "thirdparty" / f"{name}.tflite"
    interp = build_interpreter(path)
    inp = interp.get_input_details()[0]
    size = int(inp["shape"][1])
    lo = -1.0 if name.startswith("face_detection") else 0.0
    out: dict = {"tflite_sha256": sha256_of(path), "input": [size, size, 3], "cases": {}}
    for case, pixels in thirdparty_cases(size):
        interp.set_tensor(
            inp["index"], (pixels.astype(np.float32) * np.float32((1.0 - lo) / 255.0) + lo)[None]
        )
        interp.invoke()
        values = {}
        for o in interp.get_output_details():
            flat = interp.get_tensor(o["index"]).reshape(-1)
            step = max(1, flat.size // THIRDPARTY_VALUES)
            values[o["name"]] = [float(v) for v in flat[::step][:THIRDPARTY_VALUES]]
        out["cases"][case] = {"input_sha256": pixels_digest(pixels), "outputs": values}
    return out


def thirdparty_differences(reference: dict, actual: dict) -> list[str]:
    """Differences beyond :data:`THIRDPARTY_TOLERANCE` of ``actual["thirdparty"]`` from the reference."""
    problems = []
    for name, got in actual.get("thirdparty", {}).items():
        ref = reference.get("thirdparty", {}).get(name)
        if ref is None or ref["tflite_sha256"] != got["tflite_sha256"]:
            problems.append(
                f"{name}: not in the reference or changed; regenerate with scripts/model_reference.py"
            )
            continue
        for case, want in ref["cases"].items():
            have = got["cases"].get(case)
            if have is None or have["input_sha256"] != want["input_sha256"]:
                problems.append(f"{name}/{case}: the input is missing or differs")
                continue
            for tensor, values in want["outputs"].items():
                a, b = np.array(have["outputs"].get(tensor, [])), np.array(values)
                if a.shape != b.shape:
                    problems.append(f"{name}/{case}/{tensor}: {a.size} values, reference {b.size}")
                elif np.any(np.abs(a - b) > THIRDPARTY_TOLERANCE * np.maximum(1.0, np.abs(b))):
                    worst = float(np.max(np.abs(a - b)))
                    problems.append(f"{name}/{case}/{tensor}: differs by up to {worst:.3g}")
    return problems


def generate() -> dict:
    from edge_monitor.paths import shipped_models_dir

    models_dir = shipped_models_dir()
    return {
        "generator": "scripts/model_reference.py",
        "generated_on": {
            "machine": platform.machine(),
            "python": platform.python_version(),
            "numpy": version("numpy"),
            "ai-edge-litert": version("ai-edge-litert"),
        },
        "models": {name: run_model(name, models_dir) for name in MODELS},
        "thirdparty": {name: run_thirdparty(name, models_dir) for name in THIRDPARTY},
    }


def differences(reference: dict, actual: dict) -> list[str]:
    """Human-readable differences of ``actual`` from ``reference`` (empty when identical).

    Both are ``{"models": {name: run_model(name, ...)}}``; the models of ``actual`` are compared.
    """
    problems = []
    for name, got in actual["models"].items():
        ref = reference["models"].get(name)
        if ref is None:
            problems.append(f"{name}: not in the reference; regenerate with scripts/model_reference.py")
            continue
        if ref["tflite_sha256"] != got["tflite_sha256"]:
            problems.append(f"{name}: the model file changed; regenerate with scripts/model_reference.py")
            continue
        if ref.get("contrast", "none") != got["contrast"]:
            problems.append(
                f"{name}: the metadata's contrast normalisation changed; regenerate with scripts/model_reference.py"
            )
            continue
        for case, want in ref["cases"].items():
            have = got["cases"].get(case)
            if have is None:
                problems.append(f"{name}/{case}: no such input any more")
            elif have["input_sha256"] != want["input_sha256"]:
                problems.append(f"{name}/{case}: the input differs (generator changed?)")
            elif have["raw"] != want["raw"] or have["probs"] != want["probs"]:
                problems.append(f"{name}/{case}: raw {have['raw']} != reference {want['raw']}")
        problems += [
            f"{name}/{case}: not in the reference" for case in got["cases"] if case not in ref["cases"]
        ]
    return problems


def dumps(reference: dict) -> str:
    """JSON with one line per list of numbers (a case's outputs stay on one line)."""
    text = json.dumps(reference, indent=1)
    return (
        re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored reference")
    parser.add_argument("--out", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    actual = generate()
    if args.check:
        reference = json.loads(args.out.read_text(encoding="utf-8"))
        problems = differences(reference, actual) + thirdparty_differences(reference, actual)
        for p in problems:
            print(p, file=sys.stderr)
        n = sum(len(m["cases"]) for m in actual["models"].values())
        print(f"{len(problems)} of {n} outputs differ from {args.out}")
        return 1 if problems else 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(actual), encoding="utf-8")
    n = sum(len(m["cases"]) for m in actual["models"].values())
    print(f"wrote {args.out}: {n} outputs of {len(MODELS)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
