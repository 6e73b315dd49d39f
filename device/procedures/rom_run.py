"""Range of motion of one digit with the IMU pair, guided, with drop-out handling.

The person rests the hand with the finger straight (the neutral calibration: gyroscope bias
and the pose whose angles are zero), then bends the finger as far as it goes, straightens
and lifts it, and moves it sideways both ways, following the prompts. The joint angles are
recorded throughout; `device.biomech.rom` gives the two ranges from them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from device.biomech.compute import measures_from
from device.biomech.measure import Measure
from device.biomech.recording import Recording, RecordingError
from device.hardware.imu import ImuPair, PairSample, angle_arrays
from device.procedures import messages
from device.procedures.force_plan import FINGER_WORDS

NEUTRAL_S = 1.5
MOVE_S = 20.0
#: What the page says over the recording, by seconds since the neutral calibration.
PROMPTS = ((0.0, "Keep still"), (2.0, "Bend the finger down as far as it goes, then back"),
           (6.1, "Lift the finger up as far as it goes, then back"),
           (10.2, "Move the finger sideways one way as far as it goes, then back"),
           (14.3, "Move the finger sideways the other way as far as it goes, then back"),
           (18.4, "Rest"))


@dataclass(frozen=True)
class RomStep:
    hand: str
    finger: str
    duration_s: float = MOVE_S

    kind = "rom"
    target_n = None

    @property
    def key(self) -> str:
        return f"rom:{self.hand}:{self.finger}"

    @property
    def instruction(self) -> str:
        return (f"Fix one motion sensor on the back of the {self.hand} hand and one on the first "
                f"segment of the {FINGER_WORDS[self.finger]}. Rest the hand flat with the finger "
                "straight and keep still until the page says to move; then follow the prompts.")


@dataclass(frozen=True)
class LiveAngles:
    elapsed_s: float
    prompt: str
    flexion_deg: float
    abduction_deg: float


@dataclass
class RomOutcome:
    step: RomStep
    completed: bool
    recording: Recording | None
    measures: list[Measure] = field(default_factory=list)
    message: str = ""


def prompt_at(elapsed_s: float) -> str:
    return [text for start, text in PROMPTS if elapsed_s >= start][-1]


def run_rom_step(
    imus: ImuPair,
    step: RomStep,
    *,
    on_live: Callable[[LiveAngles], None] | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RomOutcome:
    samples: list[PairSample] = []
    elapsed = 0.0
    try:
        if imus.simulation is not None:  # the simulated person holds still ...
            imus.simulation.restart(clock() - 1e6)
        imus.calibrate_neutral(NEUTRAL_S)
        start = clock()
        if imus.simulation is not None:  # ... and follows the prompts from now on
            imus.simulation.restart(start)
        period = 1.0 / imus.rate_hz
        k = 0
        while elapsed < step.duration_s:
            if cancel is not None and cancel.is_set():
                break
            wait = start + k * period - clock()
            if wait > 0:
                sleep(wait)
            sample = imus.read()
            samples.append(sample)
            k += 1
            elapsed = clock() - start
            if on_live is not None:
                on_live(LiveAngles(elapsed, prompt_at(elapsed), sample.flexion_deg,
                                   sample.abduction_deg))
    except OSError as error:  # ImuError, I2CDeviceError
        return RomOutcome(step, False, _recording(step, samples), message=messages.dropped_out(
            "motion sensors", elapsed, error, "Check the sensor cables"))
    recording = _recording(step, samples)
    if cancel is not None and cancel.is_set():
        return RomOutcome(step, False, recording, message=messages.CANCELLED)
    if recording is None:
        return RomOutcome(step, False, None, message=messages.no_samples("motion"))
    return RomOutcome(step, True, recording, measures_from(recording))


def _recording(step: RomStep, samples: list[PairSample]) -> Recording | None:
    if len(samples) < 2:
        return None
    t, angles = angle_arrays(samples)
    keep = np.concatenate([[True], np.diff(t) > 0])
    try:
        return Recording(kind="rom", hand=step.hand, finger=step.finger, t=t[keep] - t[0],
                         values=angles[keep])
    except RecordingError:
        return None
