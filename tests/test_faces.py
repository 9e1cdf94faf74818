"""Haar face detection and the driver-face tracker, on real clips."""

from __future__ import annotations

import dataclasses
from dataclasses import astuple

import cv2
import numpy as np
import pytest

from edge_monitor.config import DetectorConfig
from edge_monitor.errors import ModelFormatError, ModelNotFoundError
from edge_monitor.faces import DriverFaceTracker, HaarFaceDetector, cascade_path
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.types import FaceBox


def haar(detector_cfg: DetectorConfig) -> DetectorConfig:
    """The detector settings with the Haar detector (these tests are about the Haar path)."""
    return dataclasses.replace(detector_cfg, kind="haar")


def read_frames(path, limit: int | None = None) -> list:
    src = VideoFileSource(path)
    frames = []
    try:
        while limit is None or len(frames) < limit:
            f = src.read()
            if f is None:
                break
            frames.append(f)
    finally:
        src.close()
    return frames


@pytest.fixture(scope="module")
def woman2_frames():
    """The first 60 frames of woman2.mp4 (one frontal face), decoded once for the module."""
    from tests.conftest import require_shared

    return read_frames(require_shared("clips/fer/woman2.mp4"), 60)


@pytest.fixture(scope="module")
def detector():
    from edge_monitor.config import load_config

    return HaarFaceDetector(load_config().detector)


# --- cascade files ---------------------------------------------------------------------------------


def test_cascade_path_resolves_a_bundled_name():
    p = cascade_path("haarcascade_frontalface_default.xml")
    assert p.is_file() and p.name == "haarcascade_frontalface_default.xml"
    assert cascade_path(str(p)) == p  # a path is taken as given


def test_cascade_path_missing_name_is_model_not_found():
    with pytest.raises(ModelNotFoundError) as ei:
        cascade_path("haarcascade_no_such_thing.xml")
    assert "haarcascade_no_such_thing.xml" in str(ei.value)
    assert "\n" not in str(ei.value)


def test_detector_with_a_non_cascade_file_is_model_format_error(tmp_path):
    bogus = tmp_path / "empty.xml"
    bogus.write_text('<?xml version="1.0"?>\n<opencv_storage>\n</opencv_storage>\n')
    with pytest.raises(ModelFormatError) as ei:
        HaarFaceDetector(DetectorConfig(cascade=str(bogus)))
    assert "empty.xml" in str(ei.value)
    with pytest.raises(ModelNotFoundError):
        HaarFaceDetector(DetectorConfig(cascade=str(tmp_path / "absent.xml")))


# --- detection on real frames ----------------------------------------------------------------------


def test_detects_a_plausible_face_and_finds_it_again_in_the_roi(detector, woman2_frames):
    frame = woman2_frames[10]
    h, w = frame.gray.shape
    faces = detector.detect(frame.gray)
    assert len(faces) >= 1
    box = faces[0]
    assert box.x >= 0 and box.y >= 0 and box.x + box.w <= w and box.y + box.h <= h
    assert 0.15 * h <= box.w <= 0.80 * h

    roi_faces = detector.detect(frame.gray, box.expand(0.5))
    assert roi_faces
    (cx, cy), (rx, ry) = box.center, roi_faces[0].center
    assert abs(cx - rx) <= 10 and abs(cy - ry) <= 10

    assert detector.detect(np.zeros_like(frame.gray)) == []
    assert detector.detect(frame.gray, FaceBox(0, 0, 5, 5)) == []  # too small a region to search


def test_size_range_limits_the_search_to_faces_of_that_width(detector, woman2_frames):
    gray = woman2_frames[10].gray
    box = detector.detect(gray)[0]
    roi = box.expand(0.5)
    near = detector.detect(gray, roi, sizes=(box.w / 1.5, box.w * 1.5))
    assert near and abs(near[0].w - box.w) <= 0.2 * box.w
    assert detector.detect(gray, roi, sizes=(box.w * 2.0, box.w * 3.0)) == []  # only larger faces
    assert detector.detect(gray, roi, sizes=(box.w / 4.0, box.w / 2.5)) == []  # only smaller faces


def test_tracker_searches_near_the_last_size_and_falls_back_to_a_full_scan(config, detector, woman2_frames):
    tracker = DriverFaceTracker(detector, config.detector, config.face)
    first = woman2_frames[0]
    box, _ = tracker.update(first.gray, first.t)
    # The same face at 2.5x its size (beyond roi_size_ratio) in the next frame: the ROI search
    # misses it and the full scan in the same frame finds it.
    big = cv2.resize(first.gray, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_LINEAR)
    scans = tracker.full_scans
    found, detected = tracker.update(big, first.t + 0.03)
    assert detected and tracker.full_scans == scans + 1
    assert found.w == pytest.approx(2.5 * box.w, rel=0.25)


def test_faces_are_sorted_largest_first(detector, woman2_frames):
    frame = woman2_frames[10]
    box = detector.detect(frame.gray)[0]
    crop = frame.bgr[box.y : box.y + box.h, box.x : box.x + box.w]
    small = cv2.resize(crop, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    h, w = frame.gray.shape
    sh, sw = small.shape[:2]
    canvas = np.zeros((h, w + sw + 40, 3), np.uint8)
    canvas[:, :w] = frame.bgr
    y0 = (h - sh) // 2
    canvas[y0 : y0 + sh, w + 20 : w + 20 + sw] = small
    faces = detector.detect(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
    assert len(faces) == 2
    big, little = faces
    assert big.area > little.area
    assert big.center[0] < w <= little.x  # the big one is the original, the small one the copy
    assert little.w == pytest.approx(0.6 * big.w, rel=0.25)


# --- the tracker -----------------------------------------------------------------------------------


def test_tracker_follows_the_face_with_roi_scans(config, detector, woman2_frames):
    tracker = DriverFaceTracker(detector, config.detector, config.face)
    assert config.detector.full_scan_interval_s == 1.0
    results = [tracker.update(f.gray, f.t) for f in woman2_frames]
    assert all(detected for _, detected in results)
    assert all(box is not None for box, _ in results)
    assert tracker.roi_scans > tracker.full_scans
    # 60 frames at ~30 fps span 2 s: a full scan at t=0 and one after each elapsed second.
    assert 2 <= tracker.full_scans <= 4
    assert tracker.full_scans + tracker.roi_scans >= len(woman2_frames)
    # The tracked box barely moves between consecutive frames of a steady face.
    centres = np.array([box.center for box, _ in results])
    assert np.abs(np.diff(centres, axis=0)).max() < 20


def test_tracker_rescans_the_full_frame_at_the_configured_interval(config, detector, woman2_frames):
    dcfg = dataclasses.replace(config.detector, full_scan_interval_s=0.25)
    tracker = DriverFaceTracker(detector, dcfg, config.face)
    for f in woman2_frames[:30]:  # 1 s of frames: full scans at 0, 0.25, 0.5, 0.75 s (and maybe ~1 s)
        tracker.update(f.gray, f.t)
    assert 4 <= tracker.full_scans <= 6
    assert tracker.roi_scans >= 30 - tracker.full_scans


def test_tracker_holds_the_box_briefly_over_a_missed_detection(config, detector, woman2_frames):
    assert config.face.hold_box_s == 0.25
    tracker = DriverFaceTracker(detector, config.detector, config.face)
    frame = woman2_frames[10]
    box, detected = tracker.update(frame.gray, 5.0)
    assert detected and box is not None
    black = np.zeros_like(frame.gray)
    assert tracker.update(black, 5.1) == (box, False)  # held
    assert tracker.update(black, 5.5) == (None, False)  # dropped after hold_box_s
    assert tracker.update(black, 5.6) == (None, False)
    again, detected = tracker.update(frame.gray, 5.7)  # found again by a full scan
    assert detected and again is not None
    assert abs(again.center[0] - box.center[0]) <= 10


def test_tracker_loses_the_face_after_the_cut_to_an_animation(config, detector, clip):
    frames = read_frames(clip("pyfeat/face_noface.mov"))
    assert len(frames) == 169
    tracker = DriverFaceTracker(detector, config.detector, config.face)
    detected = [tracker.update(f.gray, f.t)[1] for f in frames]
    before, after = detected[:70], detected[91:]
    assert all(before)
    assert not any(after)
    # Without a face every frame is a full scan, so none of the animation was searched by ROI only.
    assert tracker.full_scans >= len(after)


# --- turned faces (the profile cascade, both sides) -------------------------------------------------


@pytest.fixture(scope="module")
def turned_frame():
    """YawDD ``yawn/1.jpg``: a yawning driver turned from the mirror-mounted camera."""
    from tests.conftest import require_shared

    path = require_shared("datasets/yawdd_frames") / "yawn" / "1.jpg"
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert gray is not None, path
    return gray


def test_the_frontal_cascade_misses_a_turned_face_that_the_turned_cascade_finds(config, turned_frame):
    assert HaarFaceDetector(config.detector).detect(turned_frame) == []
    turned = HaarFaceDetector.turned(config.detector)
    assert turned is not None and turned.both_sides
    faces = turned.detect(turned_frame)
    assert faces, "the profile cascade found no face"
    h, w = turned_frame.shape
    face = faces[0]
    # The driver's head: a large box in the upper half, inside the frame.
    assert 0.4 * h <= face.h <= 0.8 * h and face.w == face.h
    assert face.x >= 0 and face.x + face.w <= w and face.y < h / 2


def test_the_turned_cascade_finds_both_sides(config, turned_frame):
    turned = HaarFaceDetector.turned(config.detector)
    one_side = HaarFaceDetector(config.detector, config.detector.turned_cascade)  # as shipped by OpenCV
    w = turned_frame.shape[1]
    mirrored = cv2.flip(turned_frame, 1)
    # The shipped cascade sees this face on one side only; searching both sides finds it either way.
    assert bool(one_side.detect(turned_frame)) != bool(one_side.detect(mirrored))
    face, face_m = turned.detect(turned_frame)[0], turned.detect(mirrored)[0]
    assert (face_m.x, face_m.y, face_m.w, face_m.h) == (w - face.x - face.w, face.y, face.w, face.h)


def test_turned_cascade_off_means_no_turned_detector(config):
    assert (
        HaarFaceDetector.turned(dataclasses.replace(config.detector, kind="haar", turned_cascade="")) is None
    )


def test_tracker_reports_a_turned_face_without_making_it_the_driver(config, turned_frame):
    from edge_monitor.faces import build_face_tracker

    tracker = build_face_tracker(haar(config.detector), config.face)
    box, detected = tracker.update(turned_frame, 0.0)
    assert (box, detected) == (None, False)  # not frontal: absent, as openpilot counts it
    first = tracker.turned_face
    assert first is not None and tracker.turned_scans == 1
    # Next frame: found again by a search around the last turned face, no full scan.
    tracker.update(turned_frame, 0.05)
    again = tracker.turned_face
    assert again is not None and tracker.turned_scans == 2
    assert max(abs(a - b) for a, b in zip(astuple(again), astuple(first), strict=True)) <= 3  # rounding
    off = build_face_tracker(
        dataclasses.replace(config.detector, kind="haar", turned_cascade=""), config.face
    )
    off.update(turned_frame, 0.0)
    assert off.turned_face is None and off.turned_scans == 0


def test_tracker_skips_the_turned_search_while_a_frontal_face_is_found(config, woman2_frames):
    from edge_monitor.faces import build_face_tracker

    tracker = build_face_tracker(haar(config.detector), config.face)
    for f in woman2_frames[:20]:
        assert tracker.update(f.gray, f.t)[1]
        assert tracker.turned_face is None
    assert tracker.turned_scans == 0


def test_tracker_without_any_face_scans_for_turned_faces_at_the_full_scan_interval(config, clip):
    from edge_monitor.faces import build_face_tracker

    frames = read_frames(clip("pyfeat/no_face.mp4"))
    tracker = build_face_tracker(haar(config.detector), config.face)
    for f in frames:
        tracker.update(f.gray, f.t)
        assert tracker.turned_face is None
    duration = frames[-1].t - frames[0].t
    interval = config.detector.full_scan_interval_s
    assert 1 <= tracker.turned_scans <= duration / interval + 1


def test_a_missing_turned_cascade_is_model_not_found(config):
    with pytest.raises(ModelNotFoundError, match=r"absent_profile\.xml"):
        HaarFaceDetector.turned(dataclasses.replace(config.detector, turned_cascade="absent_profile.xml"))
