"""The yawn model's test numbers beyond accuracy: faceless frames, turned faces, the device's own
detector settings, and the re-measurement of a shipped model (``python -m conversion.yawn
--evaluate-only``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from conversion.skeleton import predict_device
from conversion.yawn_crops import face_points, landmark_mouth_crops
from conversion.yawn_data import (
    DEFAULT_FRACTIONS,
    YawnFrames,
    find_faces,
    load_index,
    read_frames,
    split_by_group,
    subset,
)
from edge_monitor.config import DetectorConfig, load_config
from edge_monitor.crops import mouth_patch
from edge_monitor.errors import DatasetError
from edge_monitor.faces import HaarFaceDetector


def test_numbers(test: dict[str, Any], probs: tuple, data) -> dict[str, Any]:
    """``test`` (the crops' numbers) with the frame-level ones: faceless frames counted as errors
    or as "no yawn" (what the device reports without a face), and turned faces."""
    p_float, p_int8, y_test = probs
    frames, rows, src = data.frames, data.idx["test"], data.crops["test"][1]
    n_test = len(rows)
    correct_q = int((p_int8.argmax(1) == y_test).sum())
    correct_f = int((p_float.argmax(1) == y_test).sum())
    scored = np.zeros(len(frames), bool)
    scored[src] = True
    faceless_no_yawn = int(sum(1 for r in rows if not scored[r] and frames.y[r] == 0))
    turned = np.array([not data.frontal[r] for r in src], bool)

    def share(n: int) -> float:
        return n / n_test if n_test else 0.0

    return test | {
        "images": len(y_test),  # frames scored: a face and a usable mouth crop
        "groups": len(np.unique(frames.group[src])),
        "frames": n_test,
        "faceless_frames": n_test - len(y_test),  # no face detected, or no usable mouth crop
        "float_accuracy_faceless_as_errors": share(correct_f),
        "int8_accuracy_faceless_as_errors": share(correct_q),
        "int8_accuracy_faceless_as_no_yawn": share(correct_q + faceless_no_yawn),
        "turned_crops": int(turned.sum()),
        "int8_accuracy_turned": float((p_int8.argmax(1) == y_test)[turned].mean()) if turned.any() else None,
    }


def device_detector_check(
    images: list[np.ndarray], frames: YawnFrames, rows: np.ndarray, clf, landmarker
) -> dict[str, Any]:
    """Test accuracy with the faces found by the device's Haar cascades at its config's settings
    (another detector than the training crops'), through the landmarks."""
    cfg = load_config().detector
    picked = [images[r] for r in rows]
    faces, _ = find_faces(picked, HaarFaceDetector(cfg), HaarFaceDetector.turned(cfg))
    pts = face_points(picked, faces, landmarker)
    size = clf.meta.input_size
    correct = n = 0
    for k, r in enumerate(rows):
        pixels = mouth_patch(images[r], pts[k], size) if pts[k] is not None else None
        if pixels is None:
            continue
        n += 1
        correct += int(int(clf.predict_pixels(pixels).argmax()) == int(frames.y[r]))
    return {
        "detector": dataclasses.asdict(cfg),
        "frames": len(rows),
        "with_face": n,
        "int8_accuracy": correct / n if n else 0.0,
        "int8_accuracy_faceless_as_errors": correct / len(rows) if len(rows) else 0.0,
    }


def print_summary(test, checks, device_check, talking, out_model: Path, reports: Path) -> None:
    """One paragraph of the run's numbers."""
    print(
        f"test (int8) accuracy {test['int8_accuracy']:.4f} on {test['crops']} frames with a face"
        f" ({test['int8_accuracy_faceless_as_errors']:.4f} counting {test['faceless_frames']} faceless"
        f" frames as errors), float {test['float_accuracy']:.4f}, agreement {test['top1_agreement']:.4f};"
        f" device detector {device_check['int8_accuracy']:.4f} on {device_check['with_face']} faces;"
        f" FER non-yawning P(yawn)>=0.5: {talking['int8_yawn_rate'] if talking else float('nan'):.4f};"
        f" night-like test {checks['test']['int8_accuracy_night_like']:.4f}, val {checks['val']['int8_accuracy']:.4f}"
        f" (night-like {checks['val']['int8_accuracy_night_like']:.4f});"
        f" wrote {out_model} and {reports}"
    )


def evaluate_only(args: argparse.Namespace) -> dict[str, Any]:
    """Re-measure an int8 yawn model on the test split recorded in its metadata, through the device's
    detector, landmarks and runtime; the numbers must be the recorded ones (same split, same model).

    Raises:
        DatasetError: A number differs from the recorded one (the data or the split changed).
    """
    from edge_monitor.faces import build_detectors
    from edge_monitor.inference import load_classifier
    from edge_monitor.landmarks import load_landmarker

    clf = load_classifier(args.out_model, args.out_model.with_suffix(".json"), threads=1)
    meta = clf.meta
    seed = int(meta.extra["split"]["seed"])
    frames = subset(load_index(args.data), int(meta.extra["recipe"].get("limit", 0)), seed)
    part = frames.take(split_by_group(frames.group, frames.y, DEFAULT_FRACTIONS, seed)["test"])
    images = read_frames(part)
    faces, _ = find_faces(images, *build_detectors(DetectorConfig(**meta.extra["detector"])))
    points = face_points(images, faces, load_landmarker(load_config()))
    x, src, _ = landmark_mouth_crops(images, points, np.arange(len(part)), meta.input_size)
    correct = int((predict_device(clf, x).argmax(1) == part.y[src]).sum())
    clf.close()
    measured = {
        "frames": len(part),
        "crops": len(src),
        "int8_accuracy": correct / len(src) if len(src) else 0.0,
        "int8_accuracy_faceless_as_errors": correct / len(part) if len(part) else 0.0,
    }
    recorded = {k: meta.metrics["test"][k] for k in measured}
    print(f"test: measured {measured}; recorded {recorded}")
    if any(abs(measured[k] - recorded[k]) > 1e-9 for k in measured):
        raise DatasetError(
            "the re-measured test numbers differ from the recorded ones;"
            " the data or the split changed: retrain with python -m conversion.yawn"
        )
    return measured
