"""Whether a hand was tracked as precisely as the hands a task's model learnt from.

A noisier tracker (a dim room, a camera out of focus, another tracking model) raises every
hand's reconstruction error: 2 px more jitter took the shipped models' specificity from 92 %
to 80 % (docs/evaluation-default-models.md). The verdict stays the autoencoder's, but a hand
whose tracking noise (device/kinematics/tracking_noise.py) is above the card's limit
(LIMIT_FACTOR times the 99th percentile of the healthy training hands') is reported as such,
so an abnormal verdict can be read with that in mind and the task recorded again in better
light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LIMIT_FACTOR = 1.25
MEASURE = "tracking-noise/1"


@dataclass(frozen=True)
class TrackingNoiseNorm:
    healthy_p99: float  # fraction of the palm length
    n_hands: int
    limit: float  # above it a hand is reported; LIMIT_FACTOR x healthy_p99 when made

    @classmethod
    def from_healthy(cls, noise: list[float]) -> TrackingNoiseNorm:
        p99 = float(np.percentile(noise, 99))
        return cls(p99, len(noise), LIMIT_FACTOR * p99)

    def as_card(self) -> dict[str, Any]:
        return {"measure": MEASURE, "healthy_p99": self.healthy_p99, "n_hands": self.n_hands,
                "limit": self.limit}

    @classmethod
    def from_card(cls, entry: Any) -> TrackingNoiseNorm | None:
        if not entry:
            return None
        if not isinstance(entry, dict) or entry.get("measure") != MEASURE:
            raise ValueError(f"not a {MEASURE} norm")
        norm = cls(float(entry["healthy_p99"]), int(entry["n_hands"]), float(entry["limit"]))
        if not (np.isfinite(norm.limit) and norm.limit > 0):
            raise ValueError(f"limit {norm.limit} is not a positive number")
        return norm


@dataclass(frozen=True)
class TrackingCheck:
    noise: float  # this hand's, fraction of its palm length
    limit: float

    @property
    def above_limit(self) -> bool:
        return self.noise > self.limit

    def as_dict(self) -> dict[str, Any]:
        return {"measure": MEASURE, "value": self.noise, "limit": self.limit,
                "above_limit": self.above_limit}

    def sentence(self, hand: str) -> str:
        return (f"The {hand} hand's tracking was noisier than in the healthy takes the model "
                f"learnt from ({100 * self.noise:.1f} % of the palm's length from frame to "
                f"frame, at most {100 * self.limit:.1f} % expected): a high score may come from "
                "the tracking. Check the light and the camera's focus and record the task again.")
