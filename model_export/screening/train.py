"""Training one autoencoder per task on healthy hands, with the paper's augmentation.

Each epoch sees every training hand once as recorded and ``augment_copies`` times rotated,
scaled or both (device.kinematics.augment). The learning rate is halved whenever the
validation error has not improved by ``min_improvement`` (relative) for ``lr_patience``
epochs; training stops when it has not improved for ``patience`` epochs — the paper's
"until the reconstruction error converged" — and the best weights are kept. The model is
then fine-tuned for ``int8_epochs`` with its kernels on the int8 grid (int8_fit), so that
the int8 export decides as the float model does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from device.kinematics.augment import BONE_SD, DEPTH_GAIN, augment
from model_export.screening.architecture import Architecture
from model_export.screening.int8_fit import fine_tune_for_int8
from model_export.screening.model import build, set_mean

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    arch: Architecture = field(default_factory=Architecture)
    max_epochs: int = 400
    patience: int = 40
    min_improvement: float = 0.005
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_patience: int = 15
    min_learning_rate: float = 3e-5
    augment_copies: int = 3
    max_angle_deg: float = 10.0
    max_scale: float = 0.1
    max_depth_gain: float = DEPTH_GAIN  # set-up deviations (device.kinematics.augment); 1: none
    bone_sd: float = BONE_SD  # 0: none
    int8_epochs: int = 20  # fine-tuning with int8-rounded kernels after convergence (0: none)
    int8_learning_rate: float = 1e-4


@dataclass
class TrainResult:
    model: tf.keras.Model
    epochs: int
    train_error: float  # MSE on the un-augmented training hands: best weights, int8-tuned
    validation_error: float
    history: list[tuple[float, float]] = field(default_factory=list)  # (train, val) per epoch
    seconds: float = 0.0
    best_epoch: int = 0
    stopped_by: str = ""  # "converged" (patience ran out) or "max_epochs"


def reconstruction_errors(model: tf.keras.Model, x: np.ndarray) -> np.ndarray:
    """MSE per hand of the float Keras model."""
    out = model.predict(x, batch_size=64, verbose=0)
    return np.mean((out - x) ** 2, axis=(1, 2, 3))


def _augmented(x: np.ndarray, rng: np.random.Generator, config: TrainConfig) -> np.ndarray:
    copies = [x]
    for _ in range(config.augment_copies):
        copies.append(np.stack([
            augment(hand, rng, max_angle_deg=config.max_angle_deg, max_scale=config.max_scale,
                    max_depth_gain=config.max_depth_gain, bone_sd=config.bone_sd)
            for hand in x
        ]))
    return np.concatenate(copies)


def tune_for_int8(model: tf.keras.Model, x_train: np.ndarray, config: TrainConfig,
                  rng: np.random.Generator) -> tf.keras.Model:
    """``config.int8_epochs`` epochs of int8-rounded fine-tuning on augmented training hands."""
    epochs = (_augmented(x_train, rng, config) for _ in range(config.int8_epochs))
    return fine_tune_for_int8(model, config.arch, epochs, config.int8_learning_rate)


def train(x_train: np.ndarray, x_val: np.ndarray, config: TrainConfig, seed: int,
          start: tf.keras.Model | None = None) -> TrainResult:
    """Train to convergence, from random weights or from ``start``'s (same architecture)."""
    if len(x_train) == 0 or len(x_val) == 0:
        raise ValueError("training needs at least one training and one validation hand")
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(config.arch)
    if start is not None:
        model.set_weights(start.get_weights())
    else:
        set_mean(model, x_train.mean(axis=0))
    optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    model.compile(optimizer=optimizer, loss="mse")
    best, best_weights, best_epoch, stale = np.inf, model.get_weights(), 0, 0
    stopped_by = "max_epochs"
    history: list[tuple[float, float]] = []
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        batch = _augmented(x_train, rng, config)
        fit = model.fit(batch, batch, batch_size=config.batch_size, epochs=1, shuffle=True,
                        verbose=0)
        val = float(np.mean(reconstruction_errors(model, x_val)))
        history.append((float(fit.history["loss"][-1]), val))
        if epoch % 10 == 0:
            log.info("epoch %d: train %.4g, validation %.4g (best %.4g at %d), %.0f s",
                     epoch, history[-1][0], val, min(best, val), best_epoch,
                     time.perf_counter() - start)
        if val < best * (1.0 - config.min_improvement):
            best, best_weights, best_epoch, stale = val, model.get_weights(), epoch, 0
        else:
            stale += 1
            if stale >= config.patience:
                stopped_by = "converged"
                break
            if stale % config.lr_patience == 0:
                rate = max(float(optimizer.learning_rate.numpy()) / 2, config.min_learning_rate)
                optimizer.learning_rate.assign(rate)
                log.info("epoch %d: learning rate now %.3g", epoch, rate)
    model.set_weights(best_weights)
    if config.int8_epochs > 0:
        model = tune_for_int8(model, x_train, config, rng)
    result = TrainResult(
        model=model, epochs=epoch,
        train_error=float(np.mean(reconstruction_errors(model, x_train))),
        validation_error=float(np.mean(reconstruction_errors(model, x_val))),
        history=history, seconds=time.perf_counter() - start, best_epoch=best_epoch,
        stopped_by=stopped_by,
    )
    log.info("trained %d epochs (best %d, %s) in %.0f s: train %.3g, validation %.3g",
             epoch, best_epoch, stopped_by, result.seconds, result.train_error,
             result.validation_error)
    return result
