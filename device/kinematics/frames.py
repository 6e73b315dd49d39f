"""Coordinate frames: MediaPipe's normalised image coordinates to pixels, mirroring, and
the hand-centred frame the autoencoder sees.

Normalisation (written down in docs/preprocessing.md):
- pixels first (x * width, y * height, z * width), so a hand has the same shape whatever
  the image's aspect ratio;
- the left hand is mirrored (x -> -x) so that one model serves both hands;
- scale: divided by the take's median palm length (wrist to middle-finger base, in the
  image plane), which removes hand size and camera height;
- rotation: turned so the take's mean palm direction points along -y (towards the keys'
  far end), which removes camera rotation and the sitting angle;
- translation: landmarks 1..20 relative to the wrist of the same frame (finger and hand
  shape), and the wrist itself relative to its median position over the take (the hand's
  travel along the keyboard and wrist movements). Frame-by-frame motion is kept whole:
  nothing is smoothed;
- posture (kinematics/3 and /4): each of landmarks 1..20 minus its mean position over the
  take.
"""

from __future__ import annotations

import numpy as np

from device.kinematics.errors import HandUnusableError

WRIST, MIDDLE_MCP = 0, 9


def to_pixels(hand: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """(T, 21, 3) normalised image coordinates to pixels (z in x's scale, so times width)."""
    width, height = image_size
    return hand.astype(np.float64) * np.array([width, height, width], dtype=np.float64)


def mirror(hand: np.ndarray) -> np.ndarray:
    """Mirror left to right about the image's vertical axis; mirror(mirror(a)) == a."""
    out = np.array(hand, copy=True)
    out[..., 0] = -out[..., 0]
    return out


def rotate_xy(hand: np.ndarray, angle: float) -> np.ndarray:
    """Rotate x and y of every landmark by ``angle`` radians (counter-clockwise in x-y)."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.array(hand, copy=True)
    x, y = hand[..., 0], hand[..., 1]
    out[..., 0] = c * x - s * y
    out[..., 1] = s * x + c * y
    return out


def palm_vectors(hand_px: np.ndarray) -> np.ndarray:
    return hand_px[:, MIDDLE_MCP, :2] - hand_px[:, WRIST, :2]


def normalise(hand_px: np.ndarray, movement_only: bool = True) -> np.ndarray:
    """(T, 21, 3) pixels (no NaN) to the hand-centred, size-free frame described above.

    ``movement_only`` (kinematics/3 and /4): the wrist's median position is taken in the hand's
    frame, after the rotation, so nothing depends on the camera's rotation; and each of
    landmarks 1..20 has its mean position over the take subtracted, so what is left is how
    the hand moves, not its build or habitual posture (which differ between people, hand
    trackers and hand models by more than a mild dystonic curl changes them; the curl comes
    and goes during the passage, and that stays). ``False``: kinematics/1 and /2, the median
    along the image axes (which does not turn with the image) and the posture kept; models
    trained with those are scored as they were trained.
    """
    palm = palm_vectors(hand_px)
    length = np.linalg.norm(palm, axis=1)
    scale = float(np.median(length))
    if not scale > 1e-6:
        raise HandUnusableError("hand has no measurable size (wrist and knuckles coincide)")
    direction = (palm / np.maximum(length, 1e-9)[:, None]).mean(axis=0)
    # angle that takes the mean palm direction onto (0, -1)
    angle = -np.pi / 2 - np.arctan2(direction[1], direction[0])
    wrist = hand_px[:, WRIST, :]
    out = hand_px - wrist[:, None, :]
    if not movement_only:
        out[:, WRIST, :] = wrist - np.median(wrist, axis=0)
        return rotate_xy(out, angle) / scale
    out[:, WRIST, :] = wrist
    out = rotate_xy(out, angle)
    out[:, WRIST, :] -= np.median(out[:, WRIST, :], axis=0)
    out[:, WRIST + 1:, :] -= out[:, WRIST + 1:, :].mean(axis=0)
    return out / scale
