"""A hand judged over its playing as another key sensor might have timed its end.

Each hand is trimmed to its first key onset and last release (device/kinematics/trim.py),
and the autoencoders have only seen windows timed by the generator's keys. A key sensor
that reports releases 50 ms earlier (a higher release threshold, another digital piano's
note-off) stretches the passage by 1-2 % and cuts the hand's last lift: healthy hands'
scores rose by a median 1.18x and task 4's specificity fell from 95 % to 72 %
(docs/evaluation-default-models.md). So the box also judges each hand with its window's end
moved by each of END_SHIFTS_S and keeps the lowest score: a healthy hand whose releases were
timed otherwise is then judged on a window as the models know it. The threshold is set on
validation hands judged the same way, so the search costs little specificity; what it costs
is that a dystonic hand, too, gets its best window. Onsets are not searched: with onsets
reported 30 ms early, tasks 4 and 7 lost at most 7 points of specificity with or without a
search of the start, and searching it as well lowered task 4's threshold further
(specificity as generated 91 % against 96 %).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from device.kinematics.errors import HandUnusableError
from device.kinematics.prepare import PreparedTake, Settings, prepare_hand
from device.kinematics.trim import TRIMMED_BY_KEYS
from device.takefile import Take

END_SHIFTS_S = (-0.075, -0.05, -0.025, 0.025, 0.05, 0.075)
# A batch of prepared hands (K, 128, 21, 3) in, their scores (K,) out.
Judge = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TrimSearch:
    end_shifts_s: tuple[float, ...] = END_SHIFTS_S

    def as_card(self) -> dict:
        return {"end_shifts_s": list(self.end_shifts_s),
                "kept": "the lowest score over the key window and these ends"}

    @classmethod
    def from_card(cls, entry: dict | None) -> TrimSearch | None:
        return cls(tuple(float(v) for v in entry["end_shifts_s"])) if entry else None


@dataclass(frozen=True)
class Judged:
    score: float
    data: np.ndarray  # the hand over the window that gave the score
    window: tuple[float, float] | None  # that window, within the video's frames
    end_moved_s: float | None  # how far its end was moved from the last release; None: no search


def best_window(take: Take, name: str, data: np.ndarray, window: tuple[float, float],
                settings: Settings, search: TrimSearch, judge: Judge) -> Judged:
    """The hand's lowest score over its key window (``data``, already prepared) and the
    same window with its end moved by each shift; a moved window the video does not hold
    is left out. The window returned is cut to the frames its samples span."""
    start, end = window
    shifts, hands = [0.0], [data]
    for shift in search.end_shifts_s:
        try:
            hands.append(prepare_hand(take, name, (start, end + shift), settings)[0])
            shifts.append(shift)
        except HandUnusableError:
            continue
    scores = judge(np.stack(hands))
    best = int(np.argmin(scores))
    seen = (max(start, float(take.t[0])), min(end + shifts[best], float(take.t[-1])))
    return Judged(float(scores[best]), hands[best], seen, shifts[best])


def judge_hand(take: Take, name: str, prepared: PreparedTake, settings: Settings,
               search: TrimSearch | None, judge: Judge) -> Judged:
    """One prepared hand judged as the box judges it: at its best window end when the model
    has a search and the take was trimmed by keys; otherwise over its window as prepared."""
    hand = prepared.hands[name]
    if hand.data is None:
        raise ValueError(f"{name} hand was not prepared: {hand.reason}")
    if search is None or prepared.trimmed_by != TRIMMED_BY_KEYS or hand.window is None:
        return Judged(float(judge(hand.data[None])[0]), hand.data, hand.window, None)
    return best_window(take, name, hand.data, hand.window, settings, search, judge)
