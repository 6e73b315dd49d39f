"""Recording one take: start, stop, and a preview picture for framing the hands.

A recorder is chosen from configuration at start-up (simulated off the Pi) and passed in.
Only one take is recorded at a time on a box; ``RecordingState`` guards that.

``stop()`` gives either a finished ``Take`` (the simulated recorder) or a ``RawRecording``:
the camera's video, its frame times and the key events, written to disk and waiting for the
background worker to find the hands' landmarks in it (a Pi cannot do that live at 60 fps).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from device.session.steps import Step
from device.takefile import Take


class RecorderError(RuntimeError):
    """Recording cannot start or finish; the message says what to check."""


@dataclass(frozen=True)
class RawRecording:
    """A recorded step not yet analysed. The files are complete (written atomically).

    ``times`` holds the frame times (float64 (T,), one per video frame, in order) and ``keys``
    the key events (float64 (N, 4): note, onset, release, velocity), both in seconds on
    ``time.monotonic``.
    """

    task: int
    dynamics: str
    tempo_mode: str
    participant: str
    video: Path
    times: Path
    keys: Path
    keys_source: str  # the key source's name; "no key sensor" when there is none
    keys_overflowed: bool
    frames: int
    dropped_frames: int  # frames the camera gave that could not be written in time
    recorded: float  # wall-clock time.time() at the end of the recording

    @property
    def files(self) -> tuple[Path, Path, Path]:
        return self.video, self.times, self.keys


class Recorder(Protocol):
    def start(self, step: Step, participant: str) -> None: ...

    def stop(self) -> Take | RawRecording: ...

    def preview(self) -> tuple[bytes, str] | None:
        """The camera's current picture and its MIME type, for framing the hands."""
        ...


@dataclass
class Active:
    session_id: int
    step: Step
    started: float


class RecordingState:
    """Which session is recording now, if any (one at a time per box)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._active: Active | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> Active | None:
        return self._active

    def start(self, session_id: int, step: Step, participant: str) -> None:
        with self._lock:
            if self._active is not None:
                raise RecorderError(
                    f"session {self._active.session_id} is recording; stop it first")
            self.recorder.start(step, participant)
            self._active = Active(session_id, step, time.monotonic())

    def stop(self, session_id: int) -> tuple[Step, Take | RawRecording]:
        with self._lock:
            if self._active is None or self._active.session_id != session_id:
                raise RecorderError("this session is not recording")
            step = self._active.step
            try:
                return step, self.recorder.stop()
            finally:
                self._active = None
