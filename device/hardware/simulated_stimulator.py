"""The stimulator's simulated twin: the real driver on gpiozero mock pins, and a simulated person
who feels the taps and presses a button.

``SimulatedStimulator`` is ``Stimulator`` itself on a ``MockFactory``, so every line of the
timing, safety and debouncing code runs as on the box. After each pair the
``SimulatedObserver`` answers from the *delivered* SOA and order (the recorded edges) through
the psychometric function the staircase assumes (``device.tojt.psychometric``): a logistic of
ln(SOA) from 50 % (guessing) to 1 - lapse, 75 % correct at the observer's threshold. It
presses the button on the mock pin after a human reaction time, with contact bounce.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from gpiozero.pins.mock import MockFactory

from device.hardware.response_buttons import FINGERS
from device.hardware.stimulator import Stimulator, StimulatorPins, TapPair
from device.tojt.psychometric import p_correct

# Tactile TOJ thresholds between adjacent fingers (FACTS.md, approx.): 30-80 ms in healthy
# adults, often raised in focal dystonia. The study itself found no group difference, so the
# dystonic range overlaps the healthy one.
THRESHOLD_RANGE_S = {"healthy": (0.030, 0.080), "dystonic": (0.040, 0.150)}
BOUNCE_S = 0.0003  # contact bounce of the simulated press
HOLD_S = 0.08  # how long the simulated finger keeps the button down


@dataclass(frozen=True)
class SimulatedObserver:
    """A person answering temporal order judgements."""

    threshold_s: float  # SOA at which 75 % of answers are right
    slope: float = 2.5  # logistic slope per unit of ln(SOA)
    lapse: float = 0.02
    guess: float = 0.5
    reaction_median_s: float = 0.45
    reaction_log_sd: float = 0.25

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold_s) and self.threshold_s > 0):
            raise ValueError(f"threshold_s must be a positive number, got {self.threshold_s}")
        if not self.slope > 0:
            raise ValueError(f"slope must be positive, got {self.slope}")
        if not 0 <= self.lapse < 0.25:
            raise ValueError(f"lapse must be between 0 and 0.25, got {self.lapse}")
        if not self.reaction_median_s > 0:
            raise ValueError(f"reaction_median_s must be positive, got {self.reaction_median_s}")

    @classmethod
    def for_patient(cls, patient: str, seed: int, **settings: float) -> SimulatedObserver:
        """An observer whose threshold is drawn (log-uniformly, from ``seed``) for the group."""
        if patient not in THRESHOLD_RANGE_S:
            raise ValueError(f"patient must be one of {sorted(THRESHOLD_RANGE_S)}, got {patient!r}")
        lo, hi = THRESHOLD_RANGE_S[patient]
        rng = np.random.default_rng(seed)
        return cls(threshold_s=float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), **settings)

    def p_correct(self, soa_s: float) -> float:
        return float(p_correct(soa_s, self.threshold_s, slope=self.slope, guess=self.guess,
                               lapse=self.lapse))

    def answer(self, pair: TapPair, rng: np.random.Generator) -> tuple[str, float]:
        """The finger felt first and the reaction time, for a delivered pair."""
        felt_first = pair.taps[0].finger
        if rng.random() >= self.p_correct(pair.delivered_soa_s):
            felt_first = FINGERS[1 - FINGERS.index(felt_first)]
        reaction = self.reaction_median_s * math.exp(rng.normal(0.0, self.reaction_log_sd))
        return felt_first, reaction


class SimulatedStimulator(Stimulator):
    """``Stimulator`` on mock pins, with a simulated person pressing the mock buttons."""

    def __init__(
        self,
        observer: SimulatedObserver,
        pins: StimulatorPins | None = None,
        *,
        pulse_s: float = 0.010,
        debounce_s: float = 0.010,
        rng: np.random.Generator | None = None,
        pin_factory: MockFactory | None = None,
    ) -> None:
        self.pin_factory = pin_factory or MockFactory()
        super().__init__(pins, pulse_s=pulse_s, debounce_s=debounce_s,
                         pin_factory=self.pin_factory)
        self.observer = observer
        self._rng = rng or np.random.default_rng()
        self._presses: list[threading.Thread] = []
        self._closing = threading.Event()

    def tap_pair(self, first: str, soa_s: float, *, pulse_s: float | None = None) -> TapPair:
        pair = super().tap_pair(first, soa_s, pulse_s=pulse_s)
        finger, reaction = self.observer.answer(pair, self._rng)
        previous = self._presses[-1] if self._presses else None
        press = threading.Thread(target=self._press,
                                 args=(finger, pair.taps[1].on_s + reaction, previous),
                                 name="simulated-finger", daemon=True)
        self._presses = [p for p in self._presses if p.is_alive()] + [press]
        press.start()
        return pair

    def _press(self, finger: str, at_s: float, previous: threading.Thread | None) -> None:
        if previous is not None:
            previous.join()  # the finger is still on the last button: release it first
        pin = self.pin_factory.pin(self.pins.buttons()[finger])
        if self._closing.wait(max(at_s - time.perf_counter(), 0.0)):
            return  # closed before the person answered
        pin.drive_low()  # first contact
        time.sleep(BOUNCE_S)
        pin.drive_high()
        time.sleep(BOUNCE_S)
        pin.drive_low()
        time.sleep(HOLD_S)
        pin.drive_high()

    def close(self) -> None:
        self._closing.set()
        for press in self._presses:
            press.join()
        super().close()
