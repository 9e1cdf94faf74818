"""The CNN of every trained model (emotion, eyes, yawn): small, Pi-friendly and int8-friendly (conv / BN / ReLU / max-pool only)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def build_cnn(
    input_shape: tuple[int, int, int],
    num_classes: int,
    widths: Sequence[int] = (32, 64, 128, 256),
    convs: Sequence[int] = (1, 2, 2, 2),
    dropout: float = 0.3,
    name: str = "emotion_cnn",
) -> keras.Model:
    """Build a VGG-style CNN ending in global average pooling and a softmax.

    Every op maps to a fused TFLite int8 kernel: Conv2D+BN fold into one conv with ReLU fused,
    max-pooling and average pooling are exact in int8, and the softmax output is kept in the
    model so the int8 output tensor is a probability vector.

    Args:
        input_shape: (H, W, C) of the input.
        num_classes: Number of output classes.
        widths: Filters of each block; each block ends with 2x2 max-pooling.
        convs: Number of 3x3 convolutions in each block.
        dropout: Dropout before the classifier.
        name: Model name.
    """
    if len(widths) != len(convs):
        raise ValueError("widths and convs must have the same length")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for block, (w, n) in enumerate(zip(widths, convs, strict=True)):
        for i in range(n):
            x = layers.Conv2D(w, 3, padding="same", use_bias=False, name=f"b{block}_conv{i}")(x)
            x = layers.BatchNormalization(name=f"b{block}_bn{i}")(x)
            x = layers.ReLU(name=f"b{block}_relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"b{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    return keras.Model(inputs, outputs, name=name)
