"""What every key source shares: the key event, the interface, and events to the take
file's `keys` array."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from device.takefile import MIDI_HIGH, MIDI_LOW

ONSET = "onset"
RELEASE = "release"


@dataclass(frozen=True)
class KeyEvent:
    """One key going down (onset) or up (release).

    `time_s` is on the Pi's `time.monotonic` clock (or seconds from the start, for a file);
    `velocity` is 0..1, NaN when the source does not know it.
    """

    time_s: float
    note: int  # MIDI 21..108
    kind: str  # ONSET or RELEASE
    velocity: float

    def __post_init__(self) -> None:
        if not MIDI_LOW <= self.note <= MIDI_HIGH:
            raise ValueError(f"key event note {self.note} is outside the piano "
                             f"({MIDI_LOW}..{MIDI_HIGH})")
        if self.kind not in (ONSET, RELEASE):
            raise ValueError(f"key event kind must be {ONSET!r} or {RELEASE!r}, not {self.kind!r}")
        if not (math.isnan(self.velocity) or 0.0 <= self.velocity <= 1.0):
            raise ValueError(f"key event velocity {self.velocity} is outside 0..1")


@dataclass(frozen=True)
class Cue:
    """What the pianist is about to play. Real sensors ignore it; the simulated one plays it."""

    task: int = 1
    dynamics: str = "pp"
    tempo_mode: str = "fixed"
    bpm: float | None = None  # None: the task's tempo for `tempo_mode`


class KeySource(ABC):
    """Key events of one take: `start()`, then `drain()` as often as wanted, then `stop()`
    and a last `drain()`. Times are on `time.monotonic`."""

    name: str

    @abstractmethod
    def start(self, cue: Cue | None = None) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def drain(self) -> list[KeyEvent]:
        """The events since the last drain, oldest first."""

    @property
    def overflowed(self) -> bool:
        """Events were lost during this take: mark it and ask for a retake."""
        return False

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release the device (a source can start again until it is closed)."""


def keys_array(events: Iterable[KeyEvent], end_s: float | None = None) -> np.ndarray:
    """Pair onsets with releases into the take file's `keys` (N, 4): note, onset, release,
    velocity, sorted by onset.

    A key still down at the end is released at `end_s` (default: the last event's time); a
    second onset of a key that is down closes the first at that moment; a release without an
    onset (the key was down before recording began) is dropped.
    """
    ordered = sorted(events, key=lambda e: e.time_s)
    if end_s is None:
        end_s = ordered[-1].time_s if ordered else 0.0
    down: dict[int, KeyEvent] = {}
    rows: list[tuple[float, float, float, float]] = []
    for event in ordered:
        held = down.pop(event.note, None)
        if held is not None:
            rows.append((event.note, held.time_s, event.time_s, held.velocity))
        if event.kind == ONSET:
            down[event.note] = event
    for note, held in down.items():
        rows.append((note, held.time_s, max(end_s, held.time_s), held.velocity))
    rows.sort(key=lambda row: (row[1], row[0]))
    return np.array(rows, dtype=np.float64).reshape(-1, 4)
