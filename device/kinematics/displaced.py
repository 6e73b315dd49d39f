"""Frames in which a tracker put the whole hand somewhere else for a moment.

A tracker that loses a hand for a frame or two can place the landmarks, shape intact, a
palm's length or more away, and then find the hand again where it was. The shape check
(device/kinematics/other_hand.py) does not see it, and the models do: with each hand a palm's
length off for one frame the fresh cohort's specificity over the eleven tasks fell from 92 %
to 79 %, for three frames to 16 % (`setups`; docs/evaluation-default-models.md). A hand
carried along the keyboard moves its palm smoothly from frame to frame, so the palm's centre
stays near the median of its own positions over the frames around it; a displaced frame
does not. Such frames count as frames where the hand was not found and are bridged like
them (then 92 % and 88 %).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from device.kinematics.frames import to_pixels

PALM = [0, 5, 9, 13, 17]  # the wrist and the four finger bases: they keep their shape
HALF_WINDOW = 3  # frames either side; the median then ignores up to 3 displaced frames
# The palm's centre this many palm lengths from that median marks a displaced frame at 60
# fps, and proportionally more at slower frame rates, where a hand moves further between
# frames. The largest of the fresh synthetic cohort's 3,168 hands (every task, the fastest
# tempo included) was 0.49 at 60 fps and 0.89 at 30 fps (every other frame), so at 30 fps
# (limit 1.2) a displacement of one palm length is not found, only larger ones.
LIMIT_PALMS = 0.6
LIMIT_FRAME_INTERVAL_S = 1 / 60


def displaced_frames(hand: np.ndarray, t: np.ndarray, image_size: tuple[int, int]
                     ) -> np.ndarray:
    """Boolean (T,): the frames of a (T, 21, 3) track, times ``t``, whose palm centre lies
    more than the limit from the median of its positions over the HALF_WINDOW frames either
    side, in palm lengths over the same frames; False where the hand is missing or too few
    frames around it hold it. Only the frame interval is the whole track's (the camera's)."""
    pixels = to_pixels(hand[:, PALM], image_size)[..., :2]  # wrist first, middle base third
    centre = pixels.mean(axis=1)
    palm = np.linalg.norm(pixels[:, 2] - pixels[:, 0], axis=1)
    if len(t) < 2 or np.isnan(palm).all():
        return np.zeros(len(hand), dtype=bool)
    interval = float(np.median(np.diff(t)))
    values = np.column_stack([centre, palm])
    values[np.isnan(values).any(axis=1)] = np.nan
    padded = np.pad(values, ((HALF_WINDOW, HALF_WINDOW), (0, 0)), constant_values=np.nan)
    around = sliding_window_view(padded, 2 * HALF_WINDOW + 1, axis=0)  # (T, 3, frames)
    held = (~np.isnan(around[:, 0, :])).sum(axis=1)
    # the median of the frames that hold the hand (np.nanmedian's, without its cost per
    # frame): NaNs sort last
    ordered = np.sort(around, axis=2)
    rows = np.arange(len(held))
    low, high = ((held - 1) // 2).clip(0), held // 2
    median = (ordered[rows, :, low] + ordered[rows, :, high]) / 2
    off = np.linalg.norm(centre - median[:, :2], axis=1)
    limit = LIMIT_PALMS * max(1.0, interval / LIMIT_FRAME_INTERVAL_S) * median[:, 2]
    with np.errstate(invalid="ignore"):
        return (off > limit) & (held >= HALF_WINDOW + 1)
