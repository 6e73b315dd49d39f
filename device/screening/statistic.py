"""The number a hand is judged by, computed from its reconstruction.

``mse/1`` is the source study's: the mean squared reconstruction error over the whole
128 x 21 x 3 tensor. ``focal/1``: focal dystonia disturbs one or two fingers for part of a
passage, which the whole-tensor mean dilutes about twentyfold; so each finger's error is
averaged over every window of 1/8 of the passage, the worst window kept, divided by the same
quantity on healthy hands, and the worst finger gives the score. ``focal/2`` (the box's
default before curl/1) does the same on the residual first averaged, with its sign, over
SMOOTHING steps: the involuntary curl lasts tenths of a second and pulls a finger the same
way throughout, whereas most of a healthy hand's residual is frame-to-frame tracker jitter
that this averaging cancels. ``curl/1`` (the box's default since 2026-11-26) looks only where a
dystonic curl shows: each fingertip's reconstruction residual along the hand (the y axis of
the hand's frame, device/kinematics/frames.py) relative to its knuckle's, smoothed over
CURL_SMOOTHING steps, its mean square over the whole passage per finger, divided by the same
quantity on healthy hands, and the worst finger gives the score. A curl pulls the fingertip
towards the wrist along that axis; most of a healthy hand's residual lies elsewhere (across
the hand, in depth, in the wrist's path along the keyboard) and is left out. A classifier
trained with the dystonic labels leans on the same: fingertips along y
(docs/evaluation-default-models.md, *What the hands hold*). All four are reconstruction
errors with the threshold at mean + 2 SD of healthy validation hands.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from device.kinematics import PAPER_PREPROCESSING
from device.screening.explain import FINGER_GROUPS, WINDOW

CURL = "curl/1"
FOCAL_RAW = "focal/1"
FOCAL = "focal/2"
MSE = "mse/1"
SCORES = (CURL, FOCAL, FOCAL_RAW, MSE)
SMOOTHING = 8  # steps (1/16 of the passage) the signed residual is averaged over by focal/2
_GROUP_INDEX = [list(ids) for ids in FINGER_GROUPS.values()]
# curl/1: (fingertip, knuckle) landmarks of thumb, index, middle, ring and little finger
CURL_FINGERS = ("thumb", "index", "middle", "ring", "little")
_TIPS, _KNUCKLES = [4, 8, 12, 16, 20], [2, 5, 9, 13, 17]
ALONG_HAND = 1  # the hand frame's y axis: from the knuckles towards the wrist
# SD (steps) of the Gaussian the curl residual is smoothed with: 8 of 128 steps, a tenth to a
# quarter of a second on tasks 4 and 7; chosen among 0-24 on a tuning cohort (seed 808)
CURL_SMOOTHING = 8.0
# how many per-finger normalisers (the card's finger_window_norm) each score divides by
FINGER_NORM_SIZE = {CURL: len(CURL_FINGERS), FOCAL: len(FINGER_GROUPS),
                    FOCAL_RAW: len(FINGER_GROUPS)}


def unfit_score(kind: str, representation: str) -> str | None:
    """Why ``kind`` cannot judge hands prepared as ``representation`` (None: it can): curl/1
    reads the y axis of the hand's own frame, which the paper's image coordinates lack."""
    if kind == CURL and representation == PAPER_PREPROCESSING:
        return (f"the {CURL} score needs hands in the hand's own frame, not "
                f"{PAPER_PREPROCESSING} (the image's axes); use --score mse/1 or focal/2")
    return None


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


def curl_errors(x: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """(5,): per finger (CURL_FINGERS), the mean square over the passage of its fingertip's
    residual along the hand relative to its knuckle's, smoothed over CURL_SMOOTHING steps."""
    residual = (np.asarray(reconstruction, np.float64) - x)[:, :, ALONG_HAND]  # (T, 21)
    curl = gaussian_filter1d(residual[:, _TIPS] - residual[:, _KNUCKLES], CURL_SMOOTHING,
                             axis=0, mode="nearest")
    return np.mean(curl ** 2, axis=0)


def finger_errors(kind: str, x: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """The per-finger quantity ``kind`` divides by its healthy mean (the card's
    finger_window_norm): five fingers for curl/1, six finger groups' peaks for the others
    (mse/1 does not use them; its card keeps them for reference)."""
    if kind == CURL:
        return curl_errors(x, reconstruction)
    return finger_peaks(x, reconstruction, smoothing_of(kind))


def finger_score_ratios(kind: str, x: np.ndarray, reconstruction: np.ndarray,
                        finger_norm: np.ndarray | list[float] | None
                        ) -> dict[str, float] | None:
    """curl/1's value per finger over its healthy mean, by finger name (what the score is
    the largest of); None for the other scores."""
    if kind != CURL or finger_norm is None:
        return None
    norm = np.maximum(np.asarray(finger_norm, dtype=np.float64), 1e-12)
    ratios = curl_errors(x, reconstruction) / norm
    return {name: float(r) for name, r in zip(CURL_FINGERS, ratios, strict=True)}


def hand_score(kind: str, x: np.ndarray, reconstruction: np.ndarray,
               finger_norm: np.ndarray | list[float] | None) -> float:
    if kind == MSE:
        return float(np.mean((reconstruction - x) ** 2))
    if kind in (CURL, FOCAL, FOCAL_RAW):
        if finger_norm is None:
            raise ValueError(f"the {kind} score needs the healthy per-finger normalisers")
        norm = np.maximum(np.asarray(finger_norm, dtype=np.float64), 1e-12)
        return float(np.max(finger_errors(kind, x, reconstruction) / norm))
    raise ValueError(f"unknown score {kind!r}; known: {', '.join(SCORES)}")
