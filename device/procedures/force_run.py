"""Running force steps on the cells: live feedback, the raw recording, and drop-outs.

A step records every sample from its start (the lead-in shows the resting baseline) to its
end. If the cells stop answering (an I2C failure, or no sample for `dropout_s`), the step
stops at once: the samples so far are kept as an interrupted recording, no measure is
computed from them, and the message says what happened and that the step can be repeated.
The same holds when samples are missing for longer than `dropout_s` inside a recording (the
box fell behind): a measure from it could miss the very peak it is after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from device.biomech.compute import measures_from
from device.biomech.measure import Measure
from device.biomech.recording import Recording, RecordingError
from device.hardware.force import ForceCells, ForceSample
from device.procedures import messages
from device.procedures.force_plan import LEAD_IN_S, ForceStep, force_plan, max_steps

POLL_S = 0.05  # real seconds the sampling thread gets per wait for the next sample


@dataclass(frozen=True)
class LiveForce:
    """What the page shows while a step runs."""

    step: ForceStep
    elapsed_s: float
    go: bool  # past the lead-in: the patient acts now
    newtons: tuple[float, ...]


@dataclass
class ForceOutcome:
    step: ForceStep
    completed: bool
    recording: Recording | None
    measures: list[Measure] = field(default_factory=list)
    message: str = ""  # what went wrong, in words for the clinician


class Performer(Protocol):
    """Whoever acts on the cells when told: the simulated patient (a real one reads the page)."""

    def __call__(self, step: ForceStep, phase: str) -> None: ...


def _recording(step: ForceStep, samples: list[ForceSample], t0: float,
               limits: tuple[float, ...]) -> Recording | None:
    if len(samples) < 2:
        return None
    t = np.array([s.t for s in samples]) - t0
    keep = np.concatenate([[True], np.diff(t) > 0])  # a repeated timestamp adds nothing
    try:
        return Recording(kind=step.kind, hand=step.hand, finger=step.finger, t=t[keep],
                         values=np.array([s.newtons for s in samples])[keep],
                         limit=np.array(limits), target=step.target_n)
    except RecordingError:
        return None


def run_force_step(
    cells: ForceCells,
    step: ForceStep,
    *,
    maxima: dict[str, Measure] | None = None,
    on_live: Callable[[LiveForce], None] | None = None,
    perform: Performer | None = None,
    cancel: threading.Event | None = None,
    dropout_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> ForceOutcome:
    """Run one step; `maxima` (finger -> max force measure) is needed for simultaneous."""
    samples: list[ForceSample] = []
    t0 = clock()
    elapsed = 0.0
    failure: BaseException | None = None
    go_sent = False
    try:
        if perform is not None:
            perform(step, "lead_in")
        with cells.recording() as sink:
            samples = sink
            while elapsed < step.duration_s:
                if cancel is not None and cancel.is_set():
                    break
                sample = next_sample(cells, dropout_s, clock)
                elapsed = sample.t - t0
                go = elapsed >= LEAD_IN_S
                if go and not go_sent and perform is not None:
                    perform(step, "go")
                    go_sent = True
                if on_live is not None:
                    on_live(LiveForce(step, elapsed, go, sample.newtons))
    except (OSError, TimeoutError) as error:
        failure = error
    finally:
        if perform is not None:
            perform(step, "done")
    samples = list(samples)
    recording = _recording(step, samples, t0, cells.limits())
    if failure is not None:
        return ForceOutcome(step, False, recording, message=messages.dropped_out(
            "force sensors", elapsed, failure, "Check the sensor cable"))
    if cancel is not None and cancel.is_set():
        return ForceOutcome(step, False, recording, message=messages.CANCELLED)
    if recording is None:
        return ForceOutcome(step, False, None, message=messages.no_samples("force"))
    gaps = np.diff(recording.t)
    if gaps.size and gaps.max() > dropout_s:
        k = int(np.argmax(gaps))
        return ForceOutcome(step, False, recording, message=messages.gap(
            "force", float(recording.t[k]), float(gaps[k])))
    return ForceOutcome(step, True, recording, measures_from(recording, maxima))


def next_sample(cells: ForceCells, dropout_s: float,
                clock: Callable[[], float]) -> ForceSample:
    """The next sample, or TimeoutError once `clock` has run `dropout_s` without one.

    The wait is measured on the step's clock in short real-time slices, so after the whole
    process was held up (a busy Pi, or a simulated clock that stands still meanwhile) the
    sampling thread gets a slice to deliver before the cells are declared silent.
    """
    since = clock()
    while True:
        try:
            return cells.read(timeout_s=POLL_S)
        except TimeoutError:
            if clock() - since > dropout_s:
                raise TimeoutError(f"no force sample within {dropout_s:g} s") from None


def maxima_of(outcomes: list[ForceOutcome]) -> dict[str, Measure]:
    """Each finger's maximum-force measure from the completed max steps."""
    return {o.step.finger: o.measures[0] for o in outcomes
            if o.completed and o.step.kind == "max" and o.measures and o.step.finger}


def run_force_tests(
    cells: ForceCells,
    hand: str,
    *,
    on_live: Callable[[LiveForce], None] | None = None,
    perform: Performer | None = None,
    cancel: threading.Event | None = None,
    on_outcome: Callable[[ForceOutcome], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[ForceOutcome]:
    """Tare, then every force step of one hand in order; stops at the first failed step
    (its outcome is the last one returned), so nothing after it runs on a broken sensor."""
    if perform is not None:
        perform(max_steps(hand)[0], "done")  # fingers resting for the tare
    cells.tare()
    outcomes: list[ForceOutcome] = []

    def run(steps: list[ForceStep]) -> bool:
        for step in steps:
            outcome = run_force_step(cells, step, maxima=maxima_of(outcomes), on_live=on_live,
                                     perform=perform, cancel=cancel, clock=clock)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if not outcome.completed:
                return False
        return True

    if not run(max_steps(hand)):
        return outcomes
    maxima_n = {f: float(m.value) for f, m in maxima_of(outcomes).items() if m.value}
    rest = [s for s in force_plan(hand, maxima_n) if s.kind != "max"]
    run(rest)
    return outcomes

