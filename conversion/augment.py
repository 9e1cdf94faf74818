"""Batch augmentation for grey face images in TensorFlow (training only)."""

from __future__ import annotations

import keras
import tensorflow as tf


def make_augmenter(
    shift: float = 0.1,
    rotation_deg: float = 10.0,
    zoom: float = 0.1,
    erase_prob: float = 0.5,
    erase_max_frac: float = 0.3,
    fill_value: float = 0.0,
    seed: int = 0,
):
    """Return ``f(x) -> x'`` augmenting a float batch (B, H, W, 1) already normalised.

    Random horizontal flip, shift, rotation and zoom (reflect-filled), then random erasing
    of one rectangle per image with probability ``erase_prob`` (filled with ``fill_value``,
    the normalised mid-grey).
    """
    geometric = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomRotation(rotation_deg / 360.0, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomZoom((-zoom, zoom), fill_mode="reflect", seed=seed + 3),
        ],
        name="augment",
    )
    gen = tf.random.Generator.from_seed(seed + 4)

    def erase(x: tf.Tensor) -> tf.Tensor:
        b = tf.shape(x)[0]
        h = tf.cast(tf.shape(x)[1], tf.float32)
        w = tf.cast(tf.shape(x)[2], tf.float32)
        frac_h = gen.uniform([b], 0.1, erase_max_frac * 2) * h
        frac_w = gen.uniform([b], 0.1, erase_max_frac * 2) * w
        y0 = gen.uniform([b]) * (h - frac_h)
        x0 = gen.uniform([b]) * (w - frac_w)
        ys = tf.range(h)[None, :, None]
        xs = tf.range(w)[None, None, :]
        inside = (
            (ys >= y0[:, None, None])
            & (ys < (y0 + frac_h)[:, None, None])
            & (xs >= x0[:, None, None])
            & (xs < (x0 + frac_w)[:, None, None])
        )
        apply = gen.uniform([b]) < erase_prob
        mask = inside & apply[:, None, None]
        return tf.where(mask[..., None], tf.constant(fill_value, x.dtype), x)

    def augment(x: tf.Tensor) -> tf.Tensor:
        return erase(geometric(x, training=True))

    return augment


def make_photometric_augmenter(
    rotation_deg: float,
    brightness: float,
    contrast: float,
    shift: float = 0.0,
    zoom: float = 0.0,
    seed: int = 0,
):
    """``f(x) -> x'`` for small crops (eyes, mouth): flip, rotation, optional shift and zoom, then
    per-image contrast and brightness around mid-grey, clipped to the input range [-1, 1]."""
    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(rotation_deg / 360.0, fill_mode="reflect", seed=seed + 2),
    ]
    if shift:
        layers.insert(1, keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 1))
    if zoom:
        layers.append(keras.layers.RandomZoom((-zoom, zoom), fill_mode="reflect", seed=seed + 3))
    geometric = keras.Sequential(layers, name="augment")
    gen = tf.random.Generator.from_seed(seed + 4)

    def augment(x: tf.Tensor) -> tf.Tensor:
        x = geometric(x, training=True)
        b = tf.shape(x)[0]
        c = gen.uniform([b, 1, 1, 1], 1.0 - contrast, 1.0 + contrast)
        d = gen.uniform([b, 1, 1, 1], -brightness, brightness)
        return tf.clip_by_value(x * c + d, -1.0, 1.0)

    return augment
