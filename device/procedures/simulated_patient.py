"""A simulated patient who does what each force step asks, on the simulated cells.

Used by the demo, the tests and the page on a laptop; on a box the real patient reads the
instruction on the page instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from device.hardware.sim_force import Action, Press, PressAll, Rest, Tap
from device.procedures.force_plan import ForceStep


class SpeededClock:
    """A monotonic clock that runs `speed` times faster than the real one, with its sleep,
    so the demo can run minutes of simulated tests in seconds with the same code paths.

    Simulated time stands still while the process is stalled: a pause longer than
    MAX_REAL_STEP_S between two readings counts as MAX_REAL_STEP_S. Otherwise a busy machine
    would make the simulated patient skip whole seconds of a test at once."""

    MAX_REAL_STEP_S = 0.02

    def __init__(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._lock = threading.Lock()
        self._real = time.monotonic()
        self._simulated = self._real

    def now(self) -> float:
        with self._lock:
            real = time.monotonic()
            self._simulated += min(real - self._real, self.MAX_REAL_STEP_S) * self.speed
            self._real = real
            return self._simulated

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of simulated time; afterwards at least that much has passed."""
        if seconds > 0:
            until = self.now() + seconds
            time.sleep(seconds / self.speed)
            with self._lock:
                self._real = time.monotonic()
                self._simulated = max(self._simulated, until)


class SimulatedForcePatient:
    """A `Performer` for `SimulatedCells` (anything with `set_action`)."""

    def __init__(self, cells_source: object,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not hasattr(cells_source, "set_action"):
            raise TypeError("the simulated patient needs simulated force cells")
        self.source = cells_source
        self.clock = clock

    def __call__(self, step: ForceStep, phase: str) -> None:
        action = self.action(step) if phase == "go" else Rest()
        self.source.set_action(action, at=self.clock())  # type: ignore[attr-defined]

    @staticmethod
    def action(step: ForceStep) -> Action:
        if step.kind == "simultaneous":
            return PressAll(fraction=1.0)
        assert step.finger is not None
        if step.kind == "max":
            return Press(step.finger, fraction=1.0)
        if step.kind == "independence":
            return Press(step.finger, target_n=step.target_n)
        if step.kind == "tapping":
            return Tap(step.finger)
        raise ValueError(f"no simulated action for a {step.kind} step")
