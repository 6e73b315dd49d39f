"""Stimulus onset asynchrony error of the stimulator against a naive ``time.sleep`` version.

Each trial taps a pair at an SOA drawn log-uniformly over 1 ms .. ``--max-soa-ms`` with a
random finger first, on gpiozero ``MockFactory`` pins. The SOA is read back from the pins'
state histories (not from the driver's own record), so the error includes everything between
the requested SOA and the pin edges. Variants, interleaved trial by trial so they share the
machine's load:

- ``precise``: the driver as configured on the box (coarse sleep, then busy-wait the last
  1 ms; SCHED_FIFO during the pair when the process may have it);
- ``precise, no RT``: the same without real-time priority;
- ``naive sleep``: ``time.sleep`` to each edge, no real-time priority (the baseline).

    PYTHONPATH=. .venv/bin/python bench/stimulator_soa.py --trials 1000

Single process, single thread.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from gpiozero.pins.mock import MockFactory, MockPin

from device.hardware.precise_time import sleep_until
from device.hardware.stimulator import Stimulator

PINS = {"index": 17, "middle": 27}


def history_edges(pin: MockPin, origin: float) -> list[tuple[float, bool]]:
    """Absolute (time, state) edges of a mock pin whose history started at ``origin``."""
    t, edges = origin, []
    for state in pin.states[1:]:
        t += state.timestamp
        edges.append((t, state.state))
    return edges


class Variant:
    def __init__(self, name: str, **settings) -> None:
        self.name = name
        self.factory = MockFactory()
        self.stimulator = Stimulator(pin_factory=self.factory, **settings)
        self.pins = {finger: self.factory.pin(n) for finger, n in PINS.items()}
        self.soa_errors: list[float] = []
        self.widths: list[float] = []
        self.realtime = False

    def trial(self, first: str, soa_s: float) -> None:
        origins = {}
        for finger, pin in self.pins.items():
            pin.clear_states()
            origins[finger] = pin._last_change  # absolute start of this history
        pair = self.stimulator.tap_pair(first, soa_s)
        self.realtime = pair.realtime
        second = "middle" if first == "index" else "index"
        (on1, _), (off1, _) = history_edges(self.pins[first], origins[first])
        (on2, _), (off2, _) = history_edges(self.pins[second], origins[second])
        self.soa_errors.append((on2 - on1) - soa_s)
        self.widths += [off1 - on1, off2 - on2]

    def close(self) -> None:
        self.stimulator.close()
        self.factory.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--max-soa-ms", type=float, default=300.0)
    parser.add_argument("--pulse-ms", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pulse = args.pulse_ms / 1e3
    variants = [
        Variant("precise", pulse_s=pulse),
        Variant("precise, no RT", pulse_s=pulse, realtime=False),
        Variant("naive sleep", pulse_s=pulse, realtime=False, wait=sleep_until),
    ]
    soas = np.exp(rng.uniform(np.log(1e-3), np.log(args.max_soa_ms / 1e3), args.trials))
    firsts = rng.integers(2, size=args.trials)
    for soa, first in zip(soas, firsts, strict=True):
        for variant in variants:
            variant.trial(("index", "middle")[first], float(soa))
    for variant in variants:
        variant.close()

    print(f"{args.trials} pairs per variant, SOA log-uniform 1-{args.max_soa_ms:g} ms, pulse "
          f"{args.pulse_ms:g} ms, MockFactory pins, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}")
    print("SOA error = SOA between the pins' rising edges - requested SOA\n")
    print(f"{'variant':<16} {'RT':>3} {'median |err| ms':>16} {'p99 |err| ms':>13} "
          f"{'max |err| ms':>13} {'median width ms':>16} {'max width ms':>13}")
    summary = {}
    for variant in variants:
        err = np.abs(variant.soa_errors) * 1e3
        widths = np.array(variant.widths) * 1e3
        summary[variant.name] = (np.median(err), np.percentile(err, 99))
        print(f"{variant.name:<16} {'yes' if variant.realtime else 'no':>3} "
              f"{np.median(err):16.4f} {np.percentile(err, 99):13.4f} {err.max():13.3f} "
              f"{np.median(widths):16.4f} {widths.max():13.3f}")
    naive, precise = summary["naive sleep"], summary["precise"]
    print(f"\nnaive / precise: median {naive[0] / precise[0]:.0f}x, "
          f"99th percentile {naive[1] / precise[1]:.0f}x")


if __name__ == "__main__":
    main()
