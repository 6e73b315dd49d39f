"""IMU pair: achieved sample rate on a 400 kHz bus, and joint-angle error against truth.

Rate. Two emulated ICM-20948 behind an emulated TCA9548A on an `EmulatedBus` in
`real_time` mode (each transaction sleeps as long as its bytes take at 400 kHz). The driver
reads each IMU with one 23-byte burst (accelerometer, gyroscope, temperature and the
magnetometer fetched by the chip's internal master), and the multiplexer switches channel
before each. The baseline is the bus-limited rate for those bytes: per pair sample
2 x (address+W, register, address+R, 23 data bytes) + 2 x (mux address, control byte)
= 56 bytes of 9 clocks. Two loops are timed: the driver alone (both `Icm20948.read()`), and
`ImuPair.read()` (adds the two Madgwick updates and the joint angles).

Angle error. The simulated person's guided range-of-motion movement (sim_imu.py), with
sensor noise, bias and drift, sampled at `imu.rate_hz` on simulated time (so it runs faster
than real time); error of flexion and abduction against the movement's own joint angles
after the neutral calibration, and of the ranges the biomechanics measure reports.

    .venv/bin/python bench/imu_rate.py [--seconds 3] [--people 5]

Single process, single thread.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from device.biomech.recording import Recording
from device.biomech.rom import range_of_motion
from device.hardware.emulated_i2c import EmulatedBus
from device.hardware.emulated_icm20948 import EmulatedIcm20948
from device.hardware.i2c import I2CBus
from device.hardware.icm20948 import BURST_LENGTH, Icm20948
from device.hardware.imu import ImuPair, angle_arrays
from device.hardware.sim_imu import GuidedMovement, attach_simulated_imus, movement_for
from device.hardware.virtual_clock import VirtualClock

BITRATE_HZ = 400_000.0
CHANNELS = (("IMU (hand dorsum)", 5), ("IMU (proximal phalanx)", 6))


def bus_limited_rate_hz() -> float:
    per_imu = 3 + BURST_LENGTH  # address+W, register, address+R, data
    mux_select = 2
    return BITRATE_HZ / (9 * 2 * (per_imu + mux_select))


def sleep_overshoot_us(seconds: float = 585e-6, repeats: int = 300) -> float:
    """How much longer than asked a short `time.sleep` takes here and now (microseconds)."""
    start = time.perf_counter()
    for _ in range(repeats):
        time.sleep(seconds)
    return ((time.perf_counter() - start) / repeats - seconds) * 1e6


def timed(read, seconds: float) -> tuple[float, int]:
    """Calls of `read` per second over `seconds`, and how many calls were made."""
    count = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        read()
        count += 1
    return count / (time.perf_counter() - start), count


def started_pair(real_time: bool) -> ImuPair:
    emulated = EmulatedBus(real_time=real_time, bitrate_hz=BITRATE_HZ)
    movement = GuidedMovement()
    movement.restart(time.monotonic())
    attach_simulated_imus(emulated, movement)
    bus = I2CBus(emulated)
    dorsum, phalanx = (Icm20948(bus.device(name, 0x68, channel), rate_hz=1100.0)
                       for name, channel in CHANNELS)
    pair = ImuPair(dorsum, phalanx)
    pair.begin()
    return pair


def rate_bench(seconds: float) -> None:
    chip = EmulatedIcm20948(GuidedMovement().phalanx)
    steps = iter(range(10**9))
    physics_rate, _ = timed(lambda: chip._inertial_registers(1000.0 + next(steps) / 1100), 1.0)
    pair = started_pair(real_time=True)
    dorsum, phalanx = pair.sensors
    fresh = [0]

    def driver_only() -> None:
        fresh[0] += dorsum.read().mag_fresh + phalanx.read().mag_fresh

    baseline = bus_limited_rate_hz()
    driver_rate, driver_count = timed(driver_only, seconds)
    pair_rate, _ = timed(pair.read, seconds)
    print(f"bus-limited baseline ({BITRATE_HZ / 1000:.0f} kHz, 56 bytes per pair sample): "
          f"{baseline:.0f} pair samples/s")
    print(f"driver only (both IMUs, accel+gyro+temp+mag): {driver_rate:.0f} pair samples/s, "
          f"ratio {driver_rate / baseline:.2f}")
    print(f"ImuPair.read (adds 2 Madgwick updates, angles): {pair_rate:.0f} pair samples/s, "
          f"ratio {pair_rate / baseline:.2f}")
    emulator_ceiling = 1 / (2 * 9 * (2 + 1 + BURST_LENGTH + 2 + 1) / BITRATE_HZ)
    print(f"emulator's own ceiling (it charges 58 bytes per pair sample): "
          f"{emulator_ceiling:.0f}/s; a 585 us time.sleep overshoots by "
          f"{sleep_overshoot_us():.0f} us here now (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    print(f"the emulator's physics (inside each burst, on top of the bus time): "
          f"{1e6 / physics_rate:.0f} us per IMU sample")
    print(f"new magnetometer measurements seen: {fresh[0] / 2 / (driver_count / driver_rate):.0f}"
          " per IMU per second (magnetometer runs at 100 Hz; the internal master fetches at "
          "the 1.1 kHz output rate)")


def angle_bench(people: int, rate_hz: float) -> None:
    errors = {"flexion": [], "abduction": []}
    rom_errors = {"flexion": [], "abduction": []}
    for seed in range(people):
        clock = VirtualClock()
        movement = movement_for(seed)
        movement.restart(clock())
        emulated = EmulatedBus()
        attach_simulated_imus(emulated, movement, seed=100 + 2 * seed, clock=clock)
        bus = I2CBus(emulated)
        sensors = [Icm20948(bus.device(name, 0x68, channel), rate_hz=min(1100.0, 4 * rate_hz),
                            clock=clock, sleep=clock.sleep) for name, channel in CHANNELS]
        pair = ImuPair(*sensors, rate_hz=rate_hz, clock=clock, sleep=clock.sleep)
        pair.begin()
        pair.calibrate_neutral(1.5)
        samples = pair.record(movement.duration_s - 1.5)
        t, angles = angle_arrays(samples)
        truth = np.array([movement.joint_angles(x) for x in t])
        errors["flexion"].append(np.degrees(angles[:, 0] - truth[:, 0]))
        errors["abduction"].append(np.degrees(angles[:, 1] - truth[:, 1]))
        rec = Recording(kind="rom", hand="right", finger="index", t=t, values=angles)
        found = {m.measure: m.value for m in range_of_motion(rec)}
        rom_errors["flexion"].append(math.degrees(
            found["rom_flexion_extension_rad"] - movement.flexion_rad - movement.extension_rad))
        rom_errors["abduction"].append(math.degrees(
            found["rom_abduction_adduction_rad"] - movement.abduction_rad
            - movement.adduction_rad))
    print(f"joint-angle error, {people} simulated people, guided movement at {rate_hz:.0f} Hz "
          "(noise, bias, drift, hand wobble, phalanx mounting twist):")
    for name in ("flexion", "abduction"):
        e = np.concatenate(errors[name])
        r = np.array(rom_errors[name])
        print(f"  {name:9s}: RMS {np.sqrt(np.mean(e ** 2)):.2f} deg, 95th pct |e| "
              f"{np.percentile(np.abs(e), 95):.2f} deg, max |e| {np.max(np.abs(e)):.2f} deg; "
              f"range error mean {r.mean():+.2f} deg, worst {r[np.argmax(np.abs(r))]:+.2f} deg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each timed loop")
    parser.add_argument("--people", type=int, default=5, help="simulated people for the angles")
    parser.add_argument("--rate", type=float, default=100.0, help="sampling rate for the angles")
    args = parser.parse_args()
    rate_bench(args.seconds)
    angle_bench(args.people, args.rate)


if __name__ == "__main__":
    main()
