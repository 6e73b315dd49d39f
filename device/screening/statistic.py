"""The number a hand is judged by, computed from its reconstruction.

``mse/1`` is the source study's: the mean squared reconstruction error over the whole
128 x 21 x 3 tensor. ``focal/1``: focal dystonia disturbs one or two fingers for part of a
passage, which the whole-tensor mean dilutes about twentyfold; so each finger's error is
averaged over every window of 1/8 of the passage, the worst window kept, divided by the same
quantity on healthy hands, and the worst finger gives the score. ``focal/2`` (the box's
default) does the same on the residual first averaged, with its sign, over SMOOTHING steps:
the involuntary curl lasts tenths of a second and pulls a finger the same way throughout,
whereas most of a healthy hand's residual is frame-to-frame tracker jitter that this
averaging cancels. All three are reconstruction errors with the threshold at mean + 2 SD of
healthy validation hands.
"""

from __future__ import annotations

import numpy as np

from device.screening.explain import FINGER_GROUPS, WINDOW

FOCAL_RAW = "focal/1"
FOCAL = "focal/2"
MSE = "mse/1"
SCORES = (FOCAL, FOCAL_RAW, MSE)
SMOOTHING = 8  # steps (1/16 of the passage) the signed residual is averaged over by focal/2
_GROUP_INDEX = [list(ids) for ids in FINGER_GROUPS.values()]


def smoothing_of(kind: str) -> int:
    """Steps the signed residual is averaged over before squaring (1: not at all)."""
    return SMOOTHING if kind == FOCAL else 1


def moving_mean(values: np.ndarray, steps: int) -> np.ndarray:
    """Mean over every ``steps`` consecutive rows (axis 0); ``steps - 1`` rows fewer."""
    if steps == 1:
        return values
    sums = np.cumsum(np.concatenate([np.zeros_like(values[:1]), values]), axis=0)
    return (sums[steps:] - sums[:-steps]) / steps


def finger_peaks(x: np.ndarray, reconstruction: np.ndarray, smoothing: int = 1) -> np.ndarray:
    """(6,): per finger group, the largest mean squared error over any WINDOW consecutive
    steps, of the residual averaged over ``smoothing`` steps first."""
    residual = moving_mean(np.asarray(reconstruction, np.float64) - x, smoothing)
    per_landmark_time = np.sum(residual ** 2, axis=2)  # (T, 21)
    finger_time = np.stack([per_landmark_time[:, ids].sum(axis=1) for ids in _GROUP_INDEX])
    return moving_mean(finger_time.T, WINDOW).max(axis=0)


def hand_score(kind: str, x: np.ndarray, reconstruction: np.ndarray,
               finger_norm: np.ndarray | list[float] | None) -> float:
    if kind == MSE:
        return float(np.mean((reconstruction - x) ** 2))
    if kind in (FOCAL, FOCAL_RAW):
        if finger_norm is None:
            raise ValueError(f"the {kind} score needs the healthy per-finger normalisers")
        norm = np.maximum(np.asarray(finger_norm, dtype=np.float64), 1e-12)
        return float(np.max(finger_peaks(x, reconstruction, smoothing_of(kind)) / norm))
    raise ValueError(f"unknown score {kind!r}; known: {', '.join(SCORES)}")
