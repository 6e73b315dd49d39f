"""Validation hands judged as the box judges them when a model's card names a trim search:
each over its best window end, or, with its key data left out, over its best window around
its movement (device/screening/trim_search.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device import takefile
from device.kinematics.errors import TakeUnusableError
from device.kinematics.prepare import PreparedTake, Settings, prepare
from device.screening.runtime import TfliteModel
from device.screening.statistic import hand_score
from device.screening.trim_search import TrimSearch, judge_hand
from model_export.screening.cohort import HandSample
from model_export.screening.setups import without_keys as keys_left_out


def searched_scores(path: Path, hands: list[HandSample], settings: Settings, score: str,
                    finger_norm: np.ndarray, search: TrimSearch
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The int8 model's ``score`` of each hand at its best window end, and the hand prepared
    over that window (N, 128, 21, 3), in the order of ``hands``. Their takes are read again
    (a cohort keeps only each hand's key window); a take trimmed by motion has no key window
    to move and is judged at its best window around its movement."""
    judged = _judged(path, hands, settings, score, finger_norm, search, without_keys=False)
    return np.array([s for s, _ in judged]), np.stack([x for _, x in judged])


def scores_without_keys(path: Path, hands: list[HandSample], settings: Settings, score: str,
                        finger_norm: np.ndarray, search: TrimSearch) -> np.ndarray:
    """The int8 model's ``score`` of each hand as the box judges it when its take has no key
    data: trimmed by the hands' movement and judged at the best window around it. A hand that
    cannot be found from its movement is left out."""
    judged = _judged(path, hands, settings, score, finger_norm, search, without_keys=True)
    return np.array([s for s, _ in judged])


def _judged(path: Path, hands: list[HandSample], settings: Settings, score: str,
            finger_norm: np.ndarray, search: TrimSearch, without_keys: bool
            ) -> list[tuple[float, np.ndarray]]:
    runner = TfliteModel(path)

    def judge(batch: np.ndarray) -> np.ndarray:
        return np.array([hand_score(score, x, runner(x), finger_norm) for x in batch])

    prepared: dict[str, tuple[takefile.Take, PreparedTake | None]] = {}
    out = []
    for hand in hands:
        if hand.file not in prepared:
            take = takefile.read(hand.file)
            if without_keys:
                take = keys_left_out(take)
            try:
                prepared[hand.file] = take, prepare(take, settings)
            except TakeUnusableError:
                if not without_keys:
                    raise
                prepared[hand.file] = take, None
        take, whole = prepared[hand.file]  # with keys, every hand was prepared with the cohort
        if without_keys and (whole is None or whole.hands[hand.hand].data is None):
            continue
        best = judge_hand(take, hand.hand, whole, settings, search, judge)
        out.append((best.score, best.data))
    return out
