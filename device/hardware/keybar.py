"""Driver of the key-bar microcontroller (DESIGN.md contract 4, I2C address 0x42).

Optical sensors under the keys are scanned by a microcontroller that queues key events with
its own microsecond time stamps. This driver checks its identity, starts and stops scanning,
pops events from its FIFO (four 8-byte events per SMBus block read, the most one transfer
carries) and keeps its clock mapped onto the Pi's `time.monotonic` (`clock_sync`).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from device.hardware.clock_sync import ClockSync
from device.hardware.i2c import BLOCK_MAX, I2CDevice
from device.hardware.key_source import ONSET, RELEASE, KeyEvent

ADDRESS = 0x42
WHO_AM_I, VERSION, STATUS, FIFO_COUNT, CLOCK_US, FIFO_DATA, CTRL = (
    0x00, 0x01, 0x02, 0x03, 0x05, 0x10, 0x20)
IDENTITY = 0x4B
PROTOCOL_VERSION = 0x01
STATUS_NOT_EMPTY, STATUS_OVERFLOW, STATUS_SCANNING = 0x01, 0x02, 0x04
CTRL_SCAN, CTRL_CLEAR = 0x01, 0x02
FIFO_DEPTH = 256
EVENT_SIZE = 8
EVENTS_PER_READ = BLOCK_MAX // EVENT_SIZE  # 4
KEY_COUNT = 88
LOWEST_NOTE = 21  # key index 0 is A0
EVENT_FORMAT = "<BBIH"  # key index, kind, time us, velocity
KINDS = {1: ONSET, 2: RELEASE}


class KeyBarError(RuntimeError):
    """The key bar answered, but not as contract 4 says (identity, version, data)."""


@dataclass(frozen=True)
class RawKeyEvent:
    """An event as the key bar queued it, time still on its own 32-bit microsecond clock."""

    note: int
    kind: str
    device_us: int
    velocity: float


@dataclass(frozen=True)
class KeyBarStatus:
    not_empty: bool
    overflowed: bool  # events were lost since the last STATUS read
    scanning: bool


def decode_events(data: bytes) -> list[RawKeyEvent]:
    """Events from FIFO_DATA bytes (8 per event, little-endian)."""
    if len(data) % EVENT_SIZE:
        raise KeyBarError(f"FIFO data of {len(data)} bytes is not a whole number of "
                          f"{EVENT_SIZE}-byte events")
    events = []
    for offset in range(0, len(data), EVENT_SIZE):
        key, kind, device_us, velocity = struct.unpack_from(EVENT_FORMAT, data, offset)
        if key >= KEY_COUNT or kind not in KINDS:
            raise KeyBarError(
                f"malformed key event {data[offset:offset + EVENT_SIZE].hex(' ')}: key index "
                f"{key} (0..{KEY_COUNT - 1}), kind {kind} (1 onset, 2 release)")
        events.append(RawKeyEvent(LOWEST_NOTE + key, KINDS[kind], device_us, velocity / 65535))
    return events


class KeyBar:
    """Register-level access to one key bar; `clock` is the Pi clock event times map onto."""

    def __init__(self, device: I2CDevice, *, clock: Callable[[], float] = time.monotonic,
                 sync: ClockSync | None = None) -> None:
        self.device = device
        self.clock = clock
        self.sync = sync or ClockSync()

    def identify(self) -> int:
        """Check WHO_AM_I and VERSION; returns the protocol version."""
        who = self.device.read_u8(WHO_AM_I)
        if who != IDENTITY:
            raise KeyBarError(
                f"{self.device.where(WHO_AM_I)} answered WHO_AM_I 0x{who:02x}, not "
                f"0x{IDENTITY:02x}: another device sits at this address, or the key bar "
                "firmware is wrong")
        version = self.device.read_u8(VERSION)
        if version != PROTOCOL_VERSION:
            raise KeyBarError(
                f"{self.device.where(VERSION)} speaks protocol version {version}, this box "
                f"version {PROTOCOL_VERSION}: update the key bar firmware or the box")
        return version

    def control(self, *, scanning: bool, clear: bool = False) -> None:
        self.device.write_u8(CTRL, (CTRL_SCAN if scanning else 0) | (CTRL_CLEAR if clear else 0))

    def status(self) -> KeyBarStatus:
        """Reading STATUS clears the key bar's overflow flag: keep what it says."""
        value = self.device.read_u8(STATUS)
        return KeyBarStatus(bool(value & STATUS_NOT_EMPTY), bool(value & STATUS_OVERFLOW),
                            bool(value & STATUS_SCANNING))

    def fifo_count(self) -> int:
        count = int.from_bytes(self.device.read_block(FIFO_COUNT, 2), "little")
        if count > FIFO_DEPTH:
            raise KeyBarError(f"{self.device.where(FIFO_COUNT)} reports {count} events "
                              f"waiting; the FIFO holds {FIFO_DEPTH}")
        return count

    def pop_events(self, count: int) -> list[RawKeyEvent]:
        """Pop `count` events (at most FIFO_COUNT), four per block read."""
        events: list[RawKeyEvent] = []
        while len(events) < count:
            n = min(EVENTS_PER_READ, count - len(events))
            events += decode_events(self.device.read_block(FIFO_DATA, n * EVENT_SIZE))
        return events

    def read_clock(self) -> tuple[int, float, float]:
        """CLOCK_US with the Pi clock just before and just after the transaction."""
        before = self.clock()
        data = self.device.read_block(CLOCK_US, 4)
        after = self.clock()
        return int.from_bytes(data, "little"), before, after

    def synchronise(self, reads: int) -> None:
        """Add `reads` clock reads to the clock fit."""
        for _ in range(reads):
            self.sync.add(*self.read_clock())

    def to_key_event(self, raw: RawKeyEvent) -> KeyEvent:
        return KeyEvent(self.sync.to_monotonic(raw.device_us), raw.note, raw.kind, raw.velocity)
