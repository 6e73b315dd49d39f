"""The number a hand is judged by, computed from its reconstruction.

``mse/1`` is the source study's: the mean squared reconstruction error over the whole
128 x 21 x 3 tensor. ``focal/1`` is the box's default: focal dystonia disturbs one or two
fingers for part of a passage, which the whole-tensor mean dilutes about twentyfold; so each
finger's error is averaged over every window of 1/8 of the passage, the worst window kept,
divided by the same quantity on healthy hands, and the worst finger gives the score. Both are
reconstruction errors with the threshold at mean + 2 SD of healthy validation hands.
"""

from __future__ import annotations

import numpy as np

from device.screening.explain import WINDOW, finger_time_error

FOCAL = "focal/1"
MSE = "mse/1"
SCORES = (FOCAL, MSE)


def finger_peaks(x: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """(6,): per finger group, the largest mean error over any WINDOW consecutive steps."""
    finger_time = finger_time_error(x, reconstruction)
    kernel = np.ones(WINDOW) / WINDOW
    return np.array([np.convolve(row, kernel, mode="valid").max() for row in finger_time])


def hand_score(kind: str, x: np.ndarray, reconstruction: np.ndarray,
               finger_norm: np.ndarray | list[float] | None) -> float:
    if kind == MSE:
        return float(np.mean((reconstruction - x) ** 2))
    if kind == FOCAL:
        if finger_norm is None:
            raise ValueError("the focal score needs the healthy per-finger normalisers")
        norm = np.maximum(np.asarray(finger_norm, dtype=np.float64), 1e-12)
        return float(np.max(finger_peaks(x, reconstruction) / norm))
    raise ValueError(f"unknown score {kind!r}; known: {', '.join(SCORES)}")
