"""``dystonia-box reset-button``: at power-on (a oneshot unit before the web service), a
technician holding the index response button issues a recovery code for a locked-out box.
Nothing is deleted; the code lets the /setup page create an account or reset a password."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from device import platform
from device.maintenance import recovery


def add_parsers(subparsers: Any) -> None:
    reset = subparsers.add_parser("reset-button", help="issue a recovery code if the index "
                                  "response button is held at start-up")
    reset.add_argument("--hold", type=float, default=recovery.HOLD_S,
                       help=f"seconds the button must stay held (default {recovery.HOLD_S:g})")
    reset.set_defaults(func=run_reset_button)


def run_reset_button(args: argparse.Namespace, context: Any, pin_factory: Any = None) -> int:
    if pin_factory is None and not platform.is_raspberry_pi():
        print("no response button on this machine (not a Raspberry Pi); nothing to do")
        return 0
    from gpiozero import Button
    from gpiozero.exc import GPIOZeroError

    pin = context.config["stimulator"]["button_index_pin"]
    try:
        button = Button(pin, pull_up=True, pin_factory=pin_factory)
    except (GPIOZeroError, OSError) as exc:
        print(f"dystonia-box: cannot read the response button on BCM {pin}: {exc}",
              file=sys.stderr)
        return 2
    try:
        held = recovery.button_held(button, args.hold)
    finally:
        button.close()
    if not held:
        print(f"reset button (BCM {pin}) not held; normal start")
        return 0
    code = recovery.issue_code(context.data_dir, f"button on BCM {pin} held {args.hold:g} s "
                               "at start-up")
    print(f"RECOVERY: open http://<box>.local/setup and enter the code {code} to create an "
          "account or set a new password (valid 24 h, once). No data was changed.", flush=True)
    return 0
