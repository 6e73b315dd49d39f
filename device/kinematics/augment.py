"""Training augmentation as in the paper: rotation of the coordinates, separate horizontal
and vertical scaling, and both combined, simulating camera-mounting deviations.

Works on normalised hands (128, 21, 3). Normalisation already removes the take's mean
rotation and size, so what is left to simulate is residual tilt and a camera that is not
square to the keys (different scale along and across the keyboard).
"""

from __future__ import annotations

import numpy as np

from device.kinematics.frames import rotate_xy

KINDS = ("rotate", "scale", "both")


def scale_xy(hand: np.ndarray, sx: float, sy: float) -> np.ndarray:
    out = np.array(hand, copy=True)
    out[..., 0] *= sx
    out[..., 1] *= sy
    return out


def augment(
    hand: np.ndarray,
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    max_angle_deg: float = 10.0,
    max_scale: float = 0.1,
) -> np.ndarray:
    """One random variant of ``hand``: rotated, scaled, or both (``kind`` or chosen at random)."""
    kind = kind or KINDS[rng.integers(len(KINDS))]
    if kind not in KINDS:
        raise ValueError(f"augmentation kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out = hand
    if kind in ("rotate", "both"):
        out = rotate_xy(out, np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg)))
    if kind in ("scale", "both"):
        sx, sy = 1.0 + rng.uniform(-max_scale, max_scale, size=2)
        out = scale_xy(out, sx, sy)
    return np.asarray(out, dtype=hand.dtype)
