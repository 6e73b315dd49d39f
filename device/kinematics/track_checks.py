"""One hand's whole track with the frames the tracker got wrong left out, checked once.

Two checks find frames that do not show this hand where it is: frames whose landmarks have
the other hand's shape (device/kinematics/other_hand.py) and frames that put the whole hand
somewhere else for a moment (device/kinematics/displaced.py). Both look at a frame and its
neighbours only (and the camera's frame interval), so they run once over the hand's whole
track, not again for every window the trim search prepares (device/screening/trim_search.py):
that took a fifth of the time of preparing a window. Near a window's edges they now also see
the frames just outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.kinematics.displaced import displaced_frames
from device.kinematics.other_hand import other_hand_frames
from device.takefile import Take


@dataclass(frozen=True)
class CheckedTrack:
    landmarks: np.ndarray  # (T, 21, 3) the take's track of the hand, those frames set to NaN
    other_hand: np.ndarray  # (T,) bool: the frame held the other hand's shape
    displaced: np.ndarray  # (T,) bool: the frame put the whole hand somewhere else


def checked_track(take: Take, name: str) -> CheckedTrack:
    """``name``'s track over the whole take with both kinds of wrong frames left out."""
    hand = take.hand(name)
    swapped = other_hand_frames(hand, name, take.image_size)
    if swapped.any():
        hand = np.where(swapped[:, None, None], np.nan, hand)
    displaced = displaced_frames(hand, take.t, take.image_size)
    if displaced.any():
        hand = np.where(displaced[:, None, None], np.nan, hand)
    return CheckedTrack(hand, swapped, displaced)
