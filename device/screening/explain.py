"""Where the reconstruction went wrong: per landmark, per time step, and per finger.

The squared error of each of the 128 x 21 x 3 values is summed over the coordinates and
over each finger's landmarks (the wrist is its own group). Divided by the same quantity on
healthy validation hands, it reads as "how many times the healthy error", so the wrist's
naturally larger error does not crowd out a curling finger.

The finger named is the one whose error ratio times the score's own ratio for that finger
(``score_ratio``: for curl/1 each finger's curl over healthy; the wrist has none and counts
1) is largest: the whole error says where the hand departed, the score's finger what the
verdict rests on. On the affected hands found this names a digit of the patient's pattern
more often than the error ratio alone on two of three synthetic cohorts and as often on the
third (docs/evaluation-default-models.md, *The explanation*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FINGER_GROUPS = {
    "wrist": (0,),
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "little": (17, 18, 19, 20),
}
WINDOW = 16  # time steps of the most abnormal moment (1/8 of the passage)


def finger_time_error(x: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """(6, 128): squared error summed over each group's landmarks and the coordinates."""
    per_landmark_time = np.sum((reconstruction - x) ** 2, axis=2)  # (128, 21)
    return np.stack([per_landmark_time[:, list(ids)].sum(axis=1)
                     for ids in FINGER_GROUPS.values()])


@dataclass
class Explanation:
    per_landmark: np.ndarray  # (21,) mean squared error over time and coordinates
    per_time: np.ndarray  # (128,) mean squared error over landmarks and coordinates
    finger_time: np.ndarray  # (6, 128) summed per finger group
    finger_ratio: dict[str, float]  # finger error / healthy validation finger error
    worst_finger: str
    worst_window: tuple[float, float]  # fraction of the passage, 0..1
    # the score's own per-finger value over healthy (curl/1: thumb..little); None otherwise
    score_ratio: dict[str, float] | None = None

    def as_dict(self, window_s: tuple[float, float] | None = None) -> dict:
        out = {
            "per_landmark": [round(float(v), 8) for v in self.per_landmark],
            "per_time": [round(float(v), 8) for v in self.per_time],
            "finger_time": {name: [round(float(v), 8) for v in row]
                            for name, row in zip(FINGER_GROUPS, self.finger_time, strict=True)},
            "finger_ratio": {k: round(v, 3) for k, v in self.finger_ratio.items()},
            "worst_finger": self.worst_finger,
            "worst_window_fraction": [round(v, 4) for v in self.worst_window],
        }
        if self.score_ratio is not None:
            out["score_ratio"] = {k: round(v, 3) for k, v in self.score_ratio.items()}
        if window_s is not None:
            start, end = window_s
            span = end - start
            out["worst_window_s"] = [round(start + f * span, 3) for f in self.worst_window]
        return out


def explain(x: np.ndarray, reconstruction: np.ndarray, healthy_finger_error: list[float],
            score_ratio: dict[str, float] | None = None) -> Explanation:
    """``score_ratio``: the hand's score per finger over healthy, by finger name (a group
    without one, such as the wrist, counts 1)."""
    sq = (reconstruction - x) ** 2
    finger_time = finger_time_error(x, reconstruction)
    totals = finger_time.mean(axis=1)
    healthy = np.maximum(np.asarray(healthy_finger_error, dtype=np.float64), 1e-12)
    ratio = totals / healthy
    weight = np.array([(score_ratio or {}).get(name, 1.0) for name in FINGER_GROUPS])
    # a value that is not finite says nothing about that finger
    weight = np.where(np.isfinite(weight), np.maximum(weight, 1e-12), 1.0)
    named = np.where(np.isfinite(ratio), np.maximum(ratio, 1e-12), 1e-12) * weight
    worst = int(np.argmax(named))
    row = finger_time[worst]
    sums = np.convolve(row, np.ones(WINDOW), mode="valid")
    start = int(np.argmax(sums))
    n = row.size
    return Explanation(
        per_landmark=sq.mean(axis=(0, 2)),
        per_time=sq.mean(axis=(1, 2)),
        finger_time=finger_time,
        finger_ratio={name: float(r) for name, r in zip(FINGER_GROUPS, ratio, strict=True)},
        worst_finger=list(FINGER_GROUPS)[worst],
        worst_window=(start / (n - 1), min(start + WINDOW - 1, n - 1) / (n - 1)),
        score_ratio=score_ratio,
    )
