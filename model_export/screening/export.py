"""Full-integer int8 TFLite export with a representative data set; float input and output."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

REPRESENTATIVE_MAX = 300


def to_int8_tflite(model: tf.keras.Model, representative: np.ndarray) -> bytes:
    """Weights and activations int8; the model's input and output stay float32, so the box
    feeds it the prepared hand as is."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def samples():
        for hand in representative[:REPRESENTATIVE_MAX]:
            yield [hand[None].astype(np.float32)]

    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()
