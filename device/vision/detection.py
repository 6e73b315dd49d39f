"""Palm detections: decoding the detector's raw tensors and weighted non-maximum suppression.

Follows MediaPipe's TensorsToDetectionsCalculator (palm options: ``reverse_output_order``,
so boxes are x_center, y_center, w, h and keypoints x, y; scale 192; sigmoid scores clipped
at +-100) and NonMaxSuppressionCalculator with the WEIGHTED algorithm and
intersection-over-union overlap 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_PALM_KEYPOINTS = 7
WRIST_KEYPOINT = 0  # centre of the wrist
MIDDLE_MCP_KEYPOINT = 2  # knuckle (MCP joint) of the middle finger


@dataclass(frozen=True)
class DecodeOptions:
    scale: float = 192.0  # x_scale = y_scale = w_scale = h_scale
    score_clipping: float = 100.0
    min_score: float = 0.5
    n_keypoints: int = N_PALM_KEYPOINTS
    keypoint_offset: int = 4


@dataclass
class Detection:
    """One palm: box corners and keypoints normalised to the image (0..1), and its score."""

    score: float
    box: np.ndarray  # (4,) xmin, ymin, xmax, ymax
    keypoints: np.ndarray  # (K, 2) x, y


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           options: DecodeOptions = DecodeOptions()) -> list[Detection]:
    """Detections above ``options.min_score`` from one image's raw tensors.

    ``raw_boxes`` (N, C) and ``raw_scores`` (N,) or (N, 1) as the model gives them,
    ``anchors`` (N, 4) from :func:`device.vision.anchors.generate`.
    """
    raw_boxes = np.asarray(raw_boxes, dtype=np.float64)
    logits = np.asarray(raw_scores, dtype=np.float64).reshape(-1)
    if raw_boxes.shape[0] != anchors.shape[0] or logits.shape[0] != anchors.shape[0]:
        raise ValueError(
            f"detector gave {raw_boxes.shape[0]} boxes and {logits.shape[0]} scores for "
            f"{anchors.shape[0]} anchors"
        )
    logits = np.clip(logits, -options.score_clipping, options.score_clipping)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= options.min_score)
    if keep.size == 0:
        return []
    raw = raw_boxes[keep]
    anchor = anchors[keep].astype(np.float64)
    ax, ay, aw, ah = anchor.T
    x_center = raw[:, 0] / options.scale * aw + ax
    y_center = raw[:, 1] / options.scale * ah + ay
    w = raw[:, 2] / options.scale * aw
    h = raw[:, 3] / options.scale * ah
    boxes = np.stack([x_center - w / 2, y_center - h / 2, x_center + w / 2, y_center + h / 2],
                     axis=1)
    start = options.keypoint_offset
    points = raw[:, start:start + 2 * options.n_keypoints].reshape(-1, options.n_keypoints, 2)
    points = points / options.scale * np.stack([aw, ah], axis=1)[:, None, :] \
        + np.stack([ax, ay], axis=1)[:, None, :]
    detections = []
    for i in range(keep.size):
        if not (w[i] >= 0 and h[i] >= 0):  # negative or NaN size: MediaPipe drops these too
            continue
        detections.append(Detection(score=float(scores[keep[i]]), box=boxes[i],
                                    keypoints=points[i]))
    return detections


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (xmin, ymin, xmax, ymax)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return float(intersection / union) if union > 0 else 0.0


def weighted_nms(detections: list[Detection], threshold: float = 0.3) -> list[Detection]:
    """Merge overlapping detections into their score-weighted mean, best first.

    Each round takes the best remaining detection and every remaining one whose IoU with it
    exceeds ``threshold`` (the best included); box corners and keypoints become the
    score-weighted means of that group, and the score stays the best one's.
    """
    remaining = sorted(detections, key=lambda d: d.score, reverse=True)
    merged: list[Detection] = []
    while remaining:
        best = remaining[0]
        group, rest = [best], []
        for other in remaining[1:]:
            (group if iou(other.box, best.box) > threshold else rest).append(other)
        weights = np.array([d.score for d in group])[:, None]
        box = np.sum(weights * np.stack([d.box for d in group]), axis=0) / weights.sum()
        keypoints = np.sum(weights[:, :, None] * np.stack([d.keypoints for d in group]),
                           axis=0) / weights.sum()
        merged.append(Detection(score=best.score, box=box, keypoints=keypoints))
        remaining = rest
    return merged


def remove_letterbox(detection: Detection, padding: tuple[float, float, float, float]
                     ) -> Detection:
    """Map a detection from the letterboxed square input back to the unpadded image.

    ``padding`` is left, top, right, bottom as fractions of the padded input.
    """
    left, top, right, bottom = padding
    sx, sy = 1.0 - left - right, 1.0 - top - bottom
    offset = np.array([left, top, left, top])
    scale = np.array([sx, sy, sx, sy])
    return Detection(
        score=detection.score,
        box=(detection.box - offset) / scale,
        keypoints=(detection.keypoints - [left, top]) / [sx, sy],
    )
