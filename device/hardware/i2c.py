"""The I2C bus shared by every device, with the TCA9548A multiplexer and retries.

One `I2CBus` wraps one smbus2-shaped object (a real `smbus2.SMBus`, or
`emulated_i2c.EmulatedBus` in tests). Every transaction takes the bus lock, selects the
device's multiplexer channel when it differs from the one selected last, and is retried
with a growing pause after a NACK or a timeout. A device that keeps failing raises
`I2CDeviceError`, whose message names the device, its address, channel and register.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class SMBusLike(Protocol):
    """The part of `smbus2.SMBus` the box uses."""

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int: ...
    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None: ...
    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int: ...
    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None: ...
    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]: ...
    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: list[int], force: bool | None = None
    ) -> None: ...
    def close(self) -> None: ...


class I2CError(OSError):
    """The bus itself cannot be used (not enabled, no permission)."""


class I2CDeviceError(OSError):
    """A device did not answer after every retry; the message says which and where."""


#: Most bytes one SMBus block transfer carries.
BLOCK_MAX = 32


def open_bus(number: int) -> SMBusLike:
    """The real bus `/dev/i2c-<number>`, with the fix for the usual reasons it is missing."""
    try:
        from smbus2 import SMBus
    except ImportError as error:  # pragma: no cover - smbus2 is a runtime dependency
        raise I2CError(f"smbus2 is not installed: {error}") from error
    try:
        return SMBus(number)
    except FileNotFoundError as error:
        raise I2CError(
            f"/dev/i2c-{number} does not exist: I2C is not enabled "
            "(on a Raspberry Pi: sudo raspi-config nonint do_i2c 0, then reboot)"
        ) from error
    except PermissionError as error:
        raise I2CError(
            f"no permission to open /dev/i2c-{number}: add the service user to the i2c group"
        ) from error


class I2CBus:
    """Thread-safe access to an smbus2-shaped bus behind an optional TCA9548A multiplexer."""

    def __init__(
        self,
        smbus: SMBusLike,
        *,
        mux_address: int | None = 0x70,
        retries: int = 3,
        backoff_s: float = 0.0005,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.smbus = smbus
        self.mux_address = mux_address
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.lock = threading.RLock()
        self._selected: int | None = None  # channel the multiplexer has open, if known
        self.failures = 0  # transactions that needed a retry, for diagnostics

    def device(self, name: str, address: int, channel: int | None = None) -> I2CDevice:
        return I2CDevice(self, name, address, channel)

    def close(self) -> None:
        with self.lock:
            self.smbus.close()

    def transact(
        self,
        device: I2CDevice,
        register: int | None,
        operation: Callable[[], Any],
    ) -> Any:
        """Run `operation` on the bus with the device's channel selected, retrying failures."""
        last: OSError | None = None
        with self.lock:
            for attempt in range(self.retries + 1):
                if attempt:
                    self.failures += 1
                    self._sleep(self.backoff_s * 2 ** (attempt - 1))
                try:
                    self._select(device.channel)
                    return operation()
                except OSError as error:
                    last = error
                    self._selected = None  # the multiplexer may have missed it too
        raise I2CDeviceError(
            f"{device.where(register)} did not answer after {self.retries + 1} attempts "
            f"({last}); check the cable and the address"
        ) from last

    def _select(self, channel: int | None) -> None:
        if channel is None or self.mux_address is None or channel == self._selected:
            return
        self.smbus.write_byte(self.mux_address, 1 << channel)
        self._selected = channel


class I2CDevice:
    """One device on the bus: register reads and writes with the bus's locking and retries."""

    def __init__(self, bus: I2CBus, name: str, address: int, channel: int | None) -> None:
        self.bus = bus
        self.name = name
        self.address = address
        self.channel = channel

    def where(self, register: int | None = None) -> str:
        place = f"{self.name} at 0x{self.address:02x}"
        if self.channel is not None:
            place += f" on multiplexer channel {self.channel}"
        if register is not None:
            place += f", register 0x{register:02x}"
        return place

    def read_u8(self, register: int) -> int:
        smbus = self.bus.smbus
        return int(
            self.bus.transact(
                self, register, lambda: smbus.read_byte_data(self.address, register)
            )
        )

    def write_u8(self, register: int, value: int) -> None:
        smbus = self.bus.smbus
        self.bus.transact(
            self, register, lambda: smbus.write_byte_data(self.address, register, value & 0xFF)
        )

    def read_block(self, register: int, length: int) -> bytes:
        """`length` bytes from `register` on (one SMBus block transfer per 32 bytes)."""
        if not 0 < length <= BLOCK_MAX:
            raise ValueError(f"a block read carries 1 to {BLOCK_MAX} bytes, not {length}")
        smbus = self.bus.smbus
        data = self.bus.transact(
            self, register, lambda: smbus.read_i2c_block_data(self.address, register, length)
        )
        return bytes(data)

    def write_block(self, register: int, data: bytes) -> None:
        if not 0 < len(data) <= BLOCK_MAX:
            raise ValueError(f"a block write carries 1 to {BLOCK_MAX} bytes, not {len(data)}")
        smbus = self.bus.smbus
        self.bus.transact(
            self,
            register,
            lambda: smbus.write_i2c_block_data(self.address, register, list(data)),
        )

    def update_bits(self, register: int, mask: int, value: int) -> None:
        """Read-modify-write of the bits in `mask`, atomic with respect to other threads."""
        with self.bus.lock:
            current = self.read_u8(register)
            self.write_u8(register, (current & ~mask) | (value & mask))
