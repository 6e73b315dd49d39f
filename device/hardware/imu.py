"""The IMU pair: hand dorsum and proximal phalanx, their orientations and the joint angles.

Each sensor's orientation (sensor axes to world: x horizontal magnetic north, y west, z up)
is tracked by a Madgwick MARG filter (`ahrs.filters.Madgwick`): the gyroscope carries the
orientation from sample to sample, gravity and the magnetic field pull it back. It starts
from the TRIAD solution of one accelerometer and magnetometer sample. A sample whose
magnetometer overflowed updates with gyroscope and gravity only.

The joint angles are those of the phalanx sensor relative to the dorsum sensor, after the
neutral calibration removed the phalanx sensor's mounting twist (docs/hardware.md, "IMUs"):
the phalanx long axis (sensor +X) expressed in dorsum axes is (x, y, z);
flexion = atan2(-z, x) (positive towards the palm), abduction = asin(y) (positive towards
dorsum +Y). This is the rotation Y(flexion) then Z'(abduction); axial twist is left out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ahrs.filters import Madgwick
from scipy.spatial.transform import Rotation

from device.hardware.check import Check
from device.hardware.i2c import I2CBus, I2CDeviceError, open_bus
from device.hardware.icm20948 import Icm20948, Icm20948Error, Reading
from device.platform import is_raspberry_pi

SENSOR_NAMES = ("IMU (hand dorsum)", "IMU (proximal phalanx)")
STILL_GYRO_STD = 0.05  # rad/s: more spread than this during calibration means movement
EARTH_FIELD_RANGE = (15e-6, 100e-6)  # tesla: the earth's field is 25-65 uT


class ImuError(RuntimeError):
    """The IMU pair cannot give a usable result; the message says what to do."""


def triad(accel: np.ndarray, mag: np.ndarray) -> Rotation:
    """Sensor-to-world orientation from one gravity (up) and one magnetic field vector."""
    up = accel / np.linalg.norm(accel)
    west = np.cross(up, mag)
    if np.linalg.norm(west) < 1e-12:
        raise ImuError("the magnetic field is parallel to gravity: no heading can be found")
    west /= np.linalg.norm(west)
    north = np.cross(west, up)
    return Rotation.from_matrix(np.vstack([north, west, up]))  # rows: world axes in sensor axes


def joint_angles(dorsum: Rotation, phalanx: Rotation, neutral: Rotation) -> tuple[float, float]:
    """(flexion, abduction) in radians of the phalanx relative to the dorsum.

    `neutral` is the phalanx-in-dorsum rotation measured with the finger straight; it is
    taken off on the phalanx side (the dorsum sensor defines the joint axes).
    """
    joint = dorsum.inv() * phalanx * neutral.inv()
    x, y, z = joint.apply([1.0, 0.0, 0.0])
    return math.atan2(-z, x), math.asin(max(-1.0, min(1.0, y)))


def _q_wxyz(rotation: Rotation) -> np.ndarray:
    x, y, z, w = rotation.as_quat()
    return np.array([w, x, y, z])


def _rotation(q_wxyz: np.ndarray) -> Rotation:
    w, x, y, z = q_wxyz
    return Rotation.from_quat([x, y, z, w])


class OrientationFilter:
    """Madgwick MARG tracking of one sensor, with a gyroscope bias taken off."""

    def __init__(self, gain: float) -> None:
        self._madgwick = Madgwick(gain=gain)
        self.q: np.ndarray | None = None  # w, x, y, z
        self.gyro_bias = np.zeros(3)
        self._t: float | None = None

    def reset(self, orientation: Rotation, t: float) -> None:
        self.q = _q_wxyz(orientation)
        self._t = t

    def update(self, reading: Reading) -> Rotation:
        if self.q is None or self._t is None:
            if reading.mag is None:
                raise ImuError("the magnetometer overflowed on the first sample: move the "
                               "hand away from magnets and steel")
            self.reset(triad(reading.accel, reading.mag), reading.t)
            return self.orientation
        dt = reading.t - self._t
        self._t = reading.t
        if dt > 0:
            gyro = reading.gyro - self.gyro_bias
            if reading.mag is None:
                self.q = self._madgwick.updateIMU(self.q, gyro, reading.accel, dt=dt)
            else:  # ahrs documents nanotesla; the filter only uses the direction
                self.q = self._madgwick.updateMARG(self.q, gyro, reading.accel,
                                                   reading.mag * 1e9, dt=dt)
        return self.orientation

    @property
    def orientation(self) -> Rotation:
        if self.q is None:
            raise ImuError("no sample has been read yet")
        return _rotation(self.q)


@dataclass(frozen=True)
class PairSample:
    """Both sensors at one moment, their orientations, and the joint angles (radians)."""

    t: float  # clock seconds, midway between the two sensors' reads
    dorsum: Reading
    phalanx: Reading
    dorsum_orientation: Rotation
    phalanx_orientation: Rotation
    flexion: float
    abduction: float

    @property
    def flexion_deg(self) -> float:
        return math.degrees(self.flexion)

    @property
    def abduction_deg(self) -> float:
        return math.degrees(self.abduction)


class ImuPair:
    """Timestamped samples of the two IMUs with orientation and joint angles.

    `simulation` is the simulated person's `GuidedMovement` when the pair is the simulated
    twin (restart it when the procedure asks the person to move), else None.
    """

    def __init__(
        self,
        dorsum: Icm20948,
        phalanx: Icm20948,
        *,
        rate_hz: float = 100.0,
        filter_gain: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        owned_bus: I2CBus | None = None,
        simulation: Any = None,
    ) -> None:
        self.sensors = (dorsum, phalanx)
        self.rate_hz = rate_hz
        self.filters = (OrientationFilter(filter_gain), OrientationFilter(filter_gain))
        self.neutral = Rotation.identity()
        self.mag_overflows = [0, 0]  # samples read without a usable magnetometer
        self._clock = clock
        self._sleep = sleep
        self._owned_bus = owned_bus
        self.simulation = simulation

    def begin(self) -> None:
        for sensor in self.sensors:
            sensor.begin()

    def close(self) -> None:
        if self._owned_bus is not None:
            self._owned_bus.close()

    def read(self) -> PairSample:
        """Read both sensors now and update the orientations."""
        readings = [sensor.read() for sensor in self.sensors]
        orientations = []
        for i, (reading, orientation_filter) in enumerate(zip(readings, self.filters,
                                                              strict=True)):
            if reading.mag_overflow:
                self.mag_overflows[i] += 1
            orientations.append(orientation_filter.update(reading))
        flexion, abduction = joint_angles(*orientations, self.neutral)
        return PairSample(
            t=(readings[0].t + readings[1].t) / 2, dorsum=readings[0], phalanx=readings[1],
            dorsum_orientation=orientations[0], phalanx_orientation=orientations[1],
            flexion=flexion, abduction=abduction,
        )

    def record(self, duration_s: float) -> list[PairSample]:
        """Samples at `rate_hz` for `duration_s` seconds (paced by the clock)."""
        start = self._clock()
        samples: list[PairSample] = []
        k = 0
        while (due := start + k / self.rate_hz) < start + duration_s:
            wait = due - self._clock()
            if wait > 0:
                self._sleep(wait)
            samples.append(self.read())
            k += 1
        return samples

    def calibrate_neutral(self, duration_s: float = 1.5) -> None:
        """With the hand still and the finger straight: gyroscope bias, start orientations
        from averaged gravity and field, and the neutral pose whose joint angles are zero."""
        samples = self.record(duration_s)
        if len(samples) < 10:
            raise ImuError(f"only {len(samples)} samples in {duration_s} s of calibration")
        orientations = []
        for i, name in enumerate(SENSOR_NAMES):
            readings = [s.dorsum if i == 0 else s.phalanx for s in samples]
            gyro = np.array([r.gyro for r in readings])
            if np.max(np.std(gyro, axis=0)) > STILL_GYRO_STD:
                raise ImuError(f"{name} moved during the neutral calibration: keep the hand "
                               "resting and the finger straight, then start again")
            mags = [r.mag for r in readings if r.mag is not None]
            if not mags:
                raise ImuError(f"{name}: magnetometer overflow throughout the calibration; "
                               "move the hand away from magnets and steel")
            accel = np.mean([r.accel for r in readings], axis=0)
            orientation = triad(accel, np.mean(mags, axis=0))
            self.filters[i].gyro_bias = gyro.mean(axis=0)
            self.filters[i].reset(orientation, readings[-1].t)
            orientations.append(orientation)
        self.neutral = orientations[0].inv() * orientations[1]


def angle_arrays(samples: list[PairSample]) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and (flexion, abduction) in radians, shaped for a range-of-motion recording."""
    t = np.array([s.t for s in samples])
    angles = np.array([[s.flexion, s.abduction] for s in samples]).reshape(-1, 2)
    return t, angles


# --- construction from configuration ----------------------------------------------------

def _resolve_source(config: Mapping[str, Mapping[str, Any]]) -> str:
    """"icm20948" or "sim": `auto` follows `box.simulate`, else the real sensors when
    /dev/i2c-N exists or this is a Raspberry Pi (a box with I2C off is a fault to report,
    never a silent switch to the simulation), else the simulation."""
    source = config["imu"]["source"]
    if source != "auto":
        return str(source)
    simulate = config["box"]["simulate"] if "box" in config else "auto"
    if simulate != "auto":
        return "sim" if simulate == "sim" else "icm20948"
    bus_file = Path(f"/dev/i2c-{config['i2c']['bus']}")
    return "icm20948" if bus_file.exists() or is_raspberry_pi() else "sim"


def _sensors(config: Mapping[str, Mapping[str, Any]], bus: I2CBus,
             clock: Callable[[], float], sleep: Callable[[float], None]) -> list[Icm20948]:
    imu = config["imu"]
    channels = imu["channels"]
    if len(channels) != 2:
        raise ImuError(f"imu.channels must name two multiplexer channels (hand dorsum, "
                       f"proximal phalanx), got {channels!r}")
    chip_rate = min(1100.0, 4 * imu["rate_hz"])  # the chip runs faster than we poll it
    return [
        Icm20948(bus.device(name, imu["address"], channel), accel_range_g=imu["accel_range_g"],
                 gyro_range_dps=imu["gyro_range_dps"], rate_hz=chip_rate, clock=clock,
                 sleep=sleep)
        for name, channel in zip(SENSOR_NAMES, channels, strict=True)
    ]


def simulated_bus(config: Mapping[str, Mapping[str, Any]],
                  clock: Callable[[], float] = time.monotonic) -> tuple[I2CBus, Any]:
    """An emulated bus carrying the simulated finger's two IMUs, and its movement."""
    from device.hardware.emulated_i2c import EmulatedBus
    from device.hardware.sim_imu import attach_simulated_imus, movement_for

    seed = config["simulation"]["seed"]
    emulated = EmulatedBus()
    emulated.attach_mux(config["i2c"]["mux_address"])
    movement = movement_for(seed)
    movement.restart(clock())
    attach_simulated_imus(emulated, movement, channels=tuple(config["imu"]["channels"]),
                          address=config["imu"]["address"], seed=seed, clock=clock)
    bus = I2CBus(emulated, mux_address=config["i2c"]["mux_address"],
                 retries=config["i2c"]["retries"])
    return bus, movement


def open_imus(config: Mapping[str, Mapping[str, Any]], bus: I2CBus | None = None, *,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> ImuPair:
    """The IMU pair the configuration asks for, started. `imu.source` "auto" means the real
    sensors when /dev/i2c-<i2c.bus> exists, else the simulated finger. A given `bus` is used
    as it is (the caller's shared bus); otherwise the pair opens and owns one."""
    owned = None
    movement = None
    if bus is None:
        if _resolve_source(config) == "sim":
            bus, movement = simulated_bus(config, clock)
        else:
            bus = I2CBus(open_bus(config["i2c"]["bus"]), mux_address=config["i2c"]["mux_address"],
                         retries=config["i2c"]["retries"])
        owned = bus
    dorsum, phalanx = _sensors(config, bus, clock, sleep)
    pair = ImuPair(dorsum, phalanx, rate_hz=config["imu"]["rate_hz"],
                   filter_gain=config["imu"]["filter_gain"], clock=clock, sleep=sleep,
                   owned_bus=owned, simulation=movement)
    try:
        pair.begin()
    except BaseException:
        pair.close()
        raise
    return pair


# --- self-test ------------------------------------------------------------------------------

def _check_sensor(sensor: Icm20948, channel: int) -> Check:
    where = f"ICM-20948 at 0x{sensor.device.address:02x} on multiplexer channel {channel}"
    try:
        sensor.begin()
        readings = [sensor.read() for _ in range(5)]
    except I2CDeviceError as error:
        return Check(sensor.name, False, str(error),
                     f"check the cable and plug of the {sensor.name} (channel {channel})")
    except Icm20948Error as error:
        return Check(sensor.name, False, str(error), "replace the sensor board")
    gravity = float(np.linalg.norm(np.mean([r.accel for r in readings], axis=0)))
    mags = [r.mag for r in readings if r.mag is not None]
    temperature = readings[-1].temperature_c
    if not mags:
        return Check(sensor.name, False, f"{where}: magnetometer overflow (HOFL) in every sample",
                     "move the sensor away from magnets, speakers and steel")
    field = float(np.linalg.norm(np.mean(mags, axis=0)))
    detail = (f"{where}: gravity {gravity:.2f} m/s^2, field {field * 1e6:.0f} uT, "
              f"{temperature:.1f} degC")
    if not 0.8 * 9.80665 < gravity < 1.2 * 9.80665:
        return Check(sensor.name, False, detail + " (gravity out of range)",
                     "let the sensor rest during the self-test; replace it if this persists")
    if not EARTH_FIELD_RANGE[0] < field < EARTH_FIELD_RANGE[1]:
        return Check(sensor.name, False, detail + " (not the earth's field)",
                     "move the sensor away from magnets, speakers and steel")
    return Check(sensor.name, True, detail)


def selftest_imu(config: Mapping[str, Mapping[str, Any]], bus: I2CBus | None = None) -> list[Check]:
    """One finding per IMU: answers, identity, magnetometer, plausible gravity and field.
    Without a bus, the one the configuration names (real, or the simulated finger's)."""
    owned = None
    if bus is None:
        try:
            if _resolve_source(config) == "sim":
                bus, _ = simulated_bus(config)
            else:
                bus = I2CBus(open_bus(config["i2c"]["bus"]),
                             mux_address=config["i2c"]["mux_address"],
                             retries=config["i2c"]["retries"])
        except OSError as error:
            return [Check(name, False, str(error), "enable I2C and check the wiring")
                    for name in SENSOR_NAMES]
        owned = bus
    try:
        sensors = _sensors(config, bus, time.monotonic, time.sleep)
        return [_check_sensor(sensor, channel)
                for sensor, channel in zip(sensors, config["imu"]["channels"], strict=True)]
    finally:
        if owned is not None:
            owned.close()
