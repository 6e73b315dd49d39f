"""SSD anchors, generated as MediaPipe's SsdAnchorsCalculator does for the palm detector.

Only the non-multiscale branch with ``fixed_anchor_size`` is needed: with fixed anchor size
every anchor is 1 x 1 and only its centre matters. Consecutive layers with the same stride
share one feature map, and each layer adds one anchor per aspect ratio plus one
interpolated-scale anchor per cell (``interpolated_scale_aspect_ratio`` = 1.0 by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AnchorOptions:
    input_width: int
    input_height: int
    strides: tuple[int, ...]
    aspect_ratios: tuple[float, ...] = (1.0,)
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    interpolated_scale_aspect_ratio: float = 1.0


# palm_detection_cpu.pbtxt (MediaPipe 0.10.x): 4 layers, strides 8, 16, 16, 16, 192 x 192.
PALM_ANCHORS = AnchorOptions(input_width=192, input_height=192, strides=(8, 16, 16, 16))


def generate(options: AnchorOptions) -> np.ndarray:
    """Anchor centres and sizes, (N, 4): x_center, y_center, w, h, normalised to 0..1."""
    rows: list[tuple[float, float, float, float]] = []
    layer = 0
    n_layers = len(options.strides)
    while layer < n_layers:
        stride = options.strides[layer]
        per_cell = 0
        last = layer
        while last < n_layers and options.strides[last] == stride:
            per_cell += len(options.aspect_ratios)
            if options.interpolated_scale_aspect_ratio > 0.0:
                per_cell += 1
            last += 1
        height = math.ceil(options.input_height / stride)
        width = math.ceil(options.input_width / stride)
        for y in range(height):
            for x in range(width):
                x_center = (x + options.anchor_offset_x) / width
                y_center = (y + options.anchor_offset_y) / height
                rows.extend([(x_center, y_center, 1.0, 1.0)] * per_cell)
        layer = last
    return np.asarray(rows, dtype=np.float32)
