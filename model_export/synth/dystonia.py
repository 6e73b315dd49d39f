"""Dystonic patterns (Table 1 of the source study) and the involuntary flexion they cause.

A pattern names the digits (and the wrist) that flex involuntarily. The flexion is not a
fixed posture: a drive between 0 and 1 builds up over the playing and comes in episodes,
mostly while the digit is meant to be lifted, and scales with severity. The affected digits
are also slower and less regular in their keystrokes and tend to stick on the key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# pattern name -> (digit indices 0 thumb .. 4 little, wrist flexes); counts from Table 1
PATTERNS: dict[str, tuple[tuple[int, ...], bool]] = {
    "index+middle": ((1, 2), False),
    "ring+little": ((3, 4), False),
    "middle+wrist": ((2,), True),
    "thumb+index": ((0, 1), False),
    "index": ((1,), False),
    "ring": ((3,), False),
    "middle": ((2,), False),
    "middle+ring": ((2, 3), False),
    "middle+ring+little": ((2, 3, 4), False),
    "wrist": ((), True),
}
TABLE1_COUNTS = {
    "index+middle": 4, "ring+little": 1, "middle+wrist": 1, "thumb+index": 2, "index": 1,
    "ring": 1, "middle": 2, "middle+ring": 2, "middle+ring+little": 1, "wrist": 1,
}
AFFECTED_RIGHT_SHARE = 14 / 16
# extra flexion (radians) of base, middle and distal joint at full drive and severity 1
MAX_CURL = np.radians([[18.0, 30.0, 25.0],  # thumb: CMC, MCP, IP
                       [22.0, 55.0, 35.0],  # fingers: MCP, PIP, DIP
                       [22.0, 55.0, 35.0],
                       [22.0, 55.0, 35.0],
                       [22.0, 55.0, 35.0]])
MAX_WRIST_FLEXION = np.radians(28.0)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class Drive:
    """Involuntary drive 0..1 of one digit (or the wrist) as a function of time: a build-up
    from the first keystroke plus episodes (Poisson). Its parameters are drawn once, so the
    drive can be evaluated at any times."""

    start: float
    stop: float
    build: float
    build_span: float
    episodes: np.ndarray  # (n, 5): begin, rise, hold, fall, amplitude

    @classmethod
    def sample(cls, start: float, stop: float, rng: np.random.Generator) -> Drive:
        span = max(stop - start, 1e-3)
        n = rng.poisson(rng.uniform(0.4, 1.4) * span) + 1
        episodes = np.stack([
            rng.uniform(start - 0.3, stop, n), rng.uniform(0.12, 0.4, n),
            rng.uniform(0.1, 0.8, n), rng.uniform(0.15, 0.5, n), rng.uniform(0.4, 1.0, n),
        ], axis=1)
        return cls(start, stop, rng.uniform(0.15, 0.6), span * rng.uniform(0.5, 1.2), episodes)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        level = self.build * smoothstep((t - self.start) / self.build_span)
        begin, rise, hold, fall, amplitude = (c[:, None] for c in self.episodes.T)
        shape = smoothstep((t - begin) / rise) * (1 - smoothstep((t - begin - rise - hold) / fall))
        level = level + (amplitude * shape).max(axis=0)
        playing = smoothstep((t - self.start + 0.3) / 0.3) \
            * (1 - smoothstep((t - self.stop) / 0.5))
        return np.clip(level, 0.0, 1.0) * playing
