"""Simulated twin of the IMU pair: a finger going through a guided range-of-motion movement.

The hand rests palm down with a slow small wobble; the digit's metacarpophalangeal joint
holds still in neutral, then flexes to its limit and back, extends, abducts and adducts,
each with a smooth (raised-cosine) profile. Two emulated ICM-20948 (hand dorsum and
proximal phalanx) follow the movement behind an emulated TCA9548A, so the real driver and
`ImuPair` run unchanged on it. The phalanx sensor sits slightly twisted on the finger, as a
strapped sensor does; the neutral calibration removes that.

Ground truth (joint angles, orientations) comes from the same `GuidedMovement`, for tests
and benches. Joint angles follow docs/hardware.md: flexion positive towards the palm,
abduction-adduction positive towards the sensor's +Y.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from device.hardware.emulated_i2c import EmulatedBus
from device.hardware.emulated_icm20948 import TYPICAL_ERRORS, EmulatedIcm20948, SensorErrors

#: Joint postures of the guided movement: (name, flexion fraction, abduction fraction) of
#: the person's limits; each is reached and left again through neutral.
POSTURES = (("flexion", 1.0, 0.0), ("extension", -1.0, 0.0),
            ("abduction", 0.0, 1.0), ("adduction", 0.0, -1.0))
REST_S = 2.0  # still, in neutral, at the start: the neutral calibration
MOVE_S = 1.8  # neutral to a limit
HOLD_S = 0.5  # at the limit


def _ease(x: float) -> float:
    """0 -> 1 smoothly (raised cosine) for x in [0, 1]."""
    x = min(1.0, max(0.0, x))
    return 0.5 - 0.5 * math.cos(math.pi * x)


@dataclass
class GuidedMovement:
    """Joint angles and sensor orientations over time, as seen from `start` on (seconds)."""

    flexion_rad: float = math.radians(85.0)  # limits of this person's joint
    extension_rad: float = math.radians(25.0)
    abduction_rad: float = math.radians(20.0)
    adduction_rad: float = math.radians(15.0)
    heading_rad: float = math.radians(40.0)  # the hand's direction from magnetic north
    hand_pitch_rad: float = math.radians(8.0)  # back of the hand tilted up towards the wrist
    wobble_rad: float = math.radians(2.0)  # slow unintended hand movement
    phalanx_mount: Rotation = field(
        default_factory=lambda: Rotation.from_euler("xyz", [6.0, -4.0, 3.0], degrees=True))
    start: float = 0.0

    @property
    def duration_s(self) -> float:
        return REST_S + len(POSTURES) * (2 * MOVE_S + HOLD_S) + 1.0

    def restart(self, now: float) -> None:
        """Begin the movement again at `now` (the procedure's clock)."""
        self.start = now

    def joint_angles(self, t: float) -> tuple[float, float]:
        """(flexion, abduction) in radians at clock time `t`."""
        s = t - self.start - REST_S
        cycle = 2 * MOVE_S + HOLD_S
        if s <= 0 or s >= len(POSTURES) * cycle:
            return 0.0, 0.0
        _, flex, abd = POSTURES[int(s // cycle)]
        u = s % cycle
        amount = _ease(u / MOVE_S) if u < MOVE_S + HOLD_S else _ease((cycle - u) / MOVE_S)
        flexion = amount * flex * (self.flexion_rad if flex > 0 else self.extension_rad)
        abduction = amount * abd * (self.abduction_rad if abd > 0 else self.adduction_rad)
        return flexion, abduction

    def dorsum(self, t: float) -> Rotation:
        """Hand-dorsum sensor to world (x magnetic north, y west, z up)."""
        s = t - self.start
        w = self.wobble_rad
        return Rotation.from_euler("ZYX", [
            self.heading_rad + w * math.sin(0.7 * s),
            self.hand_pitch_rad + w * math.sin(0.5 * s + 1.0),
            w * math.sin(0.9 * s + 2.0),
        ])

    def joint(self, t: float) -> Rotation:
        """The phalanx bone relative to the dorsum: flexion about Y, then abduction about Z."""
        flexion, abduction = self.joint_angles(t)
        return Rotation.from_euler("YZ", [flexion, abduction])

    def phalanx(self, t: float) -> Rotation:
        """Proximal-phalanx sensor to world, with its mounting twist."""
        return self.dorsum(t) * self.joint(t) * self.phalanx_mount


def movement_for(seed: int) -> GuidedMovement:
    """A person's joint limits and hand placement, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    return GuidedMovement(
        flexion_rad=math.radians(rng.normal(85.0, 5.0)),
        extension_rad=math.radians(rng.normal(25.0, 5.0)),
        abduction_rad=math.radians(rng.normal(20.0, 3.0)),
        adduction_rad=math.radians(rng.normal(15.0, 3.0)),
        heading_rad=rng.uniform(0.0, 2 * math.pi),
        phalanx_mount=Rotation.from_euler("xyz", rng.normal(0.0, 5.0, 3), degrees=True),
    )


def attach_simulated_imus(
    bus: EmulatedBus,
    movement: GuidedMovement,
    *,
    channels: tuple[int, int] = (5, 6),
    address: int = 0x68,
    errors: SensorErrors = TYPICAL_ERRORS,
    seed: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[EmulatedIcm20948, EmulatedIcm20948]:
    """Two emulated ICM-20948 following `movement`, behind the bus's multiplexer."""
    if bus.mux is None:
        bus.attach_mux()
    dorsum = EmulatedIcm20948(movement.dorsum, errors=errors, seed=seed, clock=clock)
    phalanx = EmulatedIcm20948(movement.phalanx, errors=errors, seed=seed + 1, clock=clock)
    bus.attach(address, dorsum, channel=channels[0])
    bus.attach(address, phalanx, channel=channels[1])
    return dorsum, phalanx
