"""Accuracy of a model variant against the float32 model, and its speed, on real inputs.

Landmark models: mean distance of the 21 image landmarks (x, y in crop pixels) to the
float model's, divided by the hand size (diagonal of the float landmarks' bounding box).
Palm detectors: mean distance of the best detection's 7 keypoints to the float model's
best detection, divided by the float detection's box size, and the change in its score;
and what matters downstream: the float32 full landmark model run on the crop each detector's
detection gives, its landmarks compared in frame pixels as above.
"""

from __future__ import annotations

import numpy as np

from model_export.landmarks import data, hands
from model_export.landmarks.runner import Runner


def landmark_errors(variant: Runner, reference: Runner, crops: list[np.ndarray]) -> np.ndarray:
    """Per-crop mean landmark distance as a fraction of hand size."""
    errors = []
    for crop in crops:
        want = reference.run(crop)[0].reshape(21, 3)[:, :2]
        got = variant.run(crop)[0].reshape(21, 3)[:, :2]
        size = float(np.linalg.norm(want.max(axis=0) - want.min(axis=0)))
        errors.append(float(np.linalg.norm(got - want, axis=1).mean()) / size)
    return np.asarray(errors)


def palm_errors(variant: Runner, reference: Runner,
                inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame keypoint distance (fraction of box size) and absolute score change."""
    distances, score_changes = [], []
    for batch in inputs:
        no_padding = (0.0, 0.0, 0.0, 0.0)  # compared in the detector's input
        want = hands.best_palm(reference.run(batch), no_padding)
        got = hands.best_palm(variant.run(batch), no_padding)
        size = float(max(want.box[2] - want.box[0], want.box[3] - want.box[1]))
        distances.append(float(np.linalg.norm(got.keypoints - want.keypoints, axis=1).mean())
                         / size)
        score_changes.append(abs(got.score - want.score))
    return np.asarray(distances), np.asarray(score_changes)


def palm_crop_errors(variant: Runner, reference: Runner, landmark: Runner,
                     frames: list[np.ndarray]) -> np.ndarray:
    """Per-frame landmark distance (fraction of hand size) between the crops the two
    detectors give, for the frames where the landmark model finds a hand in the reference's."""
    errors = []
    for frame in frames:
        batch, padding = hands.palm_input(frame)
        found = []
        for detector in (reference, variant):
            crop = hands.crop_from_palm(frame, hands.best_palm(detector.run(batch), padding))
            points, presence = data.landmarks_in_crop(landmark, crop)
            found.append((hands.to_frame(crop, points), presence))
        (want, presence), (got, _) = found
        if presence < data.PRESENCE_THRESHOLD:
            continue
        size = float(np.linalg.norm(want.max(axis=0) - want.min(axis=0)))
        errors.append(float(np.linalg.norm(got - want, axis=1).mean()) / size)
    return np.asarray(errors)


def summary(values: np.ndarray) -> dict[str, float]:
    return {"min": round(float(values.min()), 5), "mean": round(float(values.mean()), 5),
            "p95": round(float(np.percentile(values, 95)), 5),
            "max": round(float(values.max()), 5)}


def landmark_accuracy(variant: Runner, reference: Runner, crops: list[np.ndarray],
                      empty_crops: list[np.ndarray]) -> dict[str, object]:
    """The card's accuracy entry for a landmark-model variant: landmarks on hand crops, and
    the presence score on crops with and without a hand (tracking drops a hand below 0.5)."""
    entry: dict[str, object] = {
        "crops": len(crops),
        "landmark_error_of_hand_size": summary(landmark_errors(variant, reference, crops)),
        "presence_with_hand": summary(presence(variant, crops)),
    }
    if empty_crops:
        without = presence(variant, empty_crops)
        entry["presence_without_hand"] = summary(without)
        entry["crops_without_hand"] = len(empty_crops)
        entry["hand_seen_without_hand"] = int((without >= data.PRESENCE_THRESHOLD).sum())
    return entry


def presence(model: Runner, crops: list[np.ndarray]) -> np.ndarray:
    return np.asarray([float(model.run(crop)[1].reshape(-1)[0]) for crop in crops])


def palm_accuracy(variant: Runner, reference: Runner, landmark: Runner,
                  samples: data.Samples) -> dict[str, object]:
    """The card's accuracy entry for a palm-detector variant."""
    distances, score_changes = palm_errors(variant, reference, samples.palm_inputs)
    through_crop = palm_crop_errors(variant, reference, landmark, samples.frames)
    return {"frames": len(samples.palm_inputs),
            "keypoint_error_of_box_size": summary(distances),
            "score_change": summary(score_changes),
            "landmark_error_of_hand_size_through_crop": summary(through_crop),
            "frames_with_hand": len(through_crop)}
