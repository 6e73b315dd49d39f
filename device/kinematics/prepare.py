"""A take in, per hand a (128, 21, 3) float32 array or the reason it cannot be used."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from device.kinematics import (
    BOTH_HANDS_TRIM,
    MOVEMENT_ONLY,
    N_SAMPLES,
    PAPER_PREPROCESSING,
    PREPROCESSING_VERSION,
    REPRESENTATIONS,
    UNFILTERED_RESAMPLE,
)
from device.kinematics.depth import rescale_depth
from device.kinematics.errors import HandUnusableError, TakeUnusableError
from device.kinematics.frames import mirror, normalise, to_pixels
from device.kinematics.gaps import fill_gaps
from device.kinematics.resample import lowpass_resample, resample
from device.kinematics.track_checks import CheckedTrack, checked_track
from device.kinematics.tracking_noise import tracking_noise
from device.kinematics.trim import (
    TRIMMED_BY_KEYS,
    TRIMMED_BY_MOTION,
    hand_keys,
    key_window,
    motion_window,
    trim_mask,
    uncovered_s,
)
from device.protocol import load as load_protocol
from device.takefile import HANDS, Take

MIN_FRAMES = 10


@dataclass(frozen=True)
class Settings:
    max_gap_s: float = 0.25
    max_missing_fraction: float = 0.2
    representation: str = PREPROCESSING_VERSION  # or another of REPRESENTATIONS

    def __post_init__(self) -> None:
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"unknown preprocessing {self.representation!r}; "
                             f"known: {', '.join(REPRESENTATIONS)}")


DEFAULT_SETTINGS = Settings()


@dataclass
class PreparedHand:
    hand: str
    data: np.ndarray | None  # (128, 21, 3) float32, None when unusable
    reason: str | None = None
    n_frames: int = 0  # frames inside the trimmed window
    n_filled: int = 0  # of them, frames bridged by interpolation
    n_other_hand: int = 0  # of those, frames whose landmarks had the other hand's shape
    n_displaced: int = 0  # and frames where the whole hand was briefly put somewhere else
    window: tuple[float, float] | None = None  # this hand's playing, seconds on the take's clock
    tracking_noise: float | None = None  # over that window (device/kinematics/tracking_noise.py)
    # the whole track as checked, for preparing other windows of it (the trim search)
    track: CheckedTrack | None = field(default=None, repr=False)


@dataclass
class PreparedTake:
    window: tuple[float, float]  # seconds, on the take's clock: both hands' playing
    trimmed_by: str  # TRIMMED_BY_KEYS or TRIMMED_BY_MOTION
    hands: dict[str, PreparedHand]


def represent(hand: np.ndarray, name: str, image_size: tuple[int, int],
              settings: Settings) -> np.ndarray:
    """One hand's gap-free (T, 21, 3) landmarks in the chosen representation."""
    if settings.representation == PAPER_PREPROCESSING:
        out = hand.astype(np.float64)
        if name == "left":
            out[..., 0] = 1.0 - out[..., 0]
        return out
    pixels = to_pixels(hand, image_size)
    if settings.representation in (PREPROCESSING_VERSION, UNFILTERED_RESAMPLE):
        pixels = rescale_depth(pixels)
    if name == "left":
        pixels = mirror(pixels)
    return normalise(pixels, movement_only=settings.representation in (
        PREPROCESSING_VERSION, UNFILTERED_RESAMPLE, MOVEMENT_ONLY))


def to_samples(t: np.ndarray, hand: np.ndarray, name: str, image_size: tuple[int, int],
               settings: Settings) -> np.ndarray:
    """One hand's gap-free frames at times ``t`` to N_SAMPLES samples in the chosen
    representation: kinematics/5 low-passes while resampling and then represents the
    samples (so the depth scale is measured without the jitter); the older ones represent
    every frame and draw a spline through them."""
    if settings.representation == PREPROCESSING_VERSION:
        return represent(lowpass_resample(t, hand, N_SAMPLES), name, image_size, settings)
    return resample(t, represent(hand, name, image_size, settings), N_SAMPLES)


def windows(take: Take, settings: Settings) -> tuple[dict[str, tuple[float, float]], str]:
    """Each hand's trimming window and what the windows came from.

    ``kinematics/2`` to ``/5`` trim each hand to its own keystrokes, so a hand is
    not judged on what it does while the other hand is still playing; a hand with no
    keystroke on its side of the keyboard (key data from another set-up, a hand the key
    sensor missed) falls back to the window of all keys. The older representations trim both
    hands to all keys, as the source study does. A take without any key data is trimmed by
    the motion of both hands.
    """
    window = key_window(take.keys)
    if window is None:
        pixels = np.stack([to_pixels(take.hand(h), take.image_size) for h in HANDS], axis=1)
        return dict.fromkeys(HANDS, motion_window(take.t, pixels)), TRIMMED_BY_MOTION
    if settings.representation in (BOTH_HANDS_TRIM, PAPER_PREPROCESSING):
        return dict.fromkeys(HANDS, window), TRIMMED_BY_KEYS
    pivot = load_protocol().mirror_pivot / 2
    return {name: key_window(hand_keys(take.keys, name, pivot)) or window
            for name in HANDS}, TRIMMED_BY_KEYS


def prepare_hand(take: Take, name: str, window: tuple[float, float], settings: Settings,
                 track: CheckedTrack | None = None) -> tuple[np.ndarray, int, int, int, int]:
    """One hand over ``window``: its (128, 21, 3) float32 array, the frames in the window, how
    many of them were filled in, how many of those held the other hand (a tracker that
    swapped the labels; device/kinematics/other_hand.py) and how many put the whole hand
    somewhere else for a moment (device/kinematics/displaced.py). ``track``: the hand's
    checked track (device/kinematics/track_checks.py) when already made. Raises
    HandUnusableError with the reason."""
    missed = uncovered_s(take.t, window)
    if missed > settings.max_gap_s:
        raise HandUnusableError(
            f"{name} hand's keys run {window[0]:.2f}-{window[1]:.2f} s but the video "
            f"{take.t[0]:.2f}-{take.t[-1]:.2f} s: {missed:.2f} s of its playing has no "
            f"video, at most {settings.max_gap_s:.2f} s may be missing; check that the "
            "camera and the key sensor run on one clock")
    mask = trim_mask(take.t, window)
    n = int(mask.sum())
    if n < MIN_FRAMES:
        raise HandUnusableError(
            f"only {n} video frames between this hand's first keystroke and its "
            f"last release ({window[0]:.2f}-{window[1]:.2f} s); at least {MIN_FRAMES} "
            "are needed")
    if track is None:
        track = checked_track(take, name)
    hand = track.landmarks[mask]
    n_swapped = int(track.other_hand[mask].sum())
    other = "left" if name == "right" else "right"
    if n_swapped > settings.max_missing_fraction * n:
        raise HandUnusableError(
            f"in {n_swapped} of {n} frames the {name} hand's landmarks have the shape of a "
            f"{other} hand: the tracker may label the hands the other way round, or the camera "
            "sees them mirrored or from below")
    n_displaced = int(track.displaced[mask].sum())
    try:
        filled, n_filled = fill_gaps(
            take.t[mask], hand, name=name, max_gap_s=settings.max_gap_s,
            max_missing_fraction=settings.max_missing_fraction,
        )
    except HandUnusableError as exc:
        if not n_swapped and not n_displaced:
            raise
        why = [f"{n_swapped} of the {n} frames count as missing because the {name} hand's "
               f"landmarks had the shape of a {other} hand in them: the tracker may have "
               "swapped the hands' labels"] if n_swapped else []
        if n_displaced:
            why.append(f"{n_displaced} of the {n} frames count as missing because the whole "
                       f"{name} hand was put somewhere else in them for a moment: the tracker "
                       "may have lost it")
        raise HandUnusableError("; ".join([str(exc), *why])) from None
    data = to_samples(take.t[mask], filled, name, take.image_size, settings)
    return data.astype(np.float32), n, n_filled, n_swapped, n_displaced


def prepare(take: Take, settings: Settings = DEFAULT_SETTINGS) -> PreparedTake:
    """Trim, split, fill, mirror, normalise, resample. Raises TakeUnusableError for the whole take;
    a hand that cannot be used gets its reason and the other hand is still prepared."""
    by_hand, trimmed_by = windows(take, settings)
    window = (min(w[0] for w in by_hand.values()), max(w[1] for w in by_hand.values()))
    n = int(trim_mask(take.t, window).sum())
    if n < MIN_FRAMES:
        raise TakeUnusableError(
            f"only {n} video frames between the first keystroke and the last release "
            f"({window[0]:.2f}-{window[1]:.2f} s; the video runs {take.t[0]:.2f}-"
            f"{take.t[-1]:.2f} s); at least {MIN_FRAMES} are needed"
        )
    hands = {}
    for name in HANDS:
        own = by_hand[name]
        track = checked_track(take, name)
        try:
            data, n, n_filled, n_swapped, n_displaced = prepare_hand(take, name, own, settings,
                                                                     track)
            noise = tracking_noise(take.hand(name)[trim_mask(take.t, own)], take.image_size)
            hands[name] = PreparedHand(name, data, None, n, n_filled, n_swapped, n_displaced,
                                       window=own, tracking_noise=noise, track=track)
        except HandUnusableError as exc:
            hands[name] = PreparedHand(name, None, str(exc),
                                       n_frames=int(trim_mask(take.t, own).sum()), window=own)
    return PreparedTake(window=window, trimmed_by=trimmed_by, hands=hands)
