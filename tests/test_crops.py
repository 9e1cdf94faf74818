"""Crops and preprocessing parity: the device feeds the model exactly the tensor training fed it."""

import numpy as np
import pytest

from conversion.train import emotion_metadata
from edge_monitor.crops import (
    MIN_MOUTH_INSIDE,
    MIN_MOUTH_PX,
    MOUTH_REGION,
    MouthRegion,
    crop,
    eye_boxes,
    face_pixels,
    model_input,
    mouth_box,
    mouth_pixels,
    normalize,
    resize_to,
    usable,
)
from edge_monitor.errors import ModelFormatError
from edge_monitor.metadata import ModelMetadata
from edge_monitor.types import FaceBox
from tests.conftest import require_shared


def test_normalize_maps_pixels_with_scale_and_offset():
    meta = emotion_metadata()
    px = np.array([0, 127, 255], np.uint8)
    out = normalize(px, meta)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-1.0, 127 / 127.5 - 1.0, 1.0], atol=1e-6)


def test_crop_is_clipped_to_the_frame():
    gray = np.arange(100 * 80, dtype=np.uint32).reshape(80, 100).astype(np.uint8)
    part = crop(gray, FaceBox(-10, 70, 30, 30))
    assert part.shape == (10, 20)
    np.testing.assert_array_equal(part, gray[70:80, 0:20])


def test_resize_to_shrinks_with_area_averaging():
    img = np.zeros((96, 96), np.uint8)
    img[::2, ::2] = 255  # a checkerboard-like pattern aliases badly with nearest-neighbour
    small = resize_to(img, 48, 48)
    assert small.shape == (48, 48)
    assert 60 <= int(small.mean()) <= 68  # area averaging: 255 / 4


def test_device_and_training_feed_the_same_tensor_for_the_same_face(emotion_model_path):
    fer = require_shared("datasets/fer2013.npz")
    with np.load(fer) as d:
        faces = d["x_private_test"][:16]
    shipped = ModelMetadata.load(emotion_model_path.with_suffix(".json"))
    train_meta = emotion_metadata(shipped.contrast)
    # The shipped metadata is the one training used (contrast normalisation included).
    assert (shipped.scale, shipped.offset, shipped.labels, shipped.input_size) == (
        train_meta.scale,
        train_meta.offset,
        train_meta.labels,
        train_meta.input_size,
    )
    training_batch = model_input(faces, train_meta)  # what conversion.train feeds Keras
    for i, face in enumerate(faces):
        frame = np.full((240, 320), 90, np.uint8)  # the face sits inside a camera frame
        frame[100:148, 150:198] = face
        device = model_input(face_pixels(frame, FaceBox(150, 100, 48, 48), shipped), shipped)
        np.testing.assert_array_equal(device[0], training_batch[i])


@pytest.mark.parametrize("size", [96, 200])
def test_larger_faces_are_downscaled_to_the_input_size(size):
    meta = emotion_metadata()
    frame = np.random.default_rng(0).integers(0, 255, (480, 640), dtype=np.uint8)
    px = face_pixels(frame, FaceBox(100, 50, size, size), meta)
    assert px.shape == (48, 48) and px.dtype == np.uint8


# --- eye squares and the mouth region in a face box ----------------------------------------------


@pytest.mark.parametrize(
    "face", [FaceBox(0, 0, 100, 100), FaceBox(288, 59, 272, 272), FaceBox(-20, 5, 61, 64)]
)
def test_eye_boxes_are_equal_squares_inside_the_face_left_first(face):
    left, right = eye_boxes(face)
    for box in (left, right):
        assert box.w == box.h == round(0.28 * face.w)  # the squares the eye model was tuned on
        assert face.x <= box.x and box.x + box.w <= face.x + face.w
        assert face.y <= box.y and box.y + box.h <= face.y + face.h
        assert box.y + box.h / 2 < face.y + face.h / 2  # the upper half of the face
    assert left.x + left.w / 2 < face.x + face.w / 2 < right.x + right.w / 2
    assert left.y == right.y  # a frontal box: eyes level
    # Mirror images of each other about the face's vertical centre line (to a pixel of rounding).
    assert abs((left.x + left.w / 2 - face.x) - (face.x + face.w - right.x - right.w / 2)) <= 1


def test_eye_boxes_scale_with_the_face():
    small, big = eye_boxes(FaceBox(0, 0, 100, 100)), eye_boxes(FaceBox(0, 0, 200, 200))
    assert big[0].w == 2 * small[0].w
    assert abs(big[1].x - 2 * small[1].x) <= 1


def test_mouth_box_is_the_lower_face_reaching_below_the_chin():
    face = FaceBox(100, 50, 100, 120)
    box = mouth_box(face)
    # The shipped region (left 0.15, right 0.85, top 0.50, bottom 1.10), worked out by hand.
    assert box == FaceBox(115, 110, 70, 72)
    # Centred horizontally, in the lower half, and past the bottom edge (a dropped jaw).
    assert box.center[0] == pytest.approx(face.center[0], abs=1)
    assert box.y >= face.y + face.h * 0.4
    assert box.y + box.h > face.y + face.h
    assert face.x <= box.x and box.x + box.w <= face.x + face.w


def test_mouth_box_scales_with_the_face():
    r = MOUTH_REGION
    for side in (50, 97, 200):
        box = mouth_box(FaceBox(0, 0, side, side))
        assert box.w == pytest.approx((r.right - r.left) * side, abs=1)
        assert box.h == pytest.approx((r.bottom - r.top) * side, abs=1)


def test_whole_face_region_is_the_face_box():
    face = FaceBox(10, 20, 80, 90)
    assert mouth_box(face, MouthRegion(0.0, 1.0, 0.0, 1.0)) == face


def test_an_empty_region_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        MouthRegion(0.6, 0.4, 0.5, 1.0)


def test_region_round_trips_through_metadata_and_rejects_garbage():
    assert MouthRegion.from_dict(MOUTH_REGION.to_dict()) == MOUTH_REGION
    with pytest.raises(ModelFormatError, match="mouth_region"):
        MouthRegion.from_dict({"left": 0.1})
    with pytest.raises(ModelFormatError, match="mouth_region"):
        MouthRegion.from_dict({"left": "a", "right": 1, "top": 0, "bottom": 1})
    with pytest.raises(ModelFormatError, match="mouth_region"):
        MouthRegion.from_dict({"left": 0.9, "right": 0.1, "top": 0, "bottom": 1})


def test_mouth_pixels_has_the_model_size_and_skips_unusable_regions():
    gray = np.random.default_rng(0).integers(0, 256, (240, 320), dtype=np.uint8)
    out = mouth_pixels(gray, FaceBox(100, 60, 100, 100), (40, 32))
    assert out is not None and out.shape == (32, 40) and out.dtype == np.uint8
    # A face at the bottom edge: most of the mouth region is outside the frame.
    assert mouth_pixels(gray, FaceBox(100, 200, 100, 100), (32, 32)) is None
    # A tiny face: the mouth region is too small to read.
    assert mouth_pixels(gray, FaceBox(100, 60, 10, 10), (32, 32)) is None
    # Mouth regions: at least 12 px a side and 60 % inside the frame.
    assert not usable(FaceBox(0, 0, 11, 40), 320, 240, MIN_MOUTH_PX, MIN_MOUTH_INSIDE)
    assert usable(FaceBox(0, 0, 12, 12), 320, 240, MIN_MOUTH_PX, MIN_MOUTH_INSIDE)
    assert usable(FaceBox(-15, 0, 40, 40), 320, 240, MIN_MOUTH_PX, MIN_MOUTH_INSIDE)  # 62.5 % inside
    assert not usable(FaceBox(-17, 0, 40, 40), 320, 240, MIN_MOUTH_PX, MIN_MOUTH_INSIDE)  # 57.5 %


def test_eye_squares_need_8_px_and_three_quarters_inside_the_frame():
    assert not usable(FaceBox(0, 0, 7, 7), 320, 240) and usable(FaceBox(0, 0, 8, 8), 320, 240)
    assert usable(FaceBox(-10, 0, 40, 40), 320, 240)  # 75 % inside
    assert not usable(FaceBox(-11, 0, 40, 40), 320, 240)
