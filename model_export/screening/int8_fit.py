"""Fine-tuning a trained autoencoder so its int8 export decides as the float model does.

Post-training int8 quantisation rounds every kernel to 255 levels per output channel. Most
of the difference between the int8 model's reconstruction and the float one's comes from
that rounding (measured in docs/evaluation-default-models.md), and the screening score
magnifies it: it is the small, smoothed residual that decides a hand. So after training,
the model is fine-tuned for a few epochs with each kernel rounded to the int8 grid in the
forward pass (a straight-through estimator passes the gradient to the unrounded kernel),
and the kernels are then set onto that grid. The result is an ordinary float model whose
weights the int8 export holds exactly; only the int8 activations still differ.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from model_export.screening.architecture import Architecture
from model_export.screening.model import build

log = logging.getLogger(__name__)
INT8_LEVELS = 127  # TFLite's per-channel symmetric weight range is -127..127


def int8_grid(kernel: np.ndarray) -> np.ndarray:
    """A Conv2D kernel (h, w, in, out) rounded as TFLite's per-channel int8 weights are:
    scale max|w| / 127 per output channel."""
    scale = np.abs(kernel).max(axis=(0, 1, 2), keepdims=True) / INT8_LEVELS
    scale = np.where(scale > 0, scale, 1.0)
    return (np.round(kernel / scale) * scale).astype(kernel.dtype)


class Int8WeightConv2D(tf.keras.layers.Conv2D):
    """Conv2D whose forward pass uses the kernel rounded to the int8 grid; the gradient goes
    to the unrounded kernel as if there were no rounding (straight-through)."""

    def convolution_op(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        scale = tf.reduce_max(tf.abs(kernel), axis=[0, 1, 2], keepdims=True) / INT8_LEVELS
        scale = tf.where(scale > 0, scale, tf.ones_like(scale))
        rounded = tf.round(kernel / scale) * scale
        return super().convolution_op(inputs, kernel + tf.stop_gradient(rounded - kernel))


def on_int8_grid(model: tf.keras.Model) -> list[np.ndarray]:
    """The model's weights with every kernel rounded to the int8 grid (biases and the
    centring hand unchanged)."""
    out = []
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, tf.keras.layers.Conv2D):
            kernel, bias = weights
            weights = [int8_grid(kernel), bias]
        out += weights
    return out


def fine_tune_for_int8(model: tf.keras.Model, arch: Architecture,
                       batches: Iterable[np.ndarray], learning_rate: float) -> tf.keras.Model:
    """A float model like ``model`` whose kernels lie on the int8 grid, after one epoch of
    int8-rounded training per entry of ``batches`` (each the epoch's training hands)."""
    start = time.perf_counter()
    twin = build(arch, conv=Int8WeightConv2D)
    twin.set_weights(model.get_weights())
    twin.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss="mse")
    epochs = 0
    for batch in batches:
        twin.fit(batch, batch, batch_size=32, epochs=1, shuffle=True, verbose=0)
        epochs += 1
    tuned = build(arch)
    tuned.set_weights(on_int8_grid(twin))
    log.info("int8 fine-tuning: %d epochs in %.0f s", epochs, time.perf_counter() - start)
    return tuned
