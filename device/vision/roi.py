"""Rotated hand regions: from a palm detection, from landmarks, and the crop they define.

Everything is in image pixels. A region is a rotated rectangle; ``rotation`` is in radians,
positive turning the rectangle's axes clockwise on the image (y points down), as in
MediaPipe's NormalizedRect. The formulas are those of MediaPipe's DetectionsToRects,
HandLandmarksToRect and RectTransformation calculators (graphs
``palm_detection_detection_to_roi`` and ``hand_landmark_landmarks_to_roi``), written for
pixel coordinates, where they are simpler and give the same regions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from device.vision.detection import MIDDLE_MCP_KEYPOINT, WRIST_KEYPOINT, Detection

TARGET_ANGLE = math.pi / 2  # the hand points straight up in the crop

# Region from a palm detection: 2.6 times the palm box, shifted half a box towards the fingers.
PALM_SCALE, PALM_SHIFT_Y = 2.6, -0.5
# Region from landmarks: twice their extent, shifted a tenth towards the fingers.
LANDMARK_SCALE, LANDMARK_SHIFT_Y = 2.0, -0.1
# Landmarks that bound the hand for the next region (MediaPipe's "partial" set):
# wrist, thumb CMC/MCP/IP, and the MCP and PIP joints of the four fingers.
REGION_LANDMARKS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
# The rotation aims at the index, middle and ring fingers' MCP joints (knuckles):
# HandLandmarksToRectCalculator's "PIP" indices 4, 6 and 8 count within the subset above.
WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP = 0, 5, 9, 13


@dataclass(frozen=True)
class RotatedRect:
    cx: float
    cy: float
    width: float
    height: float
    rotation: float  # radians

    def axis_aligned_iou(self, other: RotatedRect) -> float:
        """IoU of the two rectangles with rotation ignored (as MediaPipe associates regions)."""
        dx = min(self.cx + self.width / 2, other.cx + other.width / 2) \
            - max(self.cx - self.width / 2, other.cx - other.width / 2)
        dy = min(self.cy + self.height / 2, other.cy + other.height / 2) \
            - max(self.cy - self.height / 2, other.cy - other.height / 2)
        if dx <= 0 or dy <= 0:
            return 0.0
        inter = dx * dy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


def normalize_radians(angle: float) -> float:
    """The angle in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation_between(start: np.ndarray, end: np.ndarray) -> float:
    """Rotation that turns the image vector start -> end to point straight up."""
    return normalize_radians(TARGET_ANGLE - math.atan2(-(end[1] - start[1]), end[0] - start[0]))


def transform(rect: RotatedRect, scale: float, shift_y: float) -> RotatedRect:
    """Shift along the region's own y axis by ``shift_y`` heights, square on the long side,
    and scale (MediaPipe's RectTransformation with shift_x = 0 and square_long)."""
    dy = rect.height * shift_y
    cx = rect.cx - dy * math.sin(rect.rotation)
    cy = rect.cy + dy * math.cos(rect.rotation)
    side = max(rect.width, rect.height) * scale
    return RotatedRect(cx, cy, side, side, rect.rotation)


def from_detection(detection: Detection, image_width: int, image_height: int) -> RotatedRect:
    """Hand region from a palm detection (normalised box and keypoints)."""
    size = np.array([image_width, image_height], dtype=np.float64)
    xmin, ymin, xmax, ymax = detection.box
    keypoints = detection.keypoints * size
    rotation = rotation_between(keypoints[WRIST_KEYPOINT], keypoints[MIDDLE_MCP_KEYPOINT])
    box = RotatedRect(
        cx=(xmin + xmax) / 2 * image_width, cy=(ymin + ymax) / 2 * image_height,
        width=(xmax - xmin) * image_width, height=(ymax - ymin) * image_height,
        rotation=rotation,
    )
    return transform(box, PALM_SCALE, PALM_SHIFT_Y)


def from_landmarks(landmarks: np.ndarray) -> RotatedRect:
    """Next frame's hand region from this frame's landmarks (21, >=2) in pixels."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    towards_fingers = ((points[INDEX_MCP] + points[RING_MCP]) / 2 + points[MIDDLE_MCP]) / 2
    rotation = rotation_between(points[WRIST], towards_fingers)
    subset = points[list(REGION_LANDMARKS)]
    centre = (subset.max(axis=0) + subset.min(axis=0)) / 2
    cos, sin = math.cos(rotation), math.sin(rotation)
    # landmarks in the region's own axes (rotated by -rotation about the axis-aligned centre)
    relative = subset - centre
    local = np.stack([relative[:, 0] * cos + relative[:, 1] * sin,
                      -relative[:, 0] * sin + relative[:, 1] * cos], axis=1)
    low, high = local.min(axis=0), local.max(axis=0)
    mid = (low + high) / 2
    box = RotatedRect(
        cx=centre[0] + mid[0] * cos - mid[1] * sin,
        cy=centre[1] + mid[0] * sin + mid[1] * cos,
        width=float(high[0] - low[0]), height=float(high[1] - low[1]), rotation=rotation,
    )
    return transform(box, LANDMARK_SCALE, LANDMARK_SHIFT_Y)


def crop_to_image(rect: RotatedRect, width: int, height: int) -> np.ndarray:
    """2x3 affine matrix taking crop coordinates (0..width, 0..height) to image pixels.

    The crop's corners are the rectangle's corners, as in MediaPipe's ImageToTensor
    (which maps the rotated box's corners onto the tensor's corners).
    """
    cos, sin = math.cos(rect.rotation), math.sin(rect.rotation)
    sx, sy = rect.width / width, rect.height / height
    linear = np.array([[cos * sx, -sin * sy], [sin * sx, cos * sy]])
    origin = np.array([rect.cx, rect.cy]) - linear @ np.array([width / 2, height / 2])
    return np.hstack([linear, origin[:, None]])


def crop(image: np.ndarray, rect: RotatedRect, size: int, border: int) -> np.ndarray:
    """The rectangle's pixels warped into a ``size`` x ``size`` image (cv2.warpAffine)."""
    matrix = crop_to_image(rect, size, size)
    return cv2.warpAffine(image, matrix, (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border,
                          borderValue=0)


def project(points: np.ndarray, rect: RotatedRect, size: int) -> np.ndarray:
    """Landmarks (N, 3) in crop pixels back to image pixels; z scaled like x."""
    matrix = crop_to_image(rect, size, size)
    xy = points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    z = points[:, 2:3] * (rect.width / size)
    return np.hstack([xy, z])


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The whole RGB uint8 image, aspect kept, centred in a ``size`` x ``size`` float32 input
    in 0..1 with a zero border (the palm detector's input, MediaPipe's ImageToTensor with
    keep_aspect_ratio); and the padding left, top, right, bottom as fractions of the input,
    for :func:`device.vision.detection.remove_letterbox`."""
    height, width = image.shape[:2]
    side = max(width, height)
    whole = RotatedRect(width / 2, height / 2, side, side, 0.0)
    pad_x, pad_y = (1 - width / side) / 2, (1 - height / side) / 2
    tensor = crop(image, whole, size, cv2.BORDER_CONSTANT).astype(np.float32) / 255.0
    return tensor, (pad_x, pad_y, pad_x, pad_y)


def hand_input(image: np.ndarray, rect: RotatedRect, size: int) -> np.ndarray:
    """The hand region of an RGB uint8 image as the landmark model's float32 input in 0..1
    (edges replicated, as MediaPipe's ImageToTensor by default)."""
    return crop(image, rect, size, cv2.BORDER_REPLICATE).astype(np.float32) / 255.0
