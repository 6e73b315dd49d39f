"""Mock GPIO pins whose state and history live in a file that several processes share.

gpiozero's ``MockFactory`` keeps pin state inside one process. The solenoid guard acts from
another process after the stimulator's process has died, so to test it (and to watch a
simulated box from outside) the pins' history must outlive the process that wrote it. Each
change of a pin is appended to the file as one fixed-size record (monotonic time in ns, BCM
pin, state, writer's pid); ``O_APPEND`` writes of one record are atomic on Linux, and
``CLOCK_MONOTONIC`` is the same clock in every process, so records from different processes
interleave in time order and compare directly.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from gpiozero.pins import PinInfo
from gpiozero.pins.mock import MockFactory, MockPin

_RECORD = struct.Struct("<qiiI")  # t_ns, BCM pin, state, pid


@dataclass(frozen=True)
class PinRecord:
    t_s: float  # time.monotonic() of the change
    pin: int  # BCM number
    high: bool
    pid: int  # process that made the change


def read_history(path: Path) -> list[PinRecord]:
    """Every recorded change, oldest first."""
    data = Path(path).read_bytes()
    whole = len(data) - len(data) % _RECORD.size
    return [
        PinRecord(t_ns / 1e9, pin, bool(state), pid)
        for t_ns, pin, state, pid in _RECORD.iter_unpack(data[:whole])
    ]


def current_states(path: Path) -> dict[int, bool]:
    """The last recorded state of each pin."""
    return {record.pin: record.high for record in read_history(path)}


def _bcm(pin: MockPin) -> int:
    name = pin.info.name
    if not name.startswith("GPIO"):
        raise ValueError(f"shared pins are GPIO pins only, got {name}")
    return int(name[4:])


class SharedFilePin(MockPin):
    """A ``MockPin`` that starts from the file's last state and appends its changes."""

    def __init__(self, factory: SharedFilePinFactory, info: PinInfo) -> None:
        super().__init__(factory, info)
        last = current_states(factory.path).get(_bcm(self))
        if last is not None:
            self._state = last
            self.clear_states()

    def _change_state(self, value: bool) -> bool:
        changed = super()._change_state(value)
        if changed:
            self.factory.append(_bcm(self), value)
        return changed


class SharedFilePinFactory(MockFactory):
    """``MockFactory`` whose pins record to ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        super().__init__(pin_class=SharedFilePin)

    def append(self, pin: int, high: bool) -> None:
        os.write(self._fd, _RECORD.pack(time.monotonic_ns(), pin, int(high), os.getpid()))

    def close(self) -> None:
        super().close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
