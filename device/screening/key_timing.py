"""Key timing: the second measure beside the autoencoder, from the key sensors alone.

A dystonic finger strikes late: the involuntary pull has to be overcome before the key goes
down, so the notes it plays come after where the hand's own pulse puts them (the unevenness
that MIDI scale analysis measures in pianists with focal dystonia, Jabusch et al. 2004). The
keystrokes of a hand are aligned to the task's score, which names the finger of every note;
each note's onset is compared with a local straight-line fit to the onsets of the events
around it; per finger, the mean of those residuals (in seconds, less the hand's mean, times
the square root of the number of notes, so it reads like a z) is compared with healthy
hands of the same task and finger. The worst finger's z is the hand's score, with the
threshold at mean + 2 SD of healthy validation hands, as the autoencoder's. It does not look
at the video, so it is immune to the camera and the hand tracker, and it needs key data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from device.kinematics.trim import hand_keys
from device.protocol import FINGER_NAMES, Task

METHOD = "key-lateness/2"  # /2: notes off the pulse by OUTLIER event intervals left out
NEIGHBOURS = 6  # events on either side of an event that its expected time is fitted to
MIN_NOTES = 3  # notes a finger must play to be judged
MIN_FOLLOWED = 0.8  # share of the score's notes that must be found among the keys
OUTLIER = 0.5  # event intervals: a note further than this from the pulse is not counted


class KeyTimingUnavailableError(ValueError):
    """The hand's key timing cannot be judged; the message says why."""


@dataclass
class AlignedNotes:
    """The keystrokes of one hand matched to the score: one row per matched note."""

    digit: np.ndarray  # (n,) 0 thumb .. 4 little
    onset: np.ndarray  # (n,) seconds
    event: np.ndarray  # (n,) index of the score event in Task.played()
    note: np.ndarray  # (n,) MIDI note of the key
    expected: int  # notes in the score for this hand

    @property
    def followed(self) -> float:
        return len(self.onset) / self.expected if self.expected else 0.0


def _score_events(task: Task, hand: str) -> list[dict[int, int]]:
    """Per event of the played sequence: MIDI note -> digit index, for ``hand``."""
    return [{note: finger - 1 for note, finger in
             zip(event.right if hand == "right" else event.left, event.fingers, strict=True)}
            for event in task.played()]


def align(keys: np.ndarray, task: Task, hand: str, pivot: float) -> AlignedNotes:
    """Match one hand's keystrokes to the task's score with the least cost: an extra key
    costs 1, a note of the score not played costs 1, and a run of consecutive keys may
    make up one event when each is a different note of it (a chord's notes come in any
    order). Wrong, extra and missed notes are thereby skipped, not guessed. Each row of the
    dynamic programme is computed for every key at once."""
    played = hand_keys(keys, hand, pivot)
    played = played[np.argsort(played[:, 1], kind="stable")]
    events = _score_events(task, hand)
    notes = played[:, 0].astype(int)
    n_ev, n_keys = len(events), len(played)
    j = np.arange(n_keys + 1)
    cost = np.zeros((n_ev + 1, n_keys + 1))
    step = np.zeros((n_ev + 1, n_keys + 1), dtype=np.int64)  # keys the event took
    took_event = np.zeros((n_ev + 1, n_keys + 1), dtype=bool)
    cost[0] = j  # keys before the first event are extra
    for i, event in enumerate(events, start=1):
        size = len(event)
        prev = cost[i - 1]
        base, k_best = prev + size, np.zeros(n_keys + 1, dtype=np.int64)  # event missed
        in_event = np.isin(notes, list(event))
        run = np.ones(n_keys + 1, dtype=bool)  # keys j-k .. j-1 distinct notes of the event
        for k in range(1, size + 1):
            run[:k] = False
            run[k:] &= in_event[: n_keys + 1 - k]
            for m in range(1, k):  # the new key's note differs from the run's later ones
                run[k:] &= notes[: n_keys + 1 - k] != notes[m: n_keys + 1 - k + m]
            candidate = np.full(n_keys + 1, np.inf)
            candidate[k:] = prev[: n_keys + 1 - k] + size - k
            better = run & (candidate < base)
            base, k_best = np.where(better, candidate, base), np.where(better, k, k_best)
        # an extra key after the best alignment so far costs 1: a running minimum
        cost[i] = j + np.minimum.accumulate(base - j)
        took_event[i] = np.concatenate([[True], base[1:] < cost[i, :-1] + 1])
        step[i] = np.where(took_event[i], k_best, 1)
    rows: list[tuple[int, float, int, int]] = []
    i, k_at = n_ev, n_keys
    while i > 0 or k_at > 0:
        k = int(step[i, k_at])
        if i > 0 and took_event[i, k_at]:
            rows.extend((events[i - 1][notes[m]], float(played[m, 1]), i - 1, notes[m])
                        for m in range(k_at - k, k_at))
            i, k_at = i - 1, k_at - k
        else:
            k_at -= 1
    rows.sort(key=lambda r: (r[2], r[1]))
    table = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return AlignedNotes(digit=table[:, 0].astype(int), onset=table[:, 1],
                        event=table[:, 2].astype(int), note=table[:, 3].astype(int),
                        expected=sum(len(e) for e in events))


def _line_residuals(notes: AlignedNotes, used: np.ndarray) -> np.ndarray:
    """Each note's onset less the time a straight line through the surrounding events'
    onsets expects it at (each event's median over its ``used`` notes, the event itself
    left out); NaN where fewer than three events surround it."""
    events = np.unique(notes.event)
    event_time = np.array([np.median(notes.onset[(notes.event == e) & used])
                           if np.any((notes.event == e) & used) else np.nan for e in events])
    offset = (events[None, :] - events[:, None]).astype(np.float64)  # row: the event fitted
    near = (np.abs(offset) <= NEIGHBOURS) & (offset != 0) & np.isfinite(event_time)[None, :]
    count = near.sum(axis=1)
    times = np.nan_to_num(event_time)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):  # rows with too few: NaN below
        x_mean = (near * offset).sum(axis=1) / count
        y_mean = (near * times).sum(axis=1) / count
        dx = np.where(near, offset - x_mean[:, None], 0.0)
        slope = (dx * (times - y_mean[:, None])).sum(axis=1) / (dx ** 2).sum(axis=1)
        expected = np.where(count >= 3, y_mean - slope * x_mean, np.nan)  # the line at 0
    return notes.onset - expected[np.searchsorted(events, notes.event)]


def onset_residuals(notes: AlignedNotes) -> np.ndarray:
    """Each note's onset less where the hand's pulse puts it; NaN where it cannot be said,
    and for a note further than OUTLIER event intervals from it (a slip the alignment took
    for a note of the score, or a keystroke not played as written), which is then also left
    out of the pulse of the notes around it."""
    residual = _line_residuals(notes, np.ones(len(notes.onset), dtype=bool))
    events = np.unique(notes.event)
    if len(events) < 2:
        return residual
    event_time = np.array([np.median(notes.onset[notes.event == e]) for e in events])
    interval = np.median(np.diff(event_time) / np.diff(events))
    if not interval > 0:
        raise KeyTimingUnavailableError("the key onsets do not advance through the score")
    wild = np.abs(residual) > OUTLIER * interval  # NaN (too few events around) is not wild
    if not wild.any():
        return residual
    residual = _line_residuals(notes, ~wild)
    residual[wild] = np.nan
    return residual


def finger_lateness(notes: AlignedNotes) -> np.ndarray:
    """(5,) per finger: (mean residual of its notes - mean of the hand's) x sqrt(its notes),
    in seconds x sqrt(notes); NaN for a finger with fewer than MIN_NOTES notes."""
    residual = onset_residuals(notes)
    kept = np.isfinite(residual)
    out = np.full(len(FINGER_NAMES), np.nan)
    if not kept.any():
        return out
    hand_mean = residual[kept].mean()
    for digit in range(len(FINGER_NAMES)):
        mine = kept & (notes.digit == digit)
        if mine.sum() >= MIN_NOTES:
            out[digit] = (residual[mine].mean() - hand_mean) * np.sqrt(mine.sum())
    return out


def hand_lateness(keys: np.ndarray, task: Task, hand: str, pivot: float,
                  notes: AlignedNotes | None = None) -> np.ndarray:
    """(5,) finger lateness of one hand of a take, or KeyTimingUnavailableError. ``notes``:
    the hand's keys already aligned to the score (``align``), if they are."""
    if keys.shape[0] == 0:
        raise KeyTimingUnavailableError("no key data in the take")
    if hand_keys(keys, hand, pivot).shape[0] == 0:
        raise KeyTimingUnavailableError("no keys on this hand's side of the keyboard")
    notes = notes if notes is not None else align(keys, task, hand, pivot)
    if notes.followed < MIN_FOLLOWED:
        raise KeyTimingUnavailableError(
            f"the keys follow only {len(notes.onset)} of the {notes.expected} notes task "
            f"{task.number} gives this hand; at least {MIN_FOLLOWED:.0%} needed")
    lateness = finger_lateness(notes)
    if not np.isfinite(lateness).any():
        raise KeyTimingUnavailableError(
            f"no finger played {MIN_NOTES} notes on the hand's pulse, which it needs to be judged")
    return lateness


@dataclass(frozen=True)
class KeyTimingNorm:
    """Healthy hands' finger lateness for one task, and the threshold on the worst z."""

    finger_mean: np.ndarray  # (5,), NaN for a finger the task does not use enough
    finger_sd: np.ndarray
    threshold: float

    @classmethod
    def from_card(cls, entry: dict[str, Any]) -> KeyTimingNorm:
        if entry.get("method") != METHOD:
            raise ValueError(f"unknown key timing method {entry.get('method')!r}; "
                             f"the box knows {METHOD}")
        mean = np.array([np.nan if v is None else float(v) for v in entry["finger_mean"]])
        sd = np.array([np.nan if v is None else float(v) for v in entry["finger_sd"]])
        threshold = float(entry["threshold"])
        fingers = len(FINGER_NAMES)
        if mean.shape != (fingers,) or sd.shape != (fingers,):
            raise ValueError(f"finger_mean and finger_sd need {fingers} values each")
        if np.any(sd[np.isfinite(sd)] <= 0) or not np.array_equal(np.isfinite(mean),
                                                                  np.isfinite(sd)):
            raise ValueError("each finger needs a mean and a positive SD, or null for both")
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold}")
        return cls(mean, sd, threshold)

    def z(self, lateness: np.ndarray) -> np.ndarray:
        return (lateness - self.finger_mean) / self.finger_sd


def worst_finger(z: np.ndarray) -> tuple[float, int]:
    """The largest finite z and its finger; KeyTimingUnavailableError when there is none."""
    if not np.isfinite(z).any():
        raise KeyTimingUnavailableError("none of the fingers played has a healthy norm")
    digit = int(np.nanargmax(z))
    return float(z[digit]), digit


@dataclass
class KeyTimingScore:
    score: float  # the worst finger's lateness z
    threshold: float
    finger: str  # the worst finger
    finger_z: dict[str, float]

    @property
    def late(self) -> bool:
        return self.score > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {"method": METHOD, "score": round(self.score, 3),
                "threshold": round(self.threshold, 3), "abnormal": self.late,
                "finger": self.finger, "finger_z": self.finger_z}


def judge(keys: np.ndarray, task: Task, hand: str, pivot: float, norm: KeyTimingNorm,
          notes: AlignedNotes | None = None) -> KeyTimingScore:
    z = norm.z(hand_lateness(keys, task, hand, pivot, notes))
    score, digit = worst_finger(z)
    return KeyTimingScore(
        score=score, threshold=norm.threshold, finger=FINGER_NAMES[digit],
        finger_z={name: round(float(v), 3) for name, v in zip(FINGER_NAMES, z, strict=True)
                  if np.isfinite(v)})
