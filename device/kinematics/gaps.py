"""Detection gaps: short ones are bridged by interpolation, long ones make a hand unusable."""

from __future__ import annotations

import numpy as np

from device.kinematics.errors import HandUnusableError


def missing_frames(hand: np.ndarray) -> np.ndarray:
    """Boolean (T,): the hand was not found (any coordinate NaN) in that frame."""
    return np.isnan(hand).any(axis=(1, 2))


def _partly_missing(hand: np.ndarray) -> str:
    """A note for frames where only some of the hand's values are NaN: the take contract
    marks a hand not found by NaN in all of them, so such frames come from another writer
    and count as not found."""
    nan = np.isnan(hand).reshape(len(hand), -1)
    partly = int(np.sum(nan.any(axis=1) & ~nan.all(axis=1)))
    if not partly:
        return ""
    return (f" (in {partly} of those frames only some of its values were NaN; the take file "
            "should mark a hand not found by NaN in all of them)")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def fill_gaps(
    t: np.ndarray,
    hand: np.ndarray,
    *,
    name: str,
    max_gap_s: float,
    max_missing_fraction: float,
) -> tuple[np.ndarray, int]:
    """Bridge the frames where ``hand`` (T, 21, 3) was not found.

    A gap counts from the last frame the hand was seen to the next one (at the ends of the
    take, from the take's end), so its length in seconds does not depend on the frame rate.
    Interior gaps are filled by linear interpolation; gaps at either end hold the nearest
    detection. Returns the filled copy and the number of frames filled.
    """
    missing = missing_frames(hand)
    n_total, n_missing = len(t), int(missing.sum())
    if n_missing == n_total:
        raise HandUnusableError(f"{name} hand was not found in any of the {n_total} frames"
                                f"{_partly_missing(hand)}")
    if n_missing / n_total > max_missing_fraction:
        raise HandUnusableError(
            f"{name} hand was not found in {n_missing} of {n_total} frames "
            f"({100 * n_missing / n_total:.0f} %); at most {100 * max_missing_fraction:.0f} % "
            f"can be filled in{_partly_missing(hand)}"
        )
    for start, stop in _runs(missing):
        before = t[start - 1] if start > 0 else t[0]
        after = t[stop] if stop < n_total else t[-1]
        if after - before > max_gap_s:
            raise HandUnusableError(
                f"{name} hand was lost for {after - before:.2f} s from {t[start] - t[0]:.2f} s "
                f"into the take; at most {max_gap_s:.2f} s can be filled in"
                f"{_partly_missing(hand)}"
            )
    if n_missing == 0:
        return hand.copy(), 0
    seen = ~missing
    flat = hand.reshape(n_total, -1)
    filled = np.empty_like(flat)
    for column in range(flat.shape[1]):
        filled[:, column] = np.interp(t, t[seen], flat[seen, column])
    return filled.reshape(hand.shape), n_missing
