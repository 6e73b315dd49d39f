"""The force cells' simulated twin: a hand on the five cells, and the counts they would give.

`SimulatedHand` is told what the simulated patient is doing (`set_action` with `Rest`,
`Lift`, `Press`, `PressAll`, `Tap` or `Weight`) and gives the true fingertip forces at any
time. Its strengths, enslaving and tapping follow FACTS.md ("Hand biomechanics", approx.):
maxima of roughly 25-60 N with thumb and index strongest; a pressing finger pulls its
neighbours along by a fraction (more between middle, ring and little, more in dystonia);
five or six taps a second. `SimulatedCells` turns the forces into ADC counts at the
configured rate with noise, a bridge offset per cell and a slow drift, clipped like the
24-bit ADC, so tare and calibration work on it exactly as on the real cells.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from device.hardware.nau7802 import (
    FULL_SCALE_NEGATIVE,
    FULL_SCALE_POSITIVE,
    STANDARD_GRAVITY,
    bridge_counts_per_newton,
)
from device.protocol import FINGER_NAMES

#: Typical maximal fingertip forces of an adult, thumb to little (N, approx.).
TYPICAL_MAX_N = (55.0, 50.0, 42.0, 33.0, 26.0)

#: ENSLAVING[i][j]: share of finger i's force that finger j produces when i presses alone
#: (approx., after Zatsiorsky, Li and Latash 2000: neighbours most, thumb little).
ENSLAVING = (
    (0.00, 0.06, 0.03, 0.02, 0.02),
    (0.04, 0.00, 0.22, 0.08, 0.05),
    (0.03, 0.18, 0.00, 0.30, 0.10),
    (0.02, 0.07, 0.32, 0.00, 0.35),
    (0.02, 0.05, 0.12, 0.38, 0.00),
)

#: In dystonia the fingers are less independent (approx.).
DYSTONIC_ENSLAVING_GAIN = 1.8


@dataclass(frozen=True)
class Rest:
    """Fingers resting on their cells."""

    load_n: float = 0.4


@dataclass(frozen=True)
class Lift:
    """Hand off the cells."""


@dataclass(frozen=True)
class Press:
    """One finger presses: to `target_n` newtons, or to `fraction` of its maximum."""

    finger: str
    fraction: float = 1.0
    target_n: float | None = None
    rise_s: float = 0.3


@dataclass(frozen=True)
class PressAll:
    """All five press together, each to `fraction` of what it can in that situation."""

    fraction: float = 1.0
    rise_s: float = 0.4


@dataclass(frozen=True)
class Tap:
    """One finger taps as fast as it can (or at `rate_hz`), each tap peaking at `peak_n`."""

    finger: str
    rate_hz: float | None = None
    peak_n: float = 6.0


@dataclass(frozen=True)
class Weight:
    """A known mass stands on one cell (calibration); the hand is off."""

    finger: str
    mass_kg: float


Action = Rest | Lift | Press | PressAll | Tap | Weight


def _check_finger(finger: str) -> int:
    if finger not in FINGER_NAMES:
        raise ValueError(f"finger must be one of {FINGER_NAMES}, got {finger!r}")
    return FINGER_NAMES.index(finger)


class SimulatedHand:
    """One simulated person's hand: strengths, enslaving and tapping from a seed."""

    def __init__(self, patient: str = "healthy", seed: int = 1) -> None:
        if patient not in ("healthy", "dystonic"):
            raise ValueError(f"patient must be healthy or dystonic, got {patient!r}")
        rng = random.Random(seed)
        self.patient = patient
        self.seed = seed
        person = math.exp(rng.gauss(0.0, 0.2))  # overall strength of this person
        self.max_n = tuple(m * person * math.exp(rng.gauss(0.0, 0.08)) for m in TYPICAL_MAX_N)
        gain = DYSTONIC_ENSLAVING_GAIN if patient == "dystonic" else 1.0
        self.enslaving = tuple(
            tuple(min(0.9, e * gain * math.exp(rng.gauss(0.0, 0.15))) for e in row)
            for row in ENSLAVING
        )
        # When all five press, each reaches only part of its own maximum (force deficit).
        self.deficit = tuple(min(0.95, max(0.4, rng.gauss(0.72, 0.06))) for _ in FINGER_NAMES)
        self.tap_rate_hz = rng.gauss(6.5, 0.4) if patient == "healthy" else rng.gauss(5.2, 0.4)
        self.tap_jitter = 0.04 if patient == "healthy" else 0.12  # SD of intervals / period
        self.tremor_n = 0.05 if patient == "healthy" else 0.12  # physiological wobble
        self._rng = rng
        self._lock = threading.Lock()
        self._action: Action = Rest()
        self._since = time.monotonic()
        self._taps: list[float] = []
        self._tap_width = 0.0

    def set_action(self, action: Action, at: float | None = None) -> None:
        """From `at` (time.monotonic, default now) on, the hand does `action`."""
        if isinstance(action, Press | Tap | Weight):
            _check_finger(action.finger)
        since = time.monotonic() if at is None else at
        taps: list[float] = []
        width = 0.0
        if isinstance(action, Tap):
            rate = action.rate_hz or self.tap_rate_hz
            if not rate > 0:
                raise ValueError(f"tapping rate must be positive, got {rate}")
            width = 0.4 / rate  # contact time of one tap
            onset = 0.0
            while onset < 600.0:  # ten minutes of taps is more than any test asks for
                taps.append(onset)
                onset += max(0.3, self._rng.gauss(1.0, self.tap_jitter)) / rate
        with self._lock:
            self._action, self._since, self._taps, self._tap_width = action, since, taps, width

    @property
    def action(self) -> Action:
        return self._action

    def forces(self, t: float) -> tuple[float, ...]:
        """True fingertip forces at time `t` (time.monotonic), thumb to little, newtons."""
        with self._lock:
            action, since, taps, width = self._action, self._since, self._taps, self._tap_width
        elapsed = max(0.0, t - since)
        wobble = self._wobble(t)
        if isinstance(action, Lift):
            return (0.0,) * len(FINGER_NAMES)
        if isinstance(action, Rest):
            return tuple(max(0.0, action.load_n + 0.2 * w) for w in wobble)
        if isinstance(action, Weight):
            out = [0.0] * len(FINGER_NAMES)
            out[_check_finger(action.finger)] = action.mass_kg * STANDARD_GRAVITY
            return tuple(out)
        if isinstance(action, PressAll):
            ramp = _ramp(elapsed, action.rise_s)
            return tuple(
                max(0.0, ramp * action.fraction * m * d + w)
                for m, d, w in zip(self.max_n, self.deficit, wobble, strict=True)
            )
        i = _check_finger(action.finger)
        if isinstance(action, Press):
            goal = action.target_n if action.target_n is not None else (
                action.fraction * self.max_n[i])
            designated = _ramp(elapsed, action.rise_s) * min(goal, self.max_n[i])
        else:
            designated = action.peak_n * _tap_pulse(elapsed, taps, width)
        return self._with_neighbours(i, designated, wobble)

    def finger_force(self, finger: str) -> Callable[[float], float]:
        """One finger's force as a function of time (to drive an emulated ADC)."""
        i = _check_finger(finger)
        return lambda t: self.forces(t)[i]

    def _with_neighbours(self, i: int, designated: float, wobble: list[float]) -> tuple[float, ...]:
        out = []
        for j in range(len(FINGER_NAMES)):
            base = designated if j == i else self.enslaving[i][j] * designated
            out.append(max(0.0, base + wobble[j] * (1.0 + 0.02 * base)))
        return tuple(out)

    def _wobble(self, t: float) -> list[float]:
        """Slow, smooth per-finger force wander (deterministic in t), SD about tremor_n."""
        return [
            self.tremor_n * (math.sin(2 * math.pi * 0.7 * t + 1.3 * j + self.seed)
                             + 0.5 * math.sin(2 * math.pi * 8.5 * t + 2.1 * j))
            for j in range(len(FINGER_NAMES))
        ]


def _ramp(elapsed: float, rise_s: float) -> float:
    """0 to 1 over `rise_s` seconds along a half cosine."""
    if rise_s <= 0 or elapsed >= rise_s:
        return 1.0
    return 0.5 - 0.5 * math.cos(math.pi * elapsed / rise_s)


def _tap_pulse(elapsed: float, onsets: list[float], width: float) -> float:
    """Half-sine contact of `width` seconds at each tap onset, 0 between taps."""
    lo, hi = 0, len(onsets)
    while lo < hi:  # last onset not after `elapsed`
        mid = (lo + hi) // 2
        if onsets[mid] <= elapsed:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0.0
    phase = elapsed - onsets[lo - 1]
    return math.sin(math.pi * phase / width) if phase < width else 0.0


class SimulatedCells:
    """A `force.CountSource`: the hand's forces as five ADCs at `rate_sps` would give them."""

    def __init__(
        self,
        hand: SimulatedHand,
        *,
        rate_sps: int = 320,
        counts_per_newton: float = bridge_counts_per_newton(),
        noise_n: float = 0.01,
        drift_n_per_s: float = 0.0005,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_sps > 0:
            raise ValueError(f"rate must be positive, got {rate_sps}")
        self.hand = hand
        self.rate_sps = rate_sps
        self.counts_per_newton = counts_per_newton
        self.noise_n = noise_n
        self.drift_n_per_s = drift_n_per_s
        rng = random.Random(seed)
        self.bridge_offsets = [rng.uniform(-20_000.0, 20_000.0) for _ in FINGER_NAMES]
        self.drift_sign = [rng.choice((-1.0, 1.0)) for _ in FINGER_NAMES]
        self._rng = rng
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._next = self._started

    def set_action(self, action: Action, at: float | None = None) -> None:
        """Tell the simulated patient what to do (see `SimulatedHand.set_action`)."""
        self.hand.set_action(action, at)

    def start(self) -> None:
        self._next = self._clock()

    def counts(self, t: float) -> list[int]:
        """The five cells' conversions at `t`."""
        out = []
        for i, force in enumerate(self.hand.forces(t)):
            newtons = force + self.drift_sign[i] * self.drift_n_per_s * (t - self._started)
            newtons += self._rng.gauss(0.0, self.noise_n)
            value = round(newtons * self.counts_per_newton + self.bridge_offsets[i])
            out.append(max(FULL_SCALE_NEGATIVE, min(FULL_SCALE_POSITIVE, value)))
        return out

    def read_round(self) -> tuple[float, list[int]]:
        period = 1.0 / self.rate_sps
        self._next += period
        wait = self._next - self._clock()
        if wait > 0:
            self._sleep(wait)
        elif wait < -period:  # fell behind: conversions in between are lost, as on an ADC
            self._next = self._clock()
        t = self._clock()
        return t, self.counts(t)

    def close(self) -> None:
        """Nothing to release."""
