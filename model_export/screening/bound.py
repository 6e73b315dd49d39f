"""How much of the dystonia the prepared hands hold: a classifier trained WITH the labels.

The box's autoencoder never sees a dystonic hand. This classifier does: it is trained on one
cohort's hands, the patients' affected hands as abnormal and every other hand as not, and
judged on another cohort's takes. Its sensitivity at the paper's specificities, thresholds
set on the judged cohort's own healthy takes, estimates what a screen working from the same
(128, 21, 3) hands could reach on that cohort, the box's included. So it tells a researcher
how much of a shortfall is the screen's and how much is the cohort's. It is an analysis, not
a screen: trained on synthetic patients it learns the generator's dystonia, which the box
must not rely on; it has to learn healthy playing (docs/evaluation-default-models.md, *What
the hands hold*).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from device.kinematics import N_SAMPLES
from device.takefile import N_LANDMARKS
from model_export.screening.cohort import Cohort, CohortError, split_participants
from model_export.screening.evaluate import (
    auc_text,
    participant_fields,
    severity_text,
    with_interval,
)
from model_export.screening.metrics import TakeRecord, summarise

log = logging.getLogger(__name__)
SPECIFICITIES = (0.95, 0.88)  # the paper's, task 4 and task 7
FEATURES = N_LANDMARKS * 3


@dataclass(frozen=True)
class BoundConfig:
    max_epochs: int = 60
    patience: int = 10  # epochs without a lower validation loss before stopping
    batch_size: int = 64
    channels: tuple[int, ...] = (64, 64, 96, 128)  # 1-D convolutions over time, each halving it
    learning_rate: float = 1e-3


@dataclass
class Hands:
    """One task's prepared hands of a cohort, flattened to (n, 128, 63)."""

    x: np.ndarray
    affected: np.ndarray  # (n,) bool: the affected hand of a dystonic participant
    files: list[str]
    participants: list[str]
    sides: list[str]  # left / right

    def subset(self, keep: np.ndarray) -> Hands:
        pick = np.flatnonzero(keep)
        return Hands(self.x[pick], self.affected[pick], [self.files[i] for i in pick],
                     [self.participants[i] for i in pick], [self.sides[i] for i in pick])


def hands_of(cohort: Cohort, task: int) -> Hands:
    samples = cohort.samples.get(task, [])
    if not samples:
        raise CohortError(f"{cohort.root}: no usable hands of task {task}")
    affected = []
    for s in samples:
        group, _, affected_hand = participant_fields(cohort, s.participant)
        affected.append(group == "dystonic" and affected_hand == s.hand)
    return Hands(np.stack([s.data for s in samples]).reshape(-1, N_SAMPLES, FEATURES),
                 np.array(affected), [s.file for s in samples],
                 [s.participant for s in samples], [s.hand for s in samples])


def build(config: BoundConfig) -> tf.keras.Model:
    inputs = tf.keras.Input((N_SAMPLES, FEATURES))
    x = inputs
    for channels in config.channels:
        x = tf.keras.layers.Conv1D(channels, 5, padding="same", activation="relu")(x)
        x = tf.keras.layers.MaxPooling1D(2)(x)
    x = tf.keras.layers.Dropout(0.3)(x)
    x = tf.keras.layers.GlobalMaxPooling1D()(x)  # the abnormal part may be anywhere in the passage
    x = tf.keras.layers.Dense(64, activation="relu")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(x), name="labelled_classifier")


def standardised(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(n, 128, 63) hands, each feature scaled by the training part's mean and SD."""
    return ((x - mean) / sd).astype(np.float32)


@dataclass
class Classifier:
    model: tf.keras.Model
    mean: np.ndarray  # (63,) per-feature normalisation from the training part
    sd: np.ndarray
    epochs: int

    def logits(self, hands: Hands) -> np.ndarray:
        return self.model.predict(standardised(hands.x, self.mean, self.sd), batch_size=256,
                                  verbose=0).reshape(-1)


def fit(hands: Hands, config: BoundConfig, seed: int) -> Classifier:
    """Train on 80 % of the cohort's participants; stop on the other 20 %'s loss."""
    tf.keras.utils.set_random_seed(seed)
    _, val_ids = split_participants(hands.participants, np.random.default_rng(seed))
    in_val = np.isin(hands.participants, val_ids)
    train, val = hands.subset(~in_val), hands.subset(in_val)
    if not train.affected.any() or train.affected.all():
        raise CohortError("the training cohort needs healthy participants and patients "
                          "(participants.tsv: group dystonic, affected_hand), enough that 80 % "
                          "of the participants hold both")
    mean = train.x.reshape(-1, FEATURES).mean(axis=0)
    sd = train.x.reshape(-1, FEATURES).std(axis=0) + 1e-6
    model = build(config)
    model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
    weights = {0: 1.0, 1: float((~train.affected).sum() / train.affected.sum())}
    stop = tf.keras.callbacks.EarlyStopping("val_loss", patience=config.patience,
                                            restore_best_weights=True)
    history = model.fit(
        standardised(train.x, mean, sd), train.affected.astype(np.float32),
        validation_data=(standardised(val.x, mean, sd), val.affected.astype(np.float32)),
        epochs=config.max_epochs, batch_size=config.batch_size, class_weight=weights,
        callbacks=[stop], verbose=0)
    epochs = len(history.history["loss"])
    log.info("labelled classifier: %d epochs on %d hands (%d affected)", epochs,
             len(train.x), int(train.affected.sum()))
    return Classifier(model, mean, sd, epochs)


def healthy_take_logits(cohort: Cohort, hands: Hands, logits: np.ndarray) -> list[float]:
    """Each healthy take's larger hand logit (a take is abnormal if either hand is)."""
    best: dict[str, float] = {}
    for file, pid, logit in zip(hands.files, hands.participants, logits, strict=True):
        if participant_fields(cohort, pid)[0] == "healthy":
            best[file] = max(best.get(file, -np.inf), float(logit))
    return list(best.values())


def take_records(cohort: Cohort, task: int, hands: Hands, logits: np.ndarray,
                 threshold: float) -> list[TakeRecord]:
    """The judged cohort's takes, each hand's ratio exp(logit - threshold): above 1 is
    abnormal, so metrics.summarise reads them as it reads the box's error / threshold."""
    records: dict[str, TakeRecord] = {}
    for file, pid, side, logit in zip(hands.files, hands.participants, hands.sides, logits,
                                      strict=True):
        if file not in records:
            group, severity, affected = participant_fields(cohort, pid)
            records[file] = TakeRecord(file=file, task=task, participant=pid, group=group,
                                       severity=severity, affected_hand=affected, ratio={})
        # clipped only where exp would overflow; a logit at the threshold gives exactly 1
        records[file].ratio[side] = float(np.exp(np.clip(logit - threshold, -700.0, 700.0)))
    return list(records.values())


def judge_task(train_cohort: Cohort, cohort: Cohort, task: int, config: BoundConfig,
               seed: int) -> dict[str, Any]:
    classifier = fit(hands_of(train_cohort, task), config, seed)
    hands = hands_of(cohort, task)
    logits = classifier.logits(hands)
    healthy = healthy_take_logits(cohort, hands, logits)
    if not healthy:
        raise CohortError(f"{cohort.root}: no healthy takes of task {task} to set thresholds on")
    out = {"epochs": classifier.epochs, "operating_points": []}
    for specificity in SPECIFICITIES:
        # the lowest threshold that passes at least that share of the healthy takes
        threshold = float(np.quantile(healthy, specificity, method="inverted_cdf"))
        summary = summarise(take_records(cohort, task, hands, logits, threshold))
        out["operating_points"].append({"target_specificity": specificity, **summary})
    return out


def judge(train_cohort: Cohort, cohort: Cohort, tasks: list[int], config: BoundConfig,
          seed: int) -> dict[int, dict[str, Any]]:
    return {task: judge_task(train_cohort, cohort, task, config, seed) for task in tasks}


def table(result: dict[int, dict[str, Any]]) -> str:
    lines = ["| task | specificity: target / reached | sensitivity (95 % interval) | ROC AUC | "
             "mild / moderate / marked |",
             "|---|---|---|---|---|"]
    for task, found in result.items():
        for point in found["operating_points"]:
            lines.append(
                f"| {task} | {100 * point['target_specificity']:.0f} / "
                f"{100 * point['specificity']:.0f} % | "
                f"{with_interval(point['sensitivity'], point['sensitivity_interval'])} | "
                f"{auc_text(point)} | {severity_text(point)} |")
    return "\n".join(lines)
