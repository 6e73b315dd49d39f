"""Training augmentation: the paper's rotation of the coordinates, separate horizontal and
vertical scaling, and both combined (camera-mounting deviations), and two set-up deviations
the paper did not need, with one camera and one tracker.

Works on normalised hands (128, 21, 3). Normalisation already removes the take's mean
rotation and size, so what is left to simulate is residual tilt and a camera that is not
square to the keys (different scale along and across the keyboard). On top of that, each
augmented copy can get
- a depth gain: MediaPipe's z is only "roughly" in x's scale, and other trackers and
  camera set-ups give depth at another scale;
- its bones drawn a few per cent longer or shorter, each by its own factor for the whole
  take: other trackers place the landmarks differently, and hands differ.
Without them, a model learns this generator's depth scale and landmark placement as part of
healthy playing and flags healthy hands seen through another set-up (measured with
``python -m model_export setups``, docs/evaluation-default-models.md).
"""

from __future__ import annotations

import numpy as np

from device.kinematics.frames import rotate_xy

KINDS = ("rotate", "scale", "both")
# MediaPipe Hands' topology: each landmark's parent joint (the wrist's entry is unused)
PARENT = (0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
# the set-up deviations training uses by default. Depth: since kinematics/4 the preprocessing
# brings each hand's depth to one scale, so what is left to learn is that measure's spread
# between takes of one task (8-11 %, device/kinematics/depth.py), not a tracker's factor 2.
DEPTH_GAIN = 1.15
BONE_SD = 0.05


def scale_xy(hand: np.ndarray, sx: float, sy: float) -> np.ndarray:
    out = np.array(hand, copy=True)
    out[..., 0] *= sx
    out[..., 1] *= sy
    return out


def scale_depth(hand: np.ndarray, gain: float) -> np.ndarray:
    out = np.array(hand, copy=True)
    out[..., 2] *= gain
    return out


def scale_bones(hand: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Each landmark moved so that the bone from its parent is ``factors[j]`` times as long
    (landmarks 1..20 are relative to the wrist, so the wrist's parent bones start at 0)."""
    out = np.array(hand, copy=True)
    for j in range(1, len(PARENT)):
        parent = PARENT[j]
        start_old = hand[..., parent, :] if parent else 0.0
        start_new = out[..., parent, :] if parent else 0.0
        out[..., j, :] = start_new + factors[j] * (hand[..., j, :] - start_old)
    return out


def augment(
    hand: np.ndarray,
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    max_angle_deg: float = 10.0,
    max_scale: float = 0.1,
    max_depth_gain: float = 1.0,
    bone_sd: float = 0.0,
) -> np.ndarray:
    """One random variant of ``hand``: rotated, scaled, or both (``kind`` or chosen at random);
    then its depth times a gain log-uniform in [1 / max_depth_gain, max_depth_gain], and
    each bone times a factor with SD ``bone_sd`` (clipped at 3 SD)."""
    if max_depth_gain < 1.0 or bone_sd < 0.0:
        raise ValueError(f"max_depth_gain must be at least 1 and bone_sd at least 0, got "
                         f"{max_depth_gain} and {bone_sd}")
    kind = kind or KINDS[rng.integers(len(KINDS))]
    if kind not in KINDS:
        raise ValueError(f"augmentation kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out = hand
    if kind in ("rotate", "both"):
        out = rotate_xy(out, np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg)))
    if kind in ("scale", "both"):
        sx, sy = 1.0 + rng.uniform(-max_scale, max_scale, size=2)
        out = scale_xy(out, sx, sy)
    if max_depth_gain > 1.0:
        out = scale_depth(out, float(np.exp(rng.uniform(-1.0, 1.0) * np.log(max_depth_gain))))
    if bone_sd > 0.0:
        factors = 1.0 + np.clip(rng.normal(0.0, bone_sd, len(PARENT)), -3 * bone_sd, 3 * bone_sd)
        out = scale_bones(out, factors)
    return np.asarray(out, dtype=hand.dtype)
