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

METHOD = "key-lateness/1"
NEIGHBOURS = 6  # events on either side of an event that its expected time is fitted to
MIN_NOTES = 3  # notes a finger must play to be judged
MIN_FOLLOWED = 0.8  # share of the score's notes that must be found among the keys


@dataclass
class AlignedNotes:
    """The keystrokes of one hand matched to the score: one row per matched note."""

    digit: np.ndarray  # (n,) 0 thumb .. 4 little
    onset: np.ndarray  # (n,) seconds
    event: np.ndarray  # (n,) index of the score event in Task.played()
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
    order). Wrong, extra and missed notes are thereby skipped, not guessed."""
    played = hand_keys(keys, hand, pivot)
    played = played[np.argsort(played[:, 1], kind="stable")]
    events = _score_events(task, hand)
    notes = played[:, 0].astype(int)
    n_ev, n_keys = len(events), len(played)
    cost = np.full((n_ev + 1, n_keys + 1), np.inf)
    step = np.zeros((n_ev + 1, n_keys + 1), dtype=np.int64)  # keys the last move consumed
    took_event = np.zeros((n_ev + 1, n_keys + 1), dtype=bool)
    cost[0, :] = np.arange(n_keys + 1)
    step[0, 1:] = 1
    for i in range(1, n_ev + 1):
        event = events[i - 1]
        size = len(event)
        cost[i, 0] = cost[i - 1, 0] + size
        took_event[i, 0] = True
        for j in range(1, n_keys + 1):
            best, best_k, best_event = cost[i, j - 1] + 1, 1, False  # an extra key
            if cost[i - 1, j] + size < best:
                best, best_k, best_event = cost[i - 1, j] + size, 0, True  # event missed
            seen: set[int] = set()
            for k in range(1, min(size, j) + 1):  # keys j-k .. j-1 make up event i-1
                note = notes[j - k]
                if note not in event or note in seen:
                    break
                seen.add(note)
                if cost[i - 1, j - k] + size - k < best:
                    best, best_k, best_event = cost[i - 1, j - k] + size - k, k, True
            cost[i, j], step[i, j], took_event[i, j] = best, best_k, best_event
    rows: list[tuple[int, float, int]] = []
    i, j = n_ev, n_keys
    while i > 0 or j > 0:
        k = int(step[i, j])
        if i > 0 and took_event[i, j]:
            rows.extend((events[i - 1][notes[m]], float(played[m, 1]), i - 1)
                        for m in range(j - k, j))
            i, j = i - 1, j - k
        else:
            j -= 1
    rows.sort(key=lambda r: (r[2], r[1]))
    table = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return AlignedNotes(digit=table[:, 0].astype(int), onset=table[:, 1],
                        event=table[:, 2].astype(int),
                        expected=sum(len(e) for e in events))


def onset_residuals(notes: AlignedNotes) -> np.ndarray:
    """Each note's onset less the time a straight line through the surrounding events'
    onsets (each event's median, the event itself left out) expects it at; NaN where fewer
    than three events surround it."""
    events = np.unique(notes.event)
    event_time = np.array([np.median(notes.onset[notes.event == e]) for e in events])
    expected = np.full(len(events), np.nan)
    for n, e in enumerate(events):
        near = (np.abs(events - e) <= NEIGHBOURS) & (events != e)
        if near.sum() < 3:
            continue
        _slope, intercept = np.polyfit(events[near] - e, event_time[near], 1)
        expected[n] = intercept
    return notes.onset - expected[np.searchsorted(events, notes.event)]


def finger_lateness(notes: AlignedNotes) -> np.ndarray:
    """(5,) per finger: (mean residual of its notes - mean of the hand's) x sqrt(its notes),
    in seconds; NaN for a finger with fewer than MIN_NOTES notes."""
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


class KeyTimingUnavailableError(ValueError):
    """The hand's key timing cannot be judged; the message says why."""


def hand_lateness(keys: np.ndarray, task: Task, hand: str, pivot: float) -> np.ndarray:
    """(5,) finger lateness of one hand of a take, or KeyTimingUnavailableError."""
    if keys.shape[0] == 0:
        raise KeyTimingUnavailableError("no key data in the take")
    notes = align(keys, task, hand, pivot)
    if notes.followed < MIN_FOLLOWED:
        raise KeyTimingUnavailableError(
            f"the keys follow only {len(notes.onset)} of the {notes.expected} notes task "
            f"{task.number} gives this hand; at least {MIN_FOLLOWED:.0%} needed")
    lateness = finger_lateness(notes)
    if not np.isfinite(lateness).any():
        raise KeyTimingUnavailableError("no finger played enough notes to be judged")
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
        as_array = [np.nan if v is None else float(v) for v in entry["finger_mean"]]
        sd = [np.nan if v is None else float(v) for v in entry["finger_sd"]]
        return cls(np.array(as_array), np.array(sd), float(entry["threshold"]))

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


def judge(keys: np.ndarray, task: Task, hand: str, pivot: float, norm: KeyTimingNorm
          ) -> KeyTimingScore:
    z = norm.z(hand_lateness(keys, task, hand, pivot))
    score, digit = worst_finger(z)
    return KeyTimingScore(
        score=score, threshold=norm.threshold, finger=FINGER_NAMES[digit],
        finger_z={name: round(float(v), 3) for name, v in zip(FINGER_NAMES, z, strict=True)
                  if np.isfinite(v)})
