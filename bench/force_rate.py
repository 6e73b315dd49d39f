"""Samples per second per finger that the force-cell loop achieves on the emulated bus.

Five emulated NAU7802 at 320 SPS behind the emulated TCA9548A, on an `EmulatedBus` with
`real_time=True` (each transaction takes as long as it would at 400 kHz), read by the box's
own driver and sampling loop (`NAU7802Bank` in `ForceCellArray`), exactly as on the box.

Baselines printed beside the result:
- the ADC's nominal 320 SPS: each of the five chips converts on its own, in parallel, so
  this is the ceiling per finger;
- 320 / 5 = 64 per finger: what one ADC time-shared over a 5-way multiplexer would give;
- the bus-time ceiling: one round's bytes at 400 kHz (channel select, CR poll, 3-byte read
  per finger), with no waiting and no Python.

    .venv/bin/python bench/force_rate.py --seconds 10

Single process; the sampling loop is one thread.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time

from device.hardware.emulated_nau7802 import build_force_bus
from device.hardware.force import ForceCellArray, NAU7802Bank
from device.hardware.i2c import I2CBus
from device.protocol import FINGER_NAMES

RATE_SPS = 320
BITRATE_HZ = 400_000.0
# Bytes on the wire per finger and round, as EmulatedBus counts them (start/address +
# register + data, plus a repeated start): channel select 2+1, CR poll 2+2, ADCO read 2+4.
BYTES_PER_FINGER = 3 + 4 + 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to sample")
    args = parser.parse_args()

    forces = [lambda t, k=k: 5.0 + 3.0 * math.sin(2 * math.pi * (1 + k) * t)
              for k in range(len(FINGER_NAMES))]
    emulated, _ = build_force_bus(forces, real_time=True, noise_counts=30.0)
    emulated.bitrate_hz = BITRATE_HZ
    bank = NAU7802Bank(I2CBus(emulated), channels=range(5), rate_sps=RATE_SPS)
    cells = ForceCellArray(bank, [0.0] * len(FINGER_NAMES))
    started = time.monotonic()
    cells.start()
    startup_s = time.monotonic() - started
    before = emulated.transactions
    samples = cells.collect(args.seconds)
    transactions = emulated.transactions - before
    cells.close()

    span = samples[-1].t - samples[0].t
    per_finger = (len(samples) - 1) / span
    gaps_ms = sorted(1000 * (b.t - a.t) for a, b in itertools.pairwise(samples))
    bus_ceiling = BITRATE_HZ / (BYTES_PER_FINGER * 9 * len(FINGER_NAMES))
    print(f"start-up (identity, reset, power-up, LDO settle, calibration): {startup_s:.3f} s")
    print(f"rounds in {span:.2f} s: {len(samples)} (each gives every finger one new conversion)")
    print(f"bus transactions per second: {transactions / span:.0f}")
    print(f"achieved per finger: {per_finger:.1f} samples/s")
    print(f"  vs the ADC's nominal {RATE_SPS} SPS per chip (ceiling): "
          f"ratio {per_finger / RATE_SPS:.3f}")
    print(f"  vs {RATE_SPS} / 5 = {RATE_SPS / 5:.0f} per finger (one ADC over a 5-way mux): "
          f"ratio {per_finger / (RATE_SPS / 5):.2f}")
    print(f"  vs the bus-time ceiling at 400 kHz: {bus_ceiling:.0f} rounds/s")
    print(f"interval between rounds: median {statistics.median(gaps_ms):.2f} ms, "
          f"95th percentile {gaps_ms[int(0.95 * (len(gaps_ms) - 1))]:.2f} ms, "
          f"max {gaps_ms[-1]:.2f} ms")


if __name__ == "__main__":
    main()
