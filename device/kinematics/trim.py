"""Which part of a take is the performance: first keystroke onset to last key release, of
both hands or of one hand."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from device.kinematics.errors import TakeUnusableError

FINGERTIPS = (4, 8, 12, 16, 20)
# Without key data, a frame counts as playing when the fingertips move faster than this
# share of the take's 95th-percentile fingertip speed.
MOTION_THRESHOLD = 0.25
MOTION_SMOOTH_S = 0.1
# what a take's playing was found from
TRIMMED_BY_KEYS, TRIMMED_BY_MOTION = "keys", "motion"


def key_window(keys: np.ndarray) -> tuple[float, float] | None:
    """(first onset, last release) in seconds, or None without keystrokes."""
    if keys.shape[0] == 0:
        return None
    return float(np.min(keys[:, 1])), float(np.max(keys[:, 2]))


def hand_keys(keys: np.ndarray, hand: str, pivot: float) -> np.ndarray:
    """The keystrokes of one hand. The protocol's hands play mirror images about ``pivot``
    (a MIDI note number; the right hand above it), so a key belongs to the hand on its side;
    a key on the pivot itself is counted for both."""
    notes = keys[:, 0]
    side = notes >= pivot if hand == "right" else notes <= pivot
    return keys[side]


def fingertip_speed(t: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """Mean fingertip speed (pixels/s) per frame over the hands given, NaN where none is seen.

    ``landmarks_px`` is (T, H, 21, 3) in pixels (H hands, usually both). The speed of
    frame i is that of the step from frame i - 1 (frame 0 copies frame 1).
    """
    tips = landmarks_px[:, :, FINGERTIPS, :2]
    step = np.linalg.norm(np.diff(tips, axis=0), axis=-1) / np.diff(t)[:, None, None]
    with np.errstate(all="ignore"):
        seen = ~np.isnan(step)
        total = np.where(seen, step, 0.0).sum(axis=(1, 2))
        count = seen.sum(axis=(1, 2))
        speed = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return np.concatenate([speed[:1], speed])


def motion_window(t: np.ndarray, landmarks_px: np.ndarray) -> tuple[float, float]:
    """Playing period from hand motion alone, for takes without key data. ``landmarks_px``
    is (T, H, 21, 3): the window of both hands, or of one when H is 1."""
    speed = fingertip_speed(t, landmarks_px)
    if np.all(np.isnan(speed)):
        raise TakeUnusableError("no hand was found in the video, so the playing cannot be located")
    dt = float(np.median(np.diff(t)))
    width = max(1, round(MOTION_SMOOTH_S / dt) | 1)
    filled = np.where(np.isnan(speed), 0.0, speed)
    smooth = median_filter(filled, size=width, mode="nearest")
    level = np.nanpercentile(speed, 95)
    if not level > 0:
        raise TakeUnusableError("the hands do not move, so the playing cannot be located")
    active = np.flatnonzero(smooth > MOTION_THRESHOLD * level)
    if active.size == 0:
        raise TakeUnusableError("no playing movement found")
    return float(t[active[0]]), float(t[active[-1]])


def trim_mask(t: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Frames inside the window (inclusive): never a frame outside the keystrokes."""
    start, end = window
    return (t >= start) & (t <= end)


def uncovered_s(t: np.ndarray, window: tuple[float, float]) -> float:
    """Seconds of the window before the first frame and after the last one: playing the key
    sensor saw but the camera did not (a late start, an early stop, clocks that disagree)."""
    start, end = window
    return max(0.0, float(t[0]) - start) + max(0.0, end - float(t[-1]))
