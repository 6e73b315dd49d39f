"""MediaPipe Hands' geometry, enough to cut hand crops from frames (offline only).

The palm detector (192x192 RGB in [0, 1], image letterboxed) scores 2016 SSD anchors and
regresses a box and 7 palm keypoints per anchor; the landmark model reads a 224x224 crop
rotated so that the wrist-to-middle-finger axis points up, 2.6 times the palm box, shifted
half a box towards the fingers; when tracking, the next crop comes from the landmarks:
twice their extent, shifted a tenth towards the fingers (MediaPipe's hand tracking graphs).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PALM_SIZE = 192
CROP_SIZE = 224
_ANCHOR_STRIDES = (8, 16, 16, 16)
_SCORE_CLIP = 100.0
_PALM_RECT_SCALE = 2.6
_PALM_RECT_SHIFT_Y = -0.5
_TRACK_RECT_SCALE = 2.0
_TRACK_RECT_SHIFT_Y = -0.1


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


def crop_from_palm(frame_rgb: np.ndarray, palm: Palm) -> HandCrop:
    """The crop MediaPipe cuts around a palm detection (2.6 boxes, shifted to the fingers)."""
    rotation = _rotation(palm.keypoints[0], palm.keypoints[2])
    side = max(palm.box[2], palm.box[3]) * _PALM_RECT_SCALE
    shift = np.array([-np.sin(rotation), np.cos(rotation)]) * _PALM_RECT_SHIFT_Y * palm.box[3]
    return rotated_crop(frame_rgb, palm.box[:2] + shift, side, rotation)


def crop_from_landmarks(frame_rgb: np.ndarray, points: np.ndarray) -> HandCrop:
    """The crop MediaPipe tracks with from the previous frame's 21 landmarks (frame pixels)."""
    knuckles = (points[5] + points[13]) / 2
    rotation = _rotation(points[0], (knuckles + points[9]) / 2)
    cos, sin = np.cos(rotation), np.sin(rotation)
    to_hand = np.array([[cos, sin], [-sin, cos]])  # frame axes -> hand axes
    aligned = points @ to_hand.T
    low, high = aligned.min(axis=0), aligned.max(axis=0)
    size = high - low
    centre = ((low + high) / 2) @ to_hand
    shift = np.array([-sin, cos]) * _TRACK_RECT_SHIFT_Y * size[1]
    return rotated_crop(frame_rgb, centre + shift, max(size) * _TRACK_RECT_SCALE, rotation)


def rotated_crop(frame_rgb: np.ndarray, centre: np.ndarray, side: float,
                 rotation: float) -> HandCrop:
    """A 224x224 square of ``side`` frame pixels around ``centre``, its up axis turned by
    ``rotation`` (clockwise in the image)."""
    cos, sin = np.cos(rotation), np.sin(rotation)
    unit = side / CROP_SIZE
    # crop pixel (u, v) -> frame: centre + R @ ((u, v) * unit - side / 2)
    crop_to_frame = np.array([
        [cos * unit, -sin * unit, centre[0] - (cos - sin) * side / 2],
        [sin * unit, cos * unit, centre[1] - (sin + cos) * side / 2],
    ], np.float32)
    image = cv2.warpAffine(frame_rgb, crop_to_frame, (CROP_SIZE, CROP_SIZE),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT)
    return HandCrop(image=image.astype(np.float32) / 255.0, crop_to_frame=crop_to_frame)


def crop_to_frame_points(crop: HandCrop, points: np.ndarray) -> np.ndarray:
    """Crop pixels (N, 2) to frame pixels."""
    return points @ crop.crop_to_frame[:, :2].T + crop.crop_to_frame[:, 2]


def _rotation(wrist: np.ndarray, towards_fingers: np.ndarray) -> float:
    """Turn that brings the wrist-to-fingers axis upright (MediaPipe's target angle 90°)."""
    delta = towards_fingers - wrist
    angle = np.pi / 2 - np.arctan2(-delta[1], delta[0])
    return float((angle + np.pi) % (2 * np.pi) - np.pi)
