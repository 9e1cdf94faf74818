"""BlazeFace short-range: anchors, decoding and weighted NMS in numpy, on the real model and real frames."""

from __future__ import annotations

import csv
import dataclasses

import cv2
import numpy as np
import pytest

from edge_monitor.blazeface import (
    INPUT_SIZE,
    BlazeFaceDetector,
    decode,
    haar_framed,
    iou,
    ssd_anchors,
    weighted_nms,
)
from edge_monitor.cli import main
from edge_monitor.config import Config
from edge_monitor.errors import ModelMismatchError
from edge_monitor.faces import build_face_tracker
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.types import FaceBox
from tests.conftest import require_shared
from tests.test_fetch_models import require_fetched

CFG = dataclasses.replace(Config().detector, kind="blazeface")


@pytest.fixture(scope="module")
def detector():
    d = BlazeFaceDetector(require_fetched() / "face_detection_short_range.tflite", CFG)
    yield d
    d.close()


def test_anchor_layout_of_the_short_range_model():
    a = ssd_anchors()
    assert a.shape == (896, 2)
    # 16x16 cells (stride 8), 2 anchors each, then 8x8 cells (three stride-16 layers), 6 each.
    assert np.allclose(a[0], a[1]) and np.allclose(a[0], [0.5 / 16, 0.5 / 16])
    assert np.allclose(a[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(a[511], [15.5 / 16, 15.5 / 16])
    assert np.allclose(a[512], [0.5 / 8, 0.5 / 8]) and np.allclose(a[512:518], a[512])
    assert np.allclose(a[518], [1.5 / 8, 0.5 / 8]) and np.allclose(a[-1], [7.5 / 8, 7.5 / 8])
    assert ssd_anchors(strides=(8, 16)).shape == (512 + 128, 2)


def test_decode_places_boxes_and_keypoints_around_their_anchor():
    anchors = np.array([[0.5, 0.5], [0.25, 0.75]], np.float32)
    reg = np.zeros((2, 16), np.float32)
    reg[0, :4] = [12.8, -12.8, 64, 32]  # centre +0.1 / -0.1, size 0.5 x 0.25 of the input
    reg[0, 4:6] = [-12.8, 0]  # first keypoint 0.1 left of the anchor
    boxes, kps, scores = decode(reg, np.array([2.0, -3.0], np.float32), anchors, 0.5)
    assert len(scores) == 1 and scores[0] == pytest.approx(1 / (1 + np.exp(-2)))
    assert boxes[0] == pytest.approx([0.6 - 0.25, 0.4 - 0.125, 0.6 + 0.25, 0.4 + 0.125])
    assert kps[0, 0] == pytest.approx([0.4, 0.5]) and kps[0, 1] == pytest.approx([0.5, 0.5])
    # Huge logits are clipped, not overflowed.
    _, _, s = decode(reg, np.array([1e9, -1e9], np.float32), anchors, 0.0)
    assert s[0] == pytest.approx(1.0) and s[1] == pytest.approx(0.0)


def test_weighted_nms_merges_overlaps_by_score_and_keeps_separate_faces():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]])
    kps = np.zeros((3, 6, 2))
    kps[:, 0] = [[0.2, 0.2], [0.22, 0.2], [0.7, 0.7]]
    scores = np.array([0.9, 0.6, 0.8])
    out = weighted_nms(boxes, kps, scores, 0.3)
    assert [round(s, 2) for _, _, s in out] == [0.9, 0.8]
    merged_box, merged_kp, _ = out[0]
    assert merged_box == pytest.approx((0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5)
    assert merged_kp[0] == pytest.approx([(0.9 * 0.2 + 0.6 * 0.22) / 1.5, 0.2])
    assert out[1][0] == pytest.approx(boxes[2])
    assert iou(boxes[0], boxes[[0, 2]]) == pytest.approx([1.0, 0.0])
    assert weighted_nms(boxes[:0], kps[:0], scores[:0], 0.3) == []


def _frame(name: str) -> np.ndarray:
    source = VideoFileSource(require_shared(f"clips/{name}"))
    frame = source.read()
    source.close()
    return frame.bgr


def test_finds_the_face_of_a_real_frame_with_keypoints_on_it(detector):
    bgr = _frame("pyfeat/single_face.mp4")
    faces = detector.faces(bgr)
    assert len(faces) == 1
    raw, kps, score = faces[0]
    assert score > 0.9
    # The face of this clip (Haar puts it at x 197, y 88, 195 px): BlazeFace's box overlaps it.
    haar = np.array([197, 88, 197 + 195, 88 + 195], float)
    assert iou(haar, np.array([[raw.x, raw.y, raw.x + raw.w, raw.y + raw.h]], float))[0] > 0.5
    right_eye, left_eye, nose = kps[0], kps[1], kps[2]
    assert right_eye[0] < nose[0] < left_eye[0]  # image-left eye, nose, image-right eye
    assert right_eye[1] < nose[1] and left_eye[1] < nose[1]
    for x, y in kps[:4]:
        assert raw.x <= x <= raw.x + raw.w and raw.y <= y <= raw.y + raw.h
    # detect() gives the Haar framing, and the same face from a grey frame.
    box = detector.detect(bgr)[0]
    assert box == haar_framed(raw)
    grey = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    assert len(grey) == 1 and abs(grey[0].center[0] - box.center[0]) < 0.1 * box.w


def test_letterboxing_keeps_a_wide_frame_and_a_search_region_consistent(detector):
    bgr = _frame("pyfeat/single_face.mp4")
    full = detector.detect(bgr)[0]
    near = detector.detect(bgr, roi=full.expand(0.5), sizes=(full.w / 1.5, full.w * 1.5))[0]
    assert abs(near.center[0] - full.center[0]) < 0.08 * full.w
    assert abs(near.center[1] - full.center[1]) < 0.08 * full.w
    assert 0.85 < near.w / full.w < 1.15
    # A size window that excludes the face finds nothing.
    assert detector.detect(bgr, sizes=(full.w * 2, full.w * 3)) == []


def test_no_face_in_a_faceless_frame(detector):
    assert detector.detect(_frame("pyfeat/no_face.mp4")) == []
    assert detector.detect(np.zeros((240, 320, 3), np.uint8)) == []


def test_face_found_in_yawdd_frames_where_haar_misses_many(detector):
    # Every 10th of the 1,400 in-car frames (all show a driver); the full set is in the README.
    with open(require_shared("datasets/yawdd_frames/index.csv")) as f:
        rows = list(csv.DictReader(f))[::10]
    found = sum(
        bool(detector.detect(cv2.imread(str(require_shared(f"datasets/yawdd_frames/{r['path']}")))))
        for r in rows
    )
    assert found / len(rows) >= 0.99


def test_the_tracker_drives_blazeface_on_a_clip(clip):
    tracker = build_face_tracker(CFG, Config().face)
    source = VideoFileSource(clip("fer/woman2.mp4"))
    detected = []
    for _ in range(60):
        frame = source.read()
        detected.append(tracker.update(frame.gray, frame.t, frame.bgr)[1])
    source.close()
    assert all(detected)
    assert tracker.roi_scans > 0 and tracker.full_scans >= 2  # the ROI is reused between full scans


def test_a_model_whose_outputs_do_not_match_the_anchors_is_refused():
    landmarks = require_fetched() / "face_landmark.tflite"
    with pytest.raises(ModelMismatchError):
        BlazeFaceDetector(landmarks, CFG)  # 192x192 input: not BlazeFace short-range


def test_anchor_mismatch_names_both_counts(detector):
    # The real model against another anchor layout: 640 anchors for 896 outputs.
    with pytest.raises(ModelMismatchError, match=r"anchors do not match.* 640 anchors"):
        BlazeFaceDetector(detector.path, CFG, strides=(8, 16))


def _one_frame(clip, cfg) -> int:
    """The CLI on one frame of a real clip with ``cfg``; returns its exit code."""
    video = str(clip("pyfeat/single_face.mp4"))
    return main(["--video", video, "--config", str(cfg), "--max-frames", "1", "--quiet", "--gpio", "off"])


def test_cli_a_detector_that_is_not_blazeface_is_exit_33(tmp_path, capsys, clip):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"detector:\n  kind: blazeface\n  model: {require_fetched() / 'face_landmark.tflite'}\n")
    code = _one_frame(clip, cfg)
    err = capsys.readouterr().err
    assert code == 33 and "BlazeFace" in err and err.count("\n") == 1


def test_cli_a_missing_detector_model_is_exit_31(tmp_path, capsys, clip):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"detector:\n  kind: blazeface\n  model: {tmp_path / 'none.tflite'}\n")
    code = _one_frame(clip, cfg)
    err = capsys.readouterr().err
    assert code == 31 and "scripts/fetch_models.py" in err


def test_unknown_detector_kind_is_a_config_error_naming_the_choices(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("detector:\n  kind: yolo\n")
    assert main(["--config", str(cfg), "--validate-config"]) == 14
    err = capsys.readouterr().err
    assert "detector.kind" in err and "haar" in err and "blazeface" in err


@pytest.mark.parametrize("kind", ["haar", "blazeface"])
def test_both_detectors_run_the_cli_end_to_end(tmp_path, capsys, clip, kind):
    import json

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"detector:\n  kind: {kind}\n")
    events = tmp_path / "e.jsonl"
    code = main(
        [
            "--video",
            str(clip("pyfeat/single_face.mp4")),
            "--config",
            str(cfg),
            "--quiet",
            "--gpio",
            "off",
            "--events",
            str(events),
        ]
    )
    assert code == 0
    summary = [json.loads(line) for line in events.read_text().splitlines()][-1]
    assert summary["kind"] == "summary" and summary["face_pct"] == 100.0


def test_haar_framing_is_square_and_shifted_up():
    box = haar_framed(FaceBox(100, 100, 100, 100))
    assert box.w == box.h and box.w > 100 and box.center[1] < 150
    assert INPUT_SIZE == 128


def test_blazeface_finds_the_turned_face_that_frontal_haar_misses(detector):
    # YawDD yawn/1.jpg: a yawning driver turned from the mirror camera (tests/test_faces.py).
    bgr = cv2.imread(str(require_shared("datasets/yawdd_frames/yawn/1.jpg")))
    assert len(detector.detect(bgr)) == 1
