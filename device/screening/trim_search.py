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
from device.kinematics.track_checks import CheckedTrack
from device.kinematics.trim import TRIMMED_BY_MOTION
from device.takefile import Take

END_SHIFTS_S = (-0.075, -0.05, -0.025, 0.025, 0.05, 0.075)
# Without key data the playing is found from the hands' movement (device/kinematics/trim.py),
# which on some tasks starts up to a second before the first keystroke and ends up to a
# second after the last release (task 7: a median 0.83 s early and 0.68 s late); judged over
# that window, healthy hands score far above the threshold. So such a hand is also judged with
# its window's start moved later and its end earlier by these shifts (pairs of them, none
# shorter than MIN_MOTION_WINDOW_S), and the lowest score is kept. The scores over the pairs
# have narrow valleys, so the search is coarse then fine: every MOTION_COARSE_STEP-th shift of
# each first (49 pairs), then the pairs next to the MOTION_REFINED lowest of those. On the
# fresh cohort's 3,168 hands it found the lowest score of all 169 pairs for 97 % of them
# (98 % within 5 %) with 62 judgements instead of 163 (docs/screening.md).
MOTION_START_SHIFTS_S = tuple(round(0.1 * k, 1) for k in range(-2, 11))  # -0.2 .. +1.0 s
MOTION_END_SHIFTS_S = tuple(-shift or 0.0 for shift in MOTION_START_SHIFTS_S)  # +0.2 .. -1.0 s
MOTION_COARSE_STEP = 2
MOTION_REFINED = 3
MIN_MOTION_WINDOW_S = 1.0
# A batch of prepared hands (K, 128, 21, 3) in, their scores (K,) out.
Judge = Callable[[np.ndarray], np.ndarray]
Move = tuple[float, float]  # how far a window's start and end were moved, in seconds


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


def _judged(take: Take, name: str, window: tuple[float, float], moves: list[Move],
            settings: Settings, judge: Judge, track: CheckedTrack | None,
            prepared: dict[Move, np.ndarray] | None = None
            ) -> dict[Move, tuple[float, np.ndarray]]:
    """The score and hand over ``window`` with its start and end moved by each (start, end)
    pair of ``moves``, judged in one batch; a move in ``prepared`` uses the hand given there,
    and a moved window the video does not hold is left out. ``track``: the hand's checked
    track, made once for all the windows."""
    start, end = window
    kept, hands = [], []
    for move in moves:
        if prepared and move in prepared:
            hands.append(prepared[move])
        else:
            try:
                hands.append(prepare_hand(take, name, (start + move[0], end + move[1]),
                                          settings, track)[0])
            except HandUnusableError:
                continue
        kept.append(move)
    scores = judge(np.stack(hands)) if hands else []
    return {move: (float(score), hand) for move, score, hand in zip(kept, scores, hands,
                                                                     strict=True)}


def _lowest(take: Take, window: tuple[float, float], judged: dict[Move, tuple[float, np.ndarray]]
            ) -> tuple[float, np.ndarray, tuple[float, float], Move]:
    """The lowest of the ``judged`` scores, its hand, its window cut to the frames its samples
    span, and its move."""
    move = min(judged, key=lambda m: judged[m][0])
    score, hand = judged[move]
    seen = (max(window[0] + move[0], float(take.t[0])), min(window[1] + move[1],
                                                            float(take.t[-1])))
    return score, hand, seen, move


def best_window(take: Take, name: str, data: np.ndarray, window: tuple[float, float],
                settings: Settings, search: TrimSearch, judge: Judge,
                track: CheckedTrack | None = None) -> Judged:
    """The hand's lowest score over its key window (``data``, already prepared) and the
    same window with its end moved by each shift; a moved window the video does not hold
    is left out. The window returned is cut to the frames its samples span."""
    moves = [(0.0, 0.0), *((0.0, shift) for shift in search.end_shifts_s)]
    judged = _judged(take, name, window, moves, settings, judge, track, {(0.0, 0.0): data})
    score, hand, seen, (_, late) = _lowest(take, window, judged)
    return Judged(score, hand, seen, late)


def best_motion_window(take: Take, name: str, data: np.ndarray, window: tuple[float, float],
                       settings: Settings, judge: Judge, track: CheckedTrack | None = None
                       ) -> Judged:
    """The hand's lowest score over its movement window (``data``, already prepared) with the
    start moved by MOTION_START_SHIFTS_S and the end by MOTION_END_SHIFTS_S, coarse then fine;
    a window shorter than MIN_MOTION_WINDOW_S, or one the video does not hold, is left
    out."""
    start, end = window
    n_start, n_end = len(MOTION_START_SHIFTS_S), len(MOTION_END_SHIFTS_S)

    def moves(pairs: set[tuple[int, int]]) -> list[Move]:
        inside = [(MOTION_START_SHIFTS_S[i], MOTION_END_SHIFTS_S[j]) for i, j in sorted(pairs)
                  if 0 <= i < n_start and 0 <= j < n_end]
        return [(early, late) for early, late in inside  # the window as found is always judged
                if end + late - start - early >= MIN_MOTION_WINDOW_S or early == late == 0.0]

    at = {(a, b): (i, j) for i, a in enumerate(MOTION_START_SHIFTS_S)
          for j, b in enumerate(MOTION_END_SHIFTS_S)}
    coarse = {(i, j) for i in range(0, n_start, MOTION_COARSE_STEP)
              for j in range(0, n_end, MOTION_COARSE_STEP)}
    judged = _judged(take, name, window, moves(coarse), settings, judge, track,
                     {(0.0, 0.0): data})
    lowest = sorted(judged, key=lambda m: judged[m][0])[:MOTION_REFINED]
    near = {(at[m][0] + di, at[m][1] + dj) for m in lowest
            for di in (-1, 0, 1) for dj in (-1, 0, 1)} - coarse
    judged |= _judged(take, name, window, moves(near), settings, judge, track)
    score, hand, seen, (early, late) = _lowest(take, window, judged)
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
        return best_motion_window(take, name, hand.data, hand.window, settings, judge,
                                  hand.track)
    return best_window(take, name, hand.data, hand.window, settings, search, judge, hand.track)
