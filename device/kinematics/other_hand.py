"""Frames in which a hand's track holds the other hand: a tracker that swapped the labels.

Seen from above, palm down, a right and a left hand are mirror images: going from the wrist
to the index knuckle and on to the little-finger knuckle turns one way for a right hand and
the other way for a left hand, whatever the hand's place or rotation in the image
(device/vision/handedness.py). No movement of a pianist's hand turns it into its mirror
image, so a frame of the right hand's track that turns the left hand's way holds the other
hand (or something that is not a hand). Such frames count as frames where the hand was not
found and are bridged like them. In the synthetic cohorts (3.9 million frames) and the real
video no frame turns the wrong way; three frames of a healthy right hand replaced by the
left hand's made 99 % of such hands abnormal, at a median 52 times the threshold.
"""

from __future__ import annotations

import numpy as np

from device.kinematics.frames import to_pixels
from device.vision.handedness import chirality_per_frame

MIN_TURN = 0.2  # |sine| of the turn below which a hand seen edge-on gives no evidence
TURN = {"right": 1.0, "left": -1.0}  # the turn's sign for each hand, image y down


def other_hand_frames(hand: np.ndarray, name: str, image_size: tuple[int, int]) -> np.ndarray:
    """Boolean (T,): the frames of ``name``'s (T, 21, 3) track that turn the other hand's
    way; False where the hand is missing or seen edge-on."""
    turn = chirality_per_frame(to_pixels(hand, image_size))
    with np.errstate(invalid="ignore"):
        return TURN[name] * turn < -MIN_TURN
