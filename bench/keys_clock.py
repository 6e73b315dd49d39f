"""How well key-bar event times land on the Pi's clock: the box's clock synchronisation
against the naive mapping, on the emulated key bar, in the same run.

Each trial is one take of `--seconds` with key events at random times (about ten a second).
The emulated key bar's counter starts at a random value (every other take crosses the 2^32 wrap)
and runs `--drift-ppm` fast. The Pi clock is `SteppingClock`: every reading of it moves time
on by 30 us plus an exponential jitter (mean 40 us), and 2 % of readings by a stall of up to
3 ms (preemption), so the latch inside a transaction is not at its midpoint. The poll loop
is the one of `KeyBarSource`: every 10 ms the FIFO is read, every `--resync` seconds a burst
of 8 clock reads (32 at the start).

Methods, all on the same reads:
- naive: one CLOCK_US read at the start, offset = its transaction midpoint, no drift, no
  outlier rejection (the baseline);
- offset only: the box's fit with the drift held at 0 (what the drift fit adds);
- box, live: the box's fit as it stands when the events are read (what `drain()` returns
  during a take);
- box, after the take: the final fit applied to the whole take.

    .venv/bin/python bench/keys_clock.py --trials 40

Deterministic (seeded), single process, no sleeping.
"""

from __future__ import annotations

import argparse

import numpy as np

from device.hardware.clock_sync import WRAP_US, ClockSync
from device.hardware.emulated_i2c import EmulatedBus
from device.hardware.emulated_keybar import EmulatedKeyBar, SteppingClock
from device.hardware.i2c import I2CBus
from device.hardware.key_source import ONSET, KeyEvent
from device.hardware.keybar import KeyBar

POLL_S = 0.01
METHODS = ("naive", "offset only", "box, live", "box, after the take")


def one_take(seed: int, seconds: float, drift_ppm: float, resync_s: float) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    clock = SteppingClock(rng)
    # every other take crosses the counter's wrap
    start_us = int(WRAP_US - rng.uniform(0, seconds) * 1e6 if seed % 2 else rng.integers(WRAP_US))
    emulated = EmulatedKeyBar(clock=clock, start_us=start_us, drift_ppm=drift_ppm)
    bus = EmulatedBus()
    bus.attach(0x42, emulated)
    device = I2CBus(bus, mux_address=None, sleep=lambda s: None).device("key bar", 0x42)
    bar = KeyBar(device, clock=clock)
    offset_only = ClockSync(min_drift_span_s=float("inf"))
    bar.control(scanning=True, clear=True)

    def synchronise(reads: int) -> None:
        for _ in range(reads):
            raw, before, after = bar.read_clock()
            bar.sync.add(raw, before, after)
            offset_only.add(raw, before, after)

    first_raw, before, after = bar.read_clock()
    naive_mid = (before + after) / 2
    synchronise(32)
    last_sync = clock.now
    begin = clock.now + 0.2
    times = np.sort(rng.uniform(begin, begin + seconds, int(seconds * 10)))
    emulated.inject(KeyEvent(float(t), 60, ONSET, 0.5) for t in times)
    raws, live, offset = [], [], []
    while clock.now < begin + seconds + 0.1:
        clock.advance(POLL_S)
        for event in bar.pop_events(bar.fifo_count()):
            raws.append(event.device_us)
            live.append(bar.sync.to_monotonic(event.device_us))
            offset.append(offset_only.to_monotonic(event.device_us))
        if clock.now - last_sync >= resync_s:
            synchronise(8)
            last_sync = clock.now
    synchronise(8)
    naive = [naive_mid + ((raw - first_raw) % WRAP_US) * 1e-6 for raw in raws]
    final = [bar.sync.to_monotonic(raw) for raw in raws]
    estimates = dict(zip(METHODS, (naive, offset, live, final), strict=True))
    return {name: list(np.asarray(values) - times) for name, values in estimates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each take")
    parser.add_argument("--drift-ppm", type=float, default=50.0)
    parser.add_argument("--resync", type=float, default=1.0, help="seconds between bursts")
    args = parser.parse_args()
    errors: dict[str, list[float]] = {name: [] for name in METHODS}
    for seed in range(args.trials):
        for name, values in one_take(seed, args.seconds, args.drift_ppm, args.resync).items():
            errors[name] += values
    n = len(errors[METHODS[0]])
    print(f"{args.trials} takes of {args.seconds:g} s, {n} key events, counter drift "
          f"{args.drift_ppm:g} ppm, re-sync every {args.resync:g} s")
    print(f"{'method':<22}{'median |error| us':>19}{'99th pct us':>13}{'max us':>10}")
    for name in METHODS:
        error = np.abs(np.array(errors[name])) * 1e6
        print(f"{name:<22}{np.median(error):>19.1f}{np.percentile(error, 99):>13.1f}"
              f"{error.max():>10.1f}")


if __name__ == "__main__":
    main()
