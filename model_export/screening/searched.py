"""Validation hands judged as the box judges them when a model's card names a trim search:
each over its best window end (device/screening/trim_search.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device import takefile
from device.kinematics.prepare import PreparedTake, Settings, prepare
from device.screening.runtime import TfliteModel
from device.screening.statistic import hand_score
from device.screening.trim_search import TrimSearch, judge_hand
from model_export.screening.cohort import HandSample


def searched_scores(path: Path, hands: list[HandSample], settings: Settings, score: str,
                    finger_norm: np.ndarray, search: TrimSearch
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The int8 model's ``score`` of each hand at its best window end, and the hand prepared
    over that window (N, 128, 21, 3), in the order of ``hands``. Their takes are read again
    (a cohort keeps only each hand's key window); a take trimmed by motion has no key window
    to move and is judged as prepared."""
    runner = TfliteModel(path)

    def judge(batch: np.ndarray) -> np.ndarray:
        return np.array([hand_score(score, x, runner(x), finger_norm) for x in batch])

    prepared: dict[str, tuple[takefile.Take, PreparedTake]] = {}
    out, best = [], []
    for hand in hands:
        if hand.file not in prepared:
            take = takefile.read(hand.file)
            prepared[hand.file] = take, prepare(take, settings)
        take, whole = prepared[hand.file]
        judged = judge_hand(take, hand.hand, whole, settings, search, judge)
        out.append(judged.score)
        best.append(judged.data)
    return np.array(out), np.stack(best)
