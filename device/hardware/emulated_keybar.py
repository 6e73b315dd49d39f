"""The key-bar microcontroller emulated at register level, exactly per contract 4.

It has its own microsecond counter, started at `start_us` and running `drift_ppm` fast
against the Pi clock it is given, wrapping at 2^32; a 256-event FIFO with the overflow flag;
multi-byte registers latched when their first byte is read. Key events of a performance are
injected with their true Pi-clock times and queued, stamped on the counter, once the clock
passes them while scanning is on. Faults: those of `RegisterDevice` (NACK, absent, stuck
bits), a wrong identity or version, and overflow (inject more than the FIFO holds).

`SteppingClock` stands in for `time.monotonic` in deterministic tests and benches: each
reading moves time on by a random step, as real code between two clock readings would.
"""

from __future__ import annotations

import bisect
import math
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from device.hardware import keybar as kb
from device.hardware.emulated_i2c import NACK, RegisterDevice
from device.hardware.key_source import ONSET, KeyEvent

WRAP_US = 1 << 32


class SteppingClock:
    """A Pi clock whose every reading advances it by `step_s` plus an exponential jitter of
    mean `jitter_s`, and with probability `stall_probability` by a stall of up to `stall_s`
    (the process was preempted)."""

    def __init__(self, rng: np.random.Generator, *, start_s: float = 1000.0,
                 step_s: float = 30e-6, jitter_s: float = 40e-6,
                 stall_probability: float = 0.02, stall_s: float = 3e-3) -> None:
        self.rng = rng
        self.now = start_s
        self.step_s, self.jitter_s = step_s, jitter_s
        self.stall_probability, self.stall_s = stall_probability, stall_s

    def __call__(self) -> float:
        reading = self.now
        self.now += self.step_s + self.rng.exponential(self.jitter_s)
        if self.rng.random() < self.stall_probability:
            self.now += self.rng.uniform(0.0, self.stall_s)
        return reading

    def advance(self, seconds: float) -> None:
        self.now += seconds


class EmulatedKeyBar(RegisterDevice):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        start_us: int = 0,
        drift_ppm: float = 50.0,
        who_am_i: int = kb.IDENTITY,
        version: int = kb.PROTOCOL_VERSION,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.t0 = clock()
        self.start_us = start_us
        self.drift_ppm = drift_ppm
        self.who_am_i, self.version = who_am_i, version
        self.fifo: deque[bytes] = deque()
        self.overflowed = False
        self.scanning = False
        self.lost = 0  # events dropped because the FIFO was full
        self._pending: list[tuple[float, int, KeyEvent]] = []  # sorted by true time
        self._serial = 0
        self._latched: dict[int, bytes] = {}  # first register -> bytes latched there
        self._head_read = 0  # bytes of the head event already read
        self._lock = threading.RLock()  # a test injects while the driver's thread polls

    # --- the counter ----------------------------------------------------------------
    def device_us(self, t: float) -> int:
        """Unwrapped counter value at Pi time `t`."""
        return self.start_us + round((t - self.t0) * 1e6 * (1.0 + self.drift_ppm * 1e-6))

    def true_time(self, device_us: int) -> float:
        """Pi time at which the unwrapped counter showed `device_us`."""
        return self.t0 + (device_us - self.start_us) * 1e-6 / (1.0 + self.drift_ppm * 1e-6)

    # --- feeding key events ---------------------------------------------------------
    def inject(self, events: Iterable[KeyEvent]) -> None:
        """Key presses at their true Pi-clock times, queued as the clock passes them."""
        with self._lock:
            for event in events:
                self._serial += 1
                bisect.insort(self._pending, (event.time_s, self._serial, event))

    def queue(self, note: int, kind: str, device_us: int, velocity: float) -> None:
        """Put one event in the FIFO now, as the scanner would (overflow if full)."""
        code = 1 if kind == ONSET else 2
        level = 0 if math.isnan(velocity) else round(velocity * 65535)  # NaN: not measured
        with self._lock:
            if len(self.fifo) >= kb.FIFO_DEPTH:
                self.overflowed = True
                self.lost += 1
                return
            self.fifo.append(struct.pack(kb.EVENT_FORMAT, note - kb.LOWEST_NOTE, code,
                                         device_us % WRAP_US, level))

    def _advance(self, now: float) -> None:
        while self._pending and self._pending[0][0] <= now:
            t, _, event = self._pending.pop(0)
            if self.scanning:
                self.queue(event.note, event.kind, self.device_us(t), event.velocity)

    # --- registers --------------------------------------------------------------------
    def _status(self) -> int:
        value = ((kb.STATUS_NOT_EMPTY if self.fifo else 0)
                 | (kb.STATUS_OVERFLOW if self.overflowed else 0)
                 | (kb.STATUS_SCANNING if self.scanning else 0))
        self.overflowed = False
        return value

    def _fifo_byte(self) -> int:
        if not self.fifo:
            return 0x00
        value = self.fifo[0][self._head_read]
        self._head_read += 1
        if self._head_read == kb.EVENT_SIZE:
            self.fifo.popleft()
            self._head_read = 0
        return value

    def read_register(self, register: int) -> int:
        with self._lock:
            return self._read(register)

    def _read(self, register: int) -> int:
        if register == kb.WHO_AM_I:
            return self.who_am_i
        if register == kb.VERSION:
            return self.version
        if register == kb.FIFO_DATA:
            return self._fifo_byte()
        if register in (kb.STATUS, kb.FIFO_COUNT, kb.CLOCK_US):
            now = self.clock()
            self._advance(now)
            if register == kb.STATUS:
                return self._status()
            if register == kb.FIFO_COUNT:
                self._latched[register] = len(self.fifo).to_bytes(2, "little")
            else:
                self._latched[register] = (self.device_us(now) % WRAP_US).to_bytes(4, "little")
            return self._latched[register][0]
        for first, size in ((kb.FIFO_COUNT, 2), (kb.CLOCK_US, 4)):
            if first < register < first + size:
                return self._latched.get(first, bytes(size))[register - first]
        raise OSError(NACK, f"register 0x{register:02x} is not readable")

    def read_block(self, register: int, length: int) -> list[int]:
        with self._lock:
            if register == kb.FIFO_DATA:
                return [self._fifo_byte() for _ in range(length)]
            return super().read_block(register, length)

    def write_register(self, register: int, value: int) -> None:
        if register != kb.CTRL:
            raise OSError(NACK, f"register 0x{register:02x} is not writable")
        with self._lock:
            self._advance(self.clock())  # keys pressed before this write saw the old setting
            self.scanning = bool(value & kb.CTRL_SCAN)
            if value & kb.CTRL_CLEAR:
                self.fifo.clear()
                self._head_read = 0
