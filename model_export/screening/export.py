"""Full-integer int8 TFLite export with a representative data set; float input and output."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from model_export.screening.architecture import Architecture
from model_export.screening.model import build

REPRESENTATIVE_MAX = 300


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """The converter's C++ code prints to file descriptor 1; keep stdout for results
    (``evaluate --json``)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def to_int8_tflite(model: tf.keras.Model, arch: Architecture, representative: np.ndarray
                   ) -> bytes:
    """Weights and activations int8; the model's input and output stay float32, so the box
    feeds it the prepared hand as is. The model is rebuilt with batch size 1: the converter
    needs static shapes around the up-sampling layers."""
    single = build(arch, batch_size=1)
    single.set_weights(model.get_weights())
    converter = tf.lite.TFLiteConverter.from_keras_model(single)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def samples():
        for hand in representative[:REPRESENTATIVE_MAX]:
            yield [hand[None].astype(np.float32)]

    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with stdout_to_stderr():
        return converter.convert()
