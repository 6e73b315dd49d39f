"""Which hand is the person's left and which the right, for a top-down piano camera.

The landmark model's handedness score assumes a mirrored selfie view and is unreliable seen
from above, so it is not used. Instead:

* two hands: by position on the keyboard. The image's x runs from low to high pitch
  (contract 1), and the left hand plays the lower part, so the hand further left in the
  image is the left hand;
* one hand: by its geometry. Seen from above, palm down and unmirrored, going from the
  wrist to the index knuckle and then to the little-finger knuckle turns one way for a right
  hand and the other way for a left hand, whatever the hand's rotation in the image
  (the thumb is on the low-pitch side of a right hand). Evidence is summed over the frames
  a hand has been tracked, so one odd frame does not swap the labels.
"""

from __future__ import annotations

import numpy as np

WRIST, INDEX_MCP, LITTLE_MCP = 0, 5, 17
LEFT, RIGHT = 0, 1


def chirality(landmarks: np.ndarray) -> float:
    """Positive for a right hand seen from above (image y down), negative for a left hand.

    The cross product of wrist->index MCP and wrist->little MCP, divided by their lengths,
    so each frame votes with at most 1.
    """
    value = float(chirality_per_frame(landmarks[None])[0])
    return value if np.isfinite(value) else 0.0


def chirality_per_frame(landmarks: np.ndarray) -> np.ndarray:
    """``chirality`` of each frame of (T, 21, >=2) landmarks: NaN where the hand is missing,
    0 where its three points coincide."""
    a = landmarks[:, INDEX_MCP, :2] - landmarks[:, WRIST, :2]
    b = landmarks[:, LITTLE_MCP, :2] - landmarks[:, WRIST, :2]
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, cross / np.where(norm > 0, norm, 1.0), np.where(
            np.isnan(norm), np.nan, 0.0))


def assign(centres_x: list[float], evidence: list[float]) -> list[int]:
    """Hand index (LEFT or RIGHT) for each tracked hand.

    ``centres_x``: each hand's mean landmark x in pixels; ``evidence``: its summed
    :func:`chirality`. At most two hands.
    """
    if len(centres_x) > 2:
        raise ValueError(f"at most two hands, got {len(centres_x)}")
    if len(centres_x) == 2:
        return [LEFT, RIGHT] if centres_x[0] <= centres_x[1] else [RIGHT, LEFT]
    return [RIGHT if e >= 0 else LEFT for e in evidence]
