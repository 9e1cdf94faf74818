"""Tests of the annotated video writer, with real OpenCV codecs and files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_monitor.errors import OutputError
from edge_monitor.outputs.annotate import VideoAnnotator, draw_overlay
from edge_monitor.types import EmotionState, FaceBox, Frame, Prediction, StepResult

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def _result(index: int = 0, width: int = 160, height: int = 120, face: bool = True) -> StepResult:
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    gray = ((x + y) / 2).astype(np.uint8)
    bgr = np.dstack([gray, 255 - gray, gray // 2])
    probs = np.array([0.05, 0.05, 0.05, 0.6, 0.1, 0.05, 0.1], dtype=np.float32)
    box = FaceBox(width // 2, height // 2, width // 3, height // 3) if face else None
    return StepResult(
        frame=Frame(bgr=bgr, gray=gray, t=index / 30.0, index=index),
        face=box,
        face_detected=face,
        face_present=face,
        emotion=Prediction(probs, LABELS) if face else None,
        stable=EmotionState("happy", 0.6, dict(zip(LABELS, probs.tolist(), strict=True))),
    )


def _read_all(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


@pytest.mark.parametrize("name", ["out/clip.mp4", "out/clip.avi"])
def test_written_video_has_all_frames_and_size(tmp_path, name):
    path = tmp_path / name
    with VideoAnnotator(path, fps=30.0, size=(160, 120)) as video:
        for i in range(10):
            video.write(_result(i, face=i % 3 != 0), extra_lines=["alert: none"])
        assert video.frames_written == 10
    video.close()  # idempotent
    frames = _read_all(path)
    assert len(frames) == 10
    assert all(f.shape == (120, 160, 3) for f in frames)


def test_draw_overlay_copies_and_draws_box(tmp_path):
    result = _result()
    before = result.frame.bgr.copy()
    out = draw_overlay(result.frame.bgr, result, extra_lines=["eyes: open"])
    assert np.array_equal(result.frame.bgr, before)  # input untouched
    assert out.shape == before.shape and out is not result.frame.bgr
    box = result.face
    # Bottom and right edges of the box are clear of the label: pure green there.
    assert tuple(out[box.y + box.h - 1, box.x + box.w // 2]) == (0, 255, 0)
    assert tuple(out[box.y + box.h // 2, box.x + box.w - 1]) == (0, 255, 0)
    # The status panel darkens and writes text in the top-left corner.
    assert not np.array_equal(out[:20, :60], before[:20, :60])
    # Deep inside the box nothing is drawn.
    assert np.array_equal(
        out[box.y + box.h // 2, box.x + box.w // 2], before[box.y + box.h // 2, box.x + box.w // 2]
    )


def test_draw_overlay_without_face_leaves_rest_alone():
    result = _result(face=False)
    out = draw_overlay(result.frame.bgr, result)
    assert np.array_equal(out[-30:, -60:], result.frame.bgr[-30:, -60:])
    assert not np.array_equal(out[:20, :60], result.frame.bgr[:20, :60])


def test_overlay_scales_with_frame_height():
    def panel_height(result: StepResult) -> int:
        out = draw_overlay(result.frame.bgr, result)
        changed = np.any(out[:, 0] != result.frame.bgr[:, 0], axis=-1)  # left column: the panel only
        return int(np.nonzero(changed)[0].max()) + 1

    h_small = panel_height(_result(width=640, height=360, face=False))
    h_large = panel_height(_result(width=1920, height=1080, face=False))
    assert 2.0 < h_large / h_small < 4.0  # text grows with the 3x taller frame


def test_frames_of_another_size_are_resized(tmp_path):
    path = tmp_path / "resized.avi"
    with VideoAnnotator(path, fps=float("nan"), size=(160, 120)) as video:
        assert video.fps == 30.0
        video.write(_result(0, width=320, height=240))
        video.write(_result(1, width=80, height=60))
    frames = _read_all(path)
    assert len(frames) == 2 and all(f.shape == (120, 160, 3) for f in frames)


def test_write_after_close_is_ignored(tmp_path):
    video = VideoAnnotator(tmp_path / "a.avi", fps=25.0, size=(160, 120))
    video.write(_result(0))
    video.close()
    video.write(_result(1))
    assert video.frames_written == 1
    assert len(_read_all(tmp_path / "a.avi")) == 1


def test_bad_suffix_raises_output_error(tmp_path):
    with pytest.raises(OutputError, match=r"\.mp4 or \.avi"):
        VideoAnnotator(tmp_path / "clip.mkv", fps=30.0, size=(160, 120))
    assert not (tmp_path / "clip.mkv").exists()


def test_unwritable_path_raises_output_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError):
        VideoAnnotator(blocker / "clip.mp4", fps=30.0, size=(160, 120))
    (tmp_path / "dir.avi").mkdir()
    with pytest.raises(OutputError):
        VideoAnnotator(tmp_path / "dir.avi", fps=30.0, size=(160, 120))


def test_a_turned_face_is_drawn_in_amber_without_a_label():
    import dataclasses

    result = _result(face=False)
    turned = FaceBox(90, 50, 40, 40)
    result = dataclasses.replace(result, turned_face=turned)
    out = draw_overlay(result.frame.bgr, result)
    assert tuple(out[turned.y + turned.h - 1, turned.x + turned.w // 2]) == (0, 191, 255)
    assert tuple(out[turned.y + turned.h // 2, turned.x]) == (0, 191, 255)
    inside = (turned.y + turned.h // 2, turned.x + turned.w // 2)
    assert np.array_equal(out[inside], result.frame.bgr[inside])


def _with_geometry(result: StepResult, eye_state: str, yaw: float, away: bool = False) -> StepResult:
    import dataclasses

    from edge_monitor.mesh import EYE_CONTOURS, NOSE_TIP
    from edge_monitor.mesh import INNER_LIP_CONTOUR as INNER_LIPS
    from edge_monitor.mesh import OUTER_LIP_CONTOUR as OUTER_LIPS
    from edge_monitor.types import FaceGeometry

    pts = np.zeros((468, 2), np.float32)
    for contour, cx in zip(EYE_CONTOURS, (50, 110), strict=True):  # eyes: circles of radius 8
        a = np.linspace(0, 2 * np.pi, len(contour), endpoint=False)
        pts[list(contour)] = np.stack([cx + 8 * np.cos(a), 40 + 8 * np.sin(a)], 1)
    for contour, r in ((OUTER_LIPS, 14), (INNER_LIPS, 8)):
        a = np.linspace(0, 2 * np.pi, len(contour), endpoint=False)
        pts[list(contour)] = np.stack([80 + r * np.cos(a), 95 + 0.5 * r * np.sin(a)], 1)
    pts[NOSE_TIP] = (80, 65)
    g = FaceGeometry(pts, 0.99, 0.3, 0.3, 0.1, 0.8, yaw, 0.0, 0.0)
    return dataclasses.replace(result, geometry=g, eye_state=eye_state, looking_away=away)


def test_eye_contours_are_coloured_by_the_decided_eye_state():
    base = _result(face=False)
    blank = np.zeros_like(base.frame.bgr)
    for state, colour in (("open", (0, 255, 0)), ("closed", (0, 0, 255)), ("hidden", (0, 191, 255))):
        out = draw_overlay(blank, _with_geometry(base, state, 0.0))
        ring = out[30:51, 40:61].reshape(-1, 3).astype(int)  # around the image-left eye
        near = np.abs(ring - np.array(colour)).max(axis=1) < 60  # anti-aliased lines blend
        assert near.sum() >= 10, state


def test_head_pose_arrow_points_where_the_head_turns():
    base = _result(face=False)
    blank = np.zeros_like(base.frame.bgr)
    right = draw_overlay(blank, _with_geometry(base, "open", 40.0))
    left = draw_overlay(blank, _with_geometry(base, "open", -40.0))
    arrow = (255, 128, 0)

    def arrow_cols(img):
        return np.flatnonzero((img[60:71] == arrow).all(axis=2).any(axis=0))

    assert arrow_cols(right).max() > 100 and arrow_cols(right).min() >= 78
    assert arrow_cols(left).min() < 60 and arrow_cols(left).max() <= 82
    away = draw_overlay(blank, _with_geometry(base, "away", 40.0, away=True))
    assert not (away[60:71] == arrow).all(axis=2).any()  # amber while looking away
