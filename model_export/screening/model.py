"""The convolutional autoencoder of the paper: 7 convolutional layers in the encoder, 7 in
the decoder, over one hand's (128 time steps, 21 landmarks, 3 coordinates) tensor.

Convolutions run over time and landmarks together (the input is an image of 128 x 21 pixels
with 3 channels), so neighbouring joints and neighbouring frames stay together, as the paper
wants for the spatio-temporal coordination of adjacent fingers. Every operation (Conv2D,
ReLU, nearest-neighbour up-sampling) has a full-integer int8 TFLite kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from device.kinematics import N_SAMPLES
from model_export.screening.architecture import DEFAULT_ARCHITECTURE, Architecture

N_LANDMARKS = 21


@tf.keras.utils.register_keras_serializable(package="dystonia_box")
class Shift(tf.keras.layers.Layer):
    """Adds ``sign`` times a fixed hand (128, 21, 3): the task's mean training hand, set by
    training (``set_mean``), stored with the weights and exported as a constant."""

    def __init__(self, sign: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sign = float(sign)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.mean = self.add_weight(name="mean", shape=tuple(input_shape[1:]),
                                    initializer="zeros", trainable=False)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return inputs + self.sign * self.mean

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {"sign": self.sign}


def set_mean(model: tf.keras.Model, mean: np.ndarray) -> None:
    """Centre a centred model on ``mean``; a model without centring is left as it is."""
    names = {layer.name for layer in model.layers}
    for name in ("centre", "uncentre"):
        if name in names:
            model.get_layer(name).set_weights([mean.astype(np.float32)])


def build(arch: Architecture = DEFAULT_ARCHITECTURE, batch_size: int | None = None,
          conv: type[tf.keras.layers.Conv2D] = tf.keras.layers.Conv2D) -> tf.keras.Model:
    """The autoencoder; ``batch_size=1`` gives the static shapes the TFLite export needs;
    ``conv`` another convolution layer of the same weights (int8_fit's rounding one)."""
    w = arch.width
    inputs = tf.keras.Input(shape=(N_SAMPLES, N_LANDMARKS, 3), batch_size=batch_size,
                            name="hand")
    # encoder: 128x21 -> 64x21 -> 32x21 -> 16x7 -> 8x7
    x = Shift(-1.0, name="centre")(inputs) if arch.centred else inputs
    x = conv(w, (5, 3), padding="same", activation="relu", name="enc1")(x)
    x = conv(w, (3, 3), strides=(2, 1), padding="same", activation="relu", name="enc2")(x)
    x = conv(2 * w, (3, 3), padding="same", activation="relu", name="enc3")(x)
    x = conv(2 * w, (3, 3), strides=(2, 1), padding="same", activation="relu", name="enc4")(x)
    x = conv(2 * w, (3, 3), strides=(2, 3), padding="same", activation="relu", name="enc5")(x)
    x = conv(w, (3, 3), strides=(2, 1), padding="same", activation="relu", name="enc6")(x)
    code = conv(arch.code_channels, (3, 3), padding="same", name="code")(x)
    # decoder: 8x7 -> 16x7 -> 32x21 -> 64x21 -> 128x21
    up = tf.keras.layers.UpSampling2D
    x = conv(w, (3, 3), padding="same", activation="relu", name="dec1")(code)
    x = up((2, 1), name="up1")(x)
    x = conv(2 * w, (3, 3), padding="same", activation="relu", name="dec2")(x)
    x = up((2, 3), name="up2")(x)
    x = conv(2 * w, (3, 3), padding="same", activation="relu", name="dec3")(x)
    x = up((2, 1), name="up3")(x)
    x = conv(2 * w, (3, 3), padding="same", activation="relu", name="dec4")(x)
    x = conv(w, (3, 3), padding="same", activation="relu", name="dec5")(x)
    x = up((2, 1), name="up4")(x)
    x = conv(w, (5, 3), padding="same", activation="relu", name="dec6")(x)
    outputs = conv(3, (3, 3), padding="same", name="dec7")(x)
    if arch.centred:
        outputs = Shift(1.0, name="uncentre")(outputs)
    return tf.keras.Model(inputs, outputs, name="hand_autoencoder")
