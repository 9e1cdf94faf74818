"""The night look of a NoIR camera with IR LEDs, for training and measuring the small crop models.

At night a Pi camera without an IR-cut filter sees the near-infrared its LEDs send: a grey picture
of flat contrast, with glare where the LEDs reflect (off glasses, foreheads). :func:`night_like`
gives uint8 crops that look; numpy only (no TensorFlow), so evaluation can use it anywhere.
"""

from __future__ import annotations

import numpy as np


def night_like(x: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Crops (N, H, W) uint8 as a NoIR camera with IR LEDs sees them at night: flat contrast (0.35-0.8
    of it kept), a brightness shift, sensor noise and, on half of them, a glare spot (a bright
    Gaussian blob, as IR LEDs reflect off glasses or skin). ``strength`` 0 returns ``x``."""
    if strength <= 0 or len(x) == 0:
        return x
    out = x.astype(np.float32)
    n, h, w = out.shape
    mean = out.mean(axis=(1, 2), keepdims=True)
    keep = rng.uniform(1.0 - 0.65 * strength, 1.0 - 0.2 * strength, (n, 1, 1))
    out = mean + (out - mean) * keep + rng.uniform(-25, 25, (n, 1, 1)) * strength
    out += rng.normal(0.0, 1.0, out.shape) * rng.uniform(1.0, 6.0, (n, 1, 1)) * strength
    yy, xx = np.mgrid[0:h, 0:w]
    for i in np.flatnonzero(rng.random(n) < 0.5):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sigma = rng.uniform(0.05, 0.18) * w
        amp = rng.uniform(40, 140) * strength
        out[i] += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
    return np.clip(out, 0, 255).astype(np.uint8)


def night_share(x: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``x`` with the night look (:func:`night_like`) on a random ``share`` of its crops,
    for training; and which crops got it (boolean (N,))."""
    pick = rng.random(len(x)) < share
    out = x.copy()
    out[pick] = night_like(out[pick], rng)
    return out, pick
