"""Preprocessing parity: the device feeds the model exactly the tensor training fed it."""

import numpy as np
import pytest

from conversion.train import emotion_metadata
from edge_monitor.crops import crop, face_pixels, model_input, normalize, resize_to
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
