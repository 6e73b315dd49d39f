"""MediaPipe Hands' geometry, enough to cut hand crops from frames (offline only).

The palm detector (192x192 RGB in [0, 1], image letterboxed) scores 2016 SSD anchors and
regresses a box and 7 palm keypoints per anchor; the landmark model reads a 224x224 crop
rotated so that the wrist-to-middle-finger axis points up, 2.6 times the palm box, shifted
half a box towards the fingers (MediaPipe's hand_landmark_tracking graph).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PALM_SIZE = 192
CROP_SIZE = 224
_ANCHOR_STRIDES = (8, 16, 16, 16)
_SCORE_CLIP = 100.0
_RECT_SCALE = 2.6
_RECT_SHIFT_Y = -0.5


@dataclass(frozen=True)
class Palm:
    """The best palm detection in a frame, in frame pixels."""

    score: float
    box: np.ndarray  # cx, cy, w, h
    keypoints: np.ndarray  # (7, 2)


@dataclass(frozen=True)
class HandCrop:
    """A landmark-model input and the affine map from crop pixels back to frame pixels."""

    image: np.ndarray  # (224, 224, 3) float32 RGB in [0, 1]
    crop_to_frame: np.ndarray  # (2, 3)


def palm_anchors() -> np.ndarray:
    """Anchor centres (2016, 2) in [0, 1], in the detector's output order."""
    centres = []
    layer = 0
    while layer < len(_ANCHOR_STRIDES):
        stride = _ANCHOR_STRIDES[layer]
        repeats = 0
        while layer < len(_ANCHOR_STRIDES) and _ANCHOR_STRIDES[layer] == stride:
            repeats += 2  # two aspect ratios' worth of anchors per layer, all of fixed size
            layer += 1
        cells = PALM_SIZE // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, repeats, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


def letterbox(frame_rgb: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """The detector input (1, 192, 192, 3) and the scale and offset back to frame pixels."""
    height, width = frame_rgb.shape[:2]
    scale = max(height, width) / PALM_SIZE
    new_w, new_h = round(width / scale), round(height / scale)
    resized = cv2.resize(frame_rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((PALM_SIZE, PALM_SIZE, 3), np.float32)
    top, left = (PALM_SIZE - new_h) // 2, (PALM_SIZE - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized.astype(np.float32) / 255.0
    return canvas[None], scale, np.array([left, top], np.float32)


def best_palm(regressors: np.ndarray, scores: np.ndarray, anchors: np.ndarray,
              scale: float, offset: np.ndarray) -> Palm:
    """Decode the highest-scoring anchor of one detector output into frame pixels."""
    logits = np.clip(scores.reshape(-1), -_SCORE_CLIP, _SCORE_CLIP)
    best = int(np.argmax(logits))
    raw = regressors.reshape(-1, 18)[best]
    centre = anchors[best] * PALM_SIZE + raw[0:2]
    points = anchors[best] * PALM_SIZE + raw[4:18].reshape(7, 2)
    box = np.concatenate([(centre - offset) * scale, raw[2:4] * scale])
    return Palm(score=float(1.0 / (1.0 + np.exp(-logits[best]))), box=box,
                keypoints=(points - offset) * scale)


def hand_crop(frame_rgb: np.ndarray, palm: Palm) -> HandCrop:
    """Cut the rotated square around the hand the landmark model expects."""
    wrist, middle = palm.keypoints[0], palm.keypoints[2]
    rotation = np.pi / 2 - np.arctan2(-(middle[1] - wrist[1]), middle[0] - wrist[0])
    side = max(palm.box[2], palm.box[3]) * _RECT_SCALE
    shift = np.array([-np.sin(rotation), np.cos(rotation)]) * _RECT_SHIFT_Y * palm.box[3]
    centre = palm.box[:2] + shift
    cos, sin = np.cos(rotation), np.sin(rotation)
    # crop pixel (u, v) -> frame: centre + R @ ((u, v) / 224 - 0.5) * side
    unit = side / CROP_SIZE
    crop_to_frame = np.array([
        [cos * unit, -sin * unit, centre[0] - (cos - sin) * side / 2],
        [sin * unit, cos * unit, centre[1] - (sin + cos) * side / 2],
    ], np.float32)
    image = cv2.warpAffine(frame_rgb, crop_to_frame, (CROP_SIZE, CROP_SIZE),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT)
    return HandCrop(image=image.astype(np.float32) / 255.0, crop_to_frame=crop_to_frame)
