"""``dystonia-box selftest``: probe every configured device, one line each (contract 2).

Exit status 0 when everything answered, 1 when something failed (the lines say what to
check). Solenoid pulses are given only with ``--pulse``, since they tap whoever touches them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from device.hardware.check import Check
from device.hardware.force_selftest import selftest_force
from device.hardware.imu import selftest_imu
from device.hardware.keys import selftest_keys
from device.hardware.stimulator_factory import selftest_stimulator


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "selftest", help="probe each configured device and say what answered",
        description="Probes the force cells, the IMU pair, the key sensor and the stimulator "
        "as configured (real hardware on a box, the simulated twins elsewhere) and prints one "
        "line per device: its name, ok or FAIL, and what answered or what to check.")
    p.add_argument("--pulse", action="store_true",
                   help="also give one short tap on each solenoid (warn the patient first)")
    p.set_defaults(func=run)


def probes(config: Any, pulse: bool) -> list[tuple[str, Callable[[], list[Check]]]]:
    return [
        ("force cells", lambda: selftest_force(config, None)),
        ("IMU pair", lambda: selftest_imu(config, None)),
        ("key sensor", lambda: selftest_keys(config, None)),
        ("stimulator", lambda: selftest_stimulator(config, pulse)),
    ]


def run(args: argparse.Namespace, context: Any) -> int:
    failed = 0
    for name, probe in probes(context.config, args.pulse):
        try:
            checks = probe()
        except Exception as error:  # a probe that breaks is itself a finding
            checks = [Check(name, False, f"the self-test could not run ({error})",
                            "report this with `dystonia-box diagnostics`")]
        for check in checks:
            print(check.line(), flush=True)
            failed += not check.ok
    return 1 if failed else 0
