"""Depth scale (``kinematics/4``): each hand's z brought to one scale, whatever the tracker.

MediaPipe's z is only "roughly" in x's scale, and other trackers and camera set-ups give
depth at another scale. With z twice MediaPipe's, healthy hands' reconstruction errors
rose far over the threshold (specificity 15 %, ``python -m model_export setups``). So the
hand's own depth-to-plane ratio is measured and z rescaled to bring it to DEPTH_REFERENCE.

The ratio is the geometric mean of two measures that both scale exactly with z:
- posture: the spread (SD) of the landmarks' mean depths relative to the wrist against the
  spread (per-axis RMS about their centroid) of their mean image-plane positions;
- movement: the RMS of the landmarks' depth movement about their mean against the RMS of
  their image-plane movement.
Neither changes when the camera is rolled. On healthy synthetic hands each varies between
takes by 13-16 % (SD over mean); they are anti-correlated, so their geometric mean varies
by 8-11 % within a task. The geometric mean, not the posture alone, gave the better
specificity with the shipped models (docs/evaluation-default-models.md).
"""

from __future__ import annotations

import numpy as np

# The median ratio of healthy synthetic hands is 0.84 to 1.17 by task (1.00 over all 11).
# The reference is the lowest, so no task's hands get more depth (and more depth jitter)
# on average than MediaPipe's: models trained on kinematics/3 see depth at or below the
# scale they learnt. With 1.00, task 4's threshold rose and its sensitivity fell by 3-7
# points on three synthetic cohorts; less depth cost no ROC AUC (the recalibrate command,
# docs/evaluation-default-models.md).
DEPTH_REFERENCE = 0.84
_NO_DEPTH = 1e-6


def depth_ratio(hand_px: np.ndarray) -> float:
    """(T, 21, 3) gap-free pixels (z in x's scale) -> the hand's depth-to-plane ratio;
    0 when the tracker gives no depth or the hand shows no extent or movement."""
    relative = hand_px[:, 1:, :] - hand_px[:, :1, :]
    posture = relative.mean(axis=0)
    movement = relative - posture
    # per-axis RMS about the centroid in the image plane: unchanged by the camera's roll
    plane_spread = np.sqrt(np.mean((posture[:, :2] - posture[:, :2].mean(axis=0)) ** 2))
    plane_rms = np.sqrt(np.mean(movement[..., :2] ** 2))
    if not (plane_spread > _NO_DEPTH and plane_rms > _NO_DEPTH):
        return 0.0
    posture_ratio = posture[:, 2].std() / plane_spread
    movement_ratio = np.sqrt(np.mean(movement[..., 2] ** 2)) / plane_rms
    return float(np.sqrt(posture_ratio * movement_ratio))


def rescale_depth(hand_px: np.ndarray, reference: float = DEPTH_REFERENCE) -> np.ndarray:
    """The hand with z scaled so that its depth ratio is ``reference``; unchanged when it
    has no depth to scale."""
    ratio = depth_ratio(hand_px)
    if not ratio > _NO_DEPTH:
        return hand_px
    out = np.array(hand_px, dtype=np.float64, copy=True)
    out[..., 2] *= reference / ratio
    return out
