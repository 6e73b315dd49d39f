"""A synthetic pianist's keystrokes for one protocol task: the simulated key source plays
this, and the emulated key bar queues it.

Both hands play each event of the task at once (mirror image, as the protocol writes it).
Each key's onset is the nominal beat plus a timing jitter (a few milliseconds at the fixed
tempo, kept well inside the gap between beats so the notes stay in order); chord notes
spread a few milliseconds; a key is released after most of the gap to the next event and
always before the same key is struck again.
"""

from __future__ import annotations

import numpy as np

from device.hardware.key_source import ONSET, RELEASE, KeyEvent
from device.protocol import Task

#: Typical key velocity (0..1) at each loudness level.
VELOCITY = {"pp": 0.22, "ff": 0.85}
#: How much faster than the fixed tempo the simulated pianist plays "as fast as possible".
FASTEST_FACTOR = 1.6


def tempo_bpm(task: Task, tempo_mode: str) -> float:
    if tempo_mode == "fixed":
        return task.fixed_bpm
    if tempo_mode == "fastest":
        return task.fixed_bpm * FASTEST_FACTOR
    raise ValueError(f"tempo mode must be fixed or fastest, not {tempo_mode!r}")


def perform(
    task: Task,
    rng: np.random.Generator,
    *,
    dynamics: str = "pp",
    bpm: float | None = None,
    start_s: float = 0.0,
    timing_sd_s: float = 0.008,
    chord_spread_s: float = 0.004,
) -> list[KeyEvent]:
    """Onsets and releases of one performance of `task`, sorted by time, first beat at
    `start_s`."""
    if dynamics not in VELOCITY:
        raise ValueError(f"dynamics must be one of {', '.join(VELOCITY)}, not {dynamics!r}")
    interval = task.beats_per_event * 60.0 / (bpm or task.fixed_bpm)
    limit = 0.2 * interval  # jitter never moves a note past a neighbour's
    strikes: list[tuple[float, int, float]] = []  # onset, note, velocity
    for index, event in enumerate(task.played()):
        beat = start_s + index * interval
        for hand in (event.right, event.left):
            hand_shift = np.clip(rng.normal(0.0, timing_sd_s), -limit, limit)
            for note in hand:
                spread = np.clip(rng.normal(0.0, chord_spread_s), -limit / 4, limit / 4)
                velocity = np.clip(rng.normal(VELOCITY[dynamics], 0.05), 0.01, 1.0)
                strikes.append((beat + hand_shift + spread, note, float(velocity)))
    strikes.sort()
    next_onset: dict[int, float] = {}
    events: list[KeyEvent] = []
    for onset, note, velocity in reversed(strikes):
        hold = interval * rng.uniform(0.75, 0.95)
        release = onset + hold
        if note in next_onset:
            release = min(release, onset + 0.8 * (next_onset[note] - onset))
        next_onset[note] = onset
        events.append(KeyEvent(onset, note, ONSET, velocity))
        lift = float(np.clip(rng.normal(0.3, 0.05), 0.01, 1.0))  # key-up speed
        events.append(KeyEvent(release, note, RELEASE, lift))
    events.sort(key=lambda e: e.time_s)
    return events
