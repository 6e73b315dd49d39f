"""``python -m device.maintenance.outputs_off PIN...``: drive the solenoid outputs low.

The service's ``ExecStopPost=`` runs this after every stop, clean or not (a crash, a
watchdog kill), so a solenoid is never left energised by a dead process. It needs neither
the configuration nor the box's code beyond this file: the pins come on the command line.
``pinctrl`` (Raspberry Pi OS, package raspi-utils-core) sets the pin to an output driven low,
which stays so after the command exits; without it, lgpio claims the line low.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any


class OutputsOffError(RuntimeError):
    """The outputs could not be forced off; the message says what to check."""


def _with_pinctrl(pinctrl: str, pins: Sequence[int], run: Callable[..., Any]) -> None:
    for pin in pins:
        run([pinctrl, "set", str(pin), "op", "dl"], check=True, timeout=10)


def _with_lgpio(pins: Sequence[int]) -> None:
    try:
        import lgpio
    except ImportError:
        raise OutputsOffError("neither pinctrl nor lgpio is available: install raspi-utils-core "
                              "or python3-lgpio") from None
    handle = _gpio_chip(lgpio)
    try:
        for pin in pins:
            lgpio.gpio_claim_output(handle, pin, 0)
    finally:
        lgpio.gpiochip_close(handle)


def _gpio_chip(lgpio: Any) -> int:
    """The chip of the 40-pin header (label pinctrl-rp1 on a Pi 5, pinctrl-bcm... before)."""
    for number in range(8):
        try:
            handle = lgpio.gpiochip_open(number)
        except lgpio.error:
            continue
        if str(lgpio.gpio_get_chip_info(handle)[3]).startswith("pinctrl-"):
            return handle
        lgpio.gpiochip_close(handle)
    raise OutputsOffError("no GPIO chip of the 40-pin header found (/dev/gpiochip*)")


def force_off(pins: Sequence[int], run: Callable[..., Any] = subprocess.run,
              which: Callable[[str], str | None] = shutil.which) -> str:
    """Drive ``pins`` (BCM numbers) low. Returns how it was done."""
    bad = [p for p in pins if not 0 <= p <= 27]
    if bad or not pins:
        raise OutputsOffError(f"BCM pins must be 0..27, got {list(pins)}")
    pinctrl = which("pinctrl")
    if pinctrl:
        try:
            _with_pinctrl(pinctrl, pins, run)
            return f"pinctrl drove BCM {', '.join(map(str, pins))} low"
        except (OSError, subprocess.SubprocessError) as exc:
            raise OutputsOffError(f"pinctrl failed: {exc}") from None
    _with_lgpio(pins)
    return f"lgpio drove BCM {', '.join(map(str, pins))} low"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        pins = [int(a) for a in args]
        print(force_off(pins))
    except ValueError:
        print(f"outputs_off: pins must be whole BCM numbers, got {args}", file=sys.stderr)
        return 2
    except OutputsOffError as exc:
        print(f"outputs_off: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
