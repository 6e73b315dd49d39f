"""Model inputs cut from frames with the box's own geometry (``device.vision``): the palm
detector's letterboxed frame, its best palm, and the landmark model's hand crops, from a
palm detection or, as when tracking, from landmarks.

The builder calibrates and evaluates on exactly the inputs the box's pipeline gives the
models, so the geometry lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.vision import anchors, detection, roi

PALM_SIZE = 192
CROP_SIZE = 224
PALM_ANCHORS = anchors.generate(anchors.PALM_ANCHORS)
_EVERY_SCORE = detection.DecodeOptions(min_score=0.0)

Padding = tuple[float, float, float, float]


@dataclass(frozen=True)
class HandCrop:
    """A landmark-model input and the hand region (frame pixels) it was cut from."""

    batch: np.ndarray  # (1, 224, 224, 3) float32 RGB in [0, 1]
    rect: roi.RotatedRect


def palm_input(frame_rgb: np.ndarray) -> tuple[np.ndarray, Padding]:
    """The detector input (1, 192, 192, 3) and the letterbox padding."""
    tensor, padding = roi.letterbox(frame_rgb, PALM_SIZE)
    return tensor[None], padding


def best_palm(outputs: list[np.ndarray], padding: Padding) -> detection.Detection:
    """The highest-scoring anchor of one detector output (boxes, scores, each with the batch
    axis), normalised to the frame; no score threshold and no suppression."""
    found = detection.decode(outputs[0][0], outputs[1][0], PALM_ANCHORS, _EVERY_SCORE)
    if not found:
        raise ValueError("the palm detector gave no box of positive size")
    return detection.remove_letterbox(max(found, key=lambda d: d.score), padding)


def crop(frame_rgb: np.ndarray, rect: roi.RotatedRect) -> HandCrop:
    return HandCrop(batch=roi.hand_input(frame_rgb, rect, CROP_SIZE)[None], rect=rect)


def crop_from_palm(frame_rgb: np.ndarray, palm: detection.Detection) -> HandCrop:
    """The region MediaPipe cuts around a palm detection."""
    height, width = frame_rgb.shape[:2]
    return crop(frame_rgb, roi.from_detection(palm, width, height))


def crop_from_landmarks(frame_rgb: np.ndarray, points: np.ndarray) -> HandCrop:
    """The region MediaPipe tracks with, from 21 landmarks (frame pixels, x and y first)."""
    return crop(frame_rgb, roi.from_landmarks(points))


def to_frame(hand: HandCrop, points: np.ndarray) -> np.ndarray:
    """Landmark-model points (N, 3) in crop pixels to frame pixels (x, y)."""
    return roi.project(points, hand.rect, CROP_SIZE)[:, :2]
