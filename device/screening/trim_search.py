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
from device.kinematics.trim import TRIMMED_BY_MOTION
from device.takefile import Take

END_SHIFTS_S = (-0.075, -0.05, -0.025, 0.025, 0.05, 0.075)
# Without key data the playing is found from the hands' movement (device/kinematics/trim.py),
# which on some tasks starts up to a second before the first keystroke and ends up to a
# second after the last release (task 7: a median 0.83 s early and 0.68 s late); judged over
# that window, healthy hands score far above the threshold. So such a hand is also judged with
# its window's start moved later and its end earlier by each of these (every pair, 169
# windows, none shorter than MIN_MOTION_WINDOW_S), and the lowest score is kept.
MOTION_START_SHIFTS_S = tuple(round(0.1 * k, 1) for k in range(-2, 11))  # -0.2 .. +1.0 s
MOTION_END_SHIFTS_S = tuple(-shift or 0.0 for shift in MOTION_START_SHIFTS_S)  # +0.2 .. -1.0 s
MIN_MOTION_WINDOW_S = 1.0
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
    start_moved_s: float | None = None  # without key data: how far its start was moved


def _lowest(take: Take, name: str, data: np.ndarray, window: tuple[float, float],
            moves: list[tuple[float, float]], settings: Settings, judge: Judge
            ) -> tuple[float, np.ndarray, tuple[float, float], tuple[float, float]]:
    """The lowest score over ``window`` (``data``, already prepared) and the window with its
    start and end moved by each (start, end) pair of ``moves``, judged in one batch; a moved
    window the video does not hold is left out. Returns the score, its hand, its window cut
    to the frames its samples span, and its move."""
    start, end = window
    kept, hands = [(0.0, 0.0)], [data]
    for early, late in moves:
        try:
            hands.append(prepare_hand(take, name, (start + early, end + late), settings)[0])
            kept.append((early, late))
        except HandUnusableError:
            continue
    scores = judge(np.stack(hands))
    best = int(np.argmin(scores))
    early, late = kept[best]
    seen = (max(start + early, float(take.t[0])), min(end + late, float(take.t[-1])))
    return float(scores[best]), hands[best], seen, kept[best]


def best_window(take: Take, name: str, data: np.ndarray, window: tuple[float, float],
                settings: Settings, search: TrimSearch, judge: Judge) -> Judged:
    """The hand's lowest score over its key window (``data``, already prepared) and the
    same window with its end moved by each shift; a moved window the video does not hold
    is left out. The window returned is cut to the frames its samples span."""
    score, hand, seen, (_, late) = _lowest(take, name, data, window,
                                           [(0.0, shift) for shift in search.end_shifts_s],
                                           settings, judge)
    return Judged(score, hand, seen, late)


def best_motion_window(take: Take, name: str, data: np.ndarray, window: tuple[float, float],
                       settings: Settings, judge: Judge) -> Judged:
    """The hand's lowest score over its movement window (``data``, already prepared) with the
    start moved by each of MOTION_START_SHIFTS_S and the end by each of MOTION_END_SHIFTS_S;
    a window shorter than MIN_MOTION_WINDOW_S, or one the video does not hold, is left
    out."""
    start, end = window
    moves = [(early, late) for early in MOTION_START_SHIFTS_S for late in MOTION_END_SHIFTS_S
             if (early, late) != (0.0, 0.0) and end + late - start - early >= MIN_MOTION_WINDOW_S]
    score, hand, seen, (early, late) = _lowest(take, name, data, window, moves, settings, judge)
    return Judged(score, hand, seen, late, early)


def judge_hand(take: Take, name: str, prepared: PreparedTake, settings: Settings,
               search: TrimSearch | None, judge: Judge) -> Judged:
    """One prepared hand judged as the box judges it, when the model has a search: at its
    best window end when the take was trimmed by keys, at its best window start and end when
    it was trimmed by the hands' movement; otherwise over its window as prepared."""
    hand = prepared.hands[name]
    if hand.data is None:
        raise ValueError(f"{name} hand was not prepared: {hand.reason}")
    if search is None or hand.window is None:
        return Judged(float(judge(hand.data[None])[0]), hand.data, hand.window, None)
    if prepared.trimmed_by == TRIMMED_BY_MOTION:
        return best_motion_window(take, name, hand.data, hand.window, settings, judge)
    return best_window(take, name, hand.data, hand.window, settings, search, judge)
