"""Face landmarks: the real face-mesh model (fetched) through LiteRT on real frames from ../shared."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edge_monitor import mesh
from edge_monitor.cli import main
from edge_monitor.config import Config, LandmarksConfig
from edge_monitor.crops import eye_patches, levelled_patch, mouth_patch
from edge_monitor.errors import ModelMismatchError
from edge_monitor.faces import HaarFaceDetector, find_face
from edge_monitor.landmarks import FACE_3D, POSE_POINTS, FaceLandmarker, eye_aspect_ratio, head_pose
from edge_monitor.pipeline import Pipeline
from tests.conftest import require_shared
from tests.test_fetch_models import require_fetched


@pytest.fixture(scope="module")
def landmarker():
    lm = FaceLandmarker(require_fetched() / "face_landmark.tflite")
    yield lm
    lm.close()


def _frame(name: str, index: int = 0) -> np.ndarray:
    cap = cv2.VideoCapture(str(require_shared(f"clips/{name}")))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    cap.release()
    assert ok
    return bgr


def _face(bgr: np.ndarray):
    box, _ = find_face(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), HaarFaceDetector(Config().detector), None)
    assert box is not None
    return box


def test_frontal_face_open_eyes_closed_mouth_and_head_pose_near_zero(landmarker):
    bgr = _frame("pyfeat/single_face.mp4")
    box = _face(bgr)
    geo = landmarker.geometry(bgr, box)
    assert geo is not None and geo.presence > 0.9
    assert geo.points.shape == (468, 2) and geo.points.dtype == np.float32
    # The landmarks lie on the face, in frame pixels.
    cx, cy = geo.points.mean(axis=0)
    assert box.x < cx < box.x + box.w and box.y < cy < box.y + box.h
    assert 0.2 < geo.ear_left < 0.45 and 0.2 < geo.ear_right < 0.45  # open eyes
    assert geo.mouth_open < 0.1 and 0.35 < geo.mouth_width < 0.9
    assert abs(geo.yaw_deg) < 10 and abs(geo.pitch_deg) < 10 and abs(geo.roll_deg) < 8


def test_the_eye_ratios_follow_the_reference_landmarks_of_the_wolfgang_clip(landmarker):
    # The shared clip's per-frame EAR from another landmark pipeline: same trend, frame by frame.
    import csv

    with open(require_shared("clips/pyfeat/WolfgangLanger_Pexels_eye_labels.csv")) as f:
        rows = list(csv.DictReader(f))
    cap = cv2.VideoCapture(str(require_shared("clips/pyfeat/WolfgangLanger_Pexels.mp4")))
    ours, ref = [], []
    for row in rows[:200:5]:
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(row["frame"]))
        ok, bgr = cap.read()
        if not ok or not row["haar_xywh"]:
            continue
        from edge_monitor.types import FaceBox

        geo = landmarker.geometry(bgr, FaceBox(*map(int, row["haar_xywh"].split())))
        ours.append((geo.ear_left, geo.ear_right))
        ref.append((float(row["ear_left"]), float(row["ear_right"])))
    cap.release()
    ours, ref = np.array(ours), np.array(ref)
    assert len(ours) >= 35
    assert np.corrcoef(ours[:, 0], ref[:, 0])[0, 1] > 0.95  # image-left eye is the reference's left
    assert np.corrcoef(ours[:, 1], ref[:, 1])[0, 1] > 0.95
    assert np.abs(ours - ref).mean() < 0.02


@pytest.mark.parametrize(
    ("yawn", "no_yawn"), [("yawn/134.jpg", "no_yawn/201.jpg"), ("yawn/147.jpg", "no_yawn/238.jpg")]
)
def test_mouth_open_is_larger_when_yawning_than_not_in_the_same_yawdd_clip(landmarker, yawn, no_yawn):
    opening = []
    for rel in (yawn, no_yawn):
        bgr = cv2.imread(str(require_shared(f"datasets/yawdd_frames/{rel}")))
        geo = landmarker.geometry(bgr, _face(bgr))
        assert geo is not None
        opening.append(geo.mouth_open)
    assert opening[0] > 0.25 and opening[1] < 0.1


def test_no_face_in_the_box_scores_low_and_gives_no_geometry(landmarker):
    from edge_monitor.types import FaceBox

    bgr = _frame("pyfeat/no_face.mp4")
    _, presence = landmarker.run(bgr, FaceBox(100, 50, 150, 150))
    assert presence < 0.05
    assert landmarker.geometry(bgr, FaceBox(100, 50, 150, 150)) is None


def _project(yaw: float, pitch: float, roll: float, size=(640, 480)) -> np.ndarray:
    # The generic face turned by known angles (the module's conventions), seen by the same camera.
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    rot = rz @ ry @ rx
    w, h = size
    cam = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.0]])
    pts3 = FACE_3D @ rot.T + np.array([0, 0, 1500.0])
    uv = pts3 @ cam.T
    points = np.zeros((468, 2))
    points[list(POSE_POINTS)] = uv[:, :2] / uv[:, 2:]
    return points


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"),
    [(0, 0, 0), (25, 0, 0), (-25, 0, 0), (0, 20, 0), (0, -20, 0), (0, 0, 15), (0, 0, -15)],
)
def test_head_pose_signs(yaw, pitch, roll):
    got = head_pose(_project(yaw, pitch, roll), (640, 480))
    assert got == pytest.approx((yaw, pitch, roll), abs=1.5)


def test_head_pose_combined_turn_keeps_each_sign():
    yaw, pitch, roll = head_pose(_project(20, -15, 10), (640, 480))
    assert yaw > 15 and pitch < -10 and roll > 5


def test_head_pose_sign_meaning():
    # Face turned toward the image's right: the nose tip moves right of the eye corners' midpoint.
    pts = _project(25, 0, 0)
    assert pts[mesh.NOSE_TIP, 0] > (pts[mesh.LEFT_EYE[0], 0] + pts[mesh.RIGHT_EYE[0], 0]) / 2
    # Looking down: the nose tip moves toward the chin.
    down, level = _project(0, -20, 0), _project(0, 0, 0)
    assert (
        down[mesh.NOSE_TIP, 1] - down[mesh.LEFT_EYE[0], 1]
        > level[mesh.NOSE_TIP, 1] - level[mesh.LEFT_EYE[0], 1]
    )
    # Clockwise roll: the image-right eye is lower.
    tilt = _project(0, 0, 15)
    assert tilt[mesh.RIGHT_EYE[0], 1] > tilt[mesh.LEFT_EYE[0], 1]


def test_eye_aspect_ratio_of_a_drawn_eye():
    points = np.zeros((468, 2))
    p1, p2, p3, p4, p5, p6 = mesh.LEFT_EYE
    points[[p1, p4]] = [(0, 0), (30, 0)]
    points[[p2, p3]] = [(10, -6), (20, -6)]
    points[[p6, p5]] = [(10, 3), (20, 3)]
    assert eye_aspect_ratio(points, mesh.LEFT_EYE) == pytest.approx(9 / 30)


def test_landmark_crops_on_a_real_face(landmarker):
    bgr = _frame("pyfeat/single_face.mp4")
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    geo = landmarker.geometry(bgr, _face(bgr))
    eyes = eye_patches(gray, geo.points)
    assert [e.shape for e in eyes] == [(24, 24), (24, 24)] and all(e.dtype == np.uint8 for e in eyes)
    # Centred on the eye: the dark pupil/lashes sit in the middle, not at the edges.
    for e in eyes:
        assert e[8:16, 6:18].mean() < e.mean()
    mouth = mouth_patch(gray, geo.points, (32, 32))
    assert mouth is not None and mouth.shape == (32, 32)
    # Off the frame: no patch rather than a black one.
    shifted = geo.points + np.array([gray.shape[1], 0], np.float32)
    assert eye_patches(gray, shifted) == [] and mouth_patch(gray, shifted) is None


def test_levelled_patch_undoes_a_rotation():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (200, 200), dtype=np.uint8), (7, 7), 0)
    upright = levelled_patch(img, (100, 100), 60, 40, 0.0, (60, 40))
    turn = cv2.getRotationMatrix2D((100, 100), -20, 1.0)  # 20° clockwise in image axes
    rotated = cv2.warpAffine(img, turn, (200, 200))
    back = levelled_patch(rotated, (100, 100), 60, 40, math.radians(20), (60, 40))
    assert np.corrcoef(upright.ravel(), back.ravel())[0, 1] > 0.9


def test_a_model_without_1404_landmark_values_is_refused():
    other = require_fetched() / "face_detection_short_range.tflite"
    with pytest.raises(ModelMismatchError, match="1,404"):
        FaceLandmarker(other)


def test_pipeline_fills_geometry_and_feeds_landmark_crops(landmarker, config, emotion_classifier, clip):
    from edge_monitor.eyes import load_eye_estimator
    from edge_monitor.faces import build_face_tracker
    from edge_monitor.mouth import load_yawn_estimator
    from edge_monitor.sources.replay import VideoFileSource

    eyes, yawns = load_eye_estimator(config), load_yawn_estimator(config)
    seen = {"eyes": 0, "mouth": 0}
    eye_pixels_at, mouth_pixels_at = eyes.eye_pixels_at, yawns.mouth_pixels_at

    def count_eyes(gray, points):
        seen["eyes"] += 1
        return eye_pixels_at(gray, points)

    def count_mouth(gray, points):
        seen["mouth"] += 1
        return mouth_pixels_at(gray, points)

    eyes.eye_pixels_at, yawns.mouth_pixels_at = count_eyes, count_mouth
    pipeline = Pipeline(
        build_face_tracker(config.detector, config.face),
        emotion_classifier,
        config,
        eyes,
        yawns,
        landmarks=landmarker,
    )
    source = VideoFileSource(clip("pyfeat/single_face.mp4"))
    results = [pipeline.step(source.read()) for _ in range(10)]
    source.close()
    assert all(r.geometry is not None and r.eye_closed_prob is not None for r in results)
    assert seen == {"eyes": 10, "mouth": 10}
    blank = VideoFileSource(clip("pyfeat/no_face.mp4"))
    result = pipeline.step(blank.read())
    blank.close()
    # The box is held over the missed detection; the landmark model sees no face in it.
    assert not result.face_detected and result.geometry is None


def _run(tmp_path, yaml_text: str, clip_path, capsys) -> tuple[int, str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text)
    code = main(
        ["--video", str(clip_path), "--config", str(cfg), "--max-frames", "2", "--quiet", "--gpio", "off"]
    )
    return code, capsys.readouterr().err


def test_cli_a_landmark_model_with_the_wrong_output_is_exit_33(tmp_path, capsys, clip):
    other = require_fetched() / "face_detection_short_range.tflite"
    code, err = _run(tmp_path, f"landmarks:\n  model: {other}\n", clip("pyfeat/single_face.mp4"), capsys)
    assert code == 33 and "1,404" in err and err.count("\n") == 1


def test_cli_a_missing_landmark_model_is_exit_31_naming_the_fetch_command(tmp_path, capsys, clip):
    code, err = _run(
        tmp_path, f"landmarks:\n  model: {tmp_path / 'gone.tflite'}\n", clip("pyfeat/single_face.mp4"), capsys
    )
    assert code == 31 and "scripts/fetch_models.py" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("yaml_text", "code", "words"),
    [
        ("landmarks:\n  min_presence: 1.5\n", 14, "landmarks.min_presence"),
        ("landmarks:\n  margin: -0.1\n", 14, "landmarks.margin"),
        ("landmarks:\n  enable: true\n", 12, "landmarks.enable: unknown key"),
    ],
)
def test_cli_landmark_config_errors(tmp_path, capsys, yaml_text, code, words):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text)
    assert main(["--config", str(cfg), "--validate-config"]) == code
    assert words in capsys.readouterr().err


def test_landmarks_can_be_switched_off(config):
    import dataclasses

    from edge_monitor.landmarks import load_landmarker

    off = dataclasses.replace(config, landmarks=LandmarksConfig(enabled=False))
    assert load_landmarker(off) is None


def _rolled(bgr: np.ndarray, box, degrees: float) -> np.ndarray:
    # The frame turned clockwise by ``degrees`` about the face's centre.
    return cv2.warpAffine(
        bgr, cv2.getRotationMatrix2D(box.center, -degrees, 1.0), (bgr.shape[1], bgr.shape[0])
    )


def test_a_rolled_head_is_read_from_a_crop_turned_upright(landmarker):
    bgr = _frame("pyfeat/single_face.mp4")
    box = _face(bgr)
    upright, _ = landmarker.run(bgr, box)
    turn = cv2.getRotationMatrix2D(box.center, -45, 1.0)
    expected = upright[:, :2] @ turn[:, :2].T + turn[:, 2]
    rolled = _rolled(bgr, box, 45)
    unturned, _ = landmarker.run(rolled, box)
    turned, presence = landmarker.run(rolled, box, math.radians(45))
    assert presence > 0.9
    assert np.abs(turned[:, :2] - expected).mean() < 1.0  # pixels
    assert np.abs(unturned[:, :2] - expected).mean() > 5.0
    geo = landmarker.geometry(rolled, box, math.radians(45))
    assert geo.roll_deg == pytest.approx(45, abs=6)


def test_the_pipeline_turns_the_crop_by_the_last_frames_roll(landmarker, config, emotion_classifier):
    from edge_monitor.faces import build_face_tracker
    from edge_monitor.types import Frame

    bgr = _frame("pyfeat/single_face.mp4")
    box = _face(bgr)
    upright = landmarker.geometry(bgr, box)
    rolled = _rolled(bgr, box, 40)
    gray = cv2.cvtColor(rolled, cv2.COLOR_BGR2GRAY)
    pipeline = Pipeline(
        build_face_tracker(config.detector, config.face), emotion_classifier, config, landmarks=landmarker
    )
    results = [pipeline.step(Frame(bgr=rolled, gray=gray, t=i / 10, index=i)) for i in range(3)]
    assert all(r.geometry is not None for r in results)
    # From the second frame on, the crop is turned by the first frame's eye line.
    last = results[-1].geometry
    assert last.roll_deg == pytest.approx(40 + upright.roll_deg, abs=4)
    assert last.ear_left == pytest.approx(upright.ear_left, abs=0.03)
