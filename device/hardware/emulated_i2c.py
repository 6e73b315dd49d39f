"""Register-level emulation of I2C hardware behind an smbus2-shaped bus, for tests and benches.

`EmulatedBus` answers the `smbus2.SMBus` calls the drivers make by routing them to
`RegisterDevice` objects attached at an address, either directly on the bus or behind an
emulated TCA9548A multiplexer channel. Each device carries `Faults` a test can set: NACKs
and timeouts (the next few transactions or always), and stuck bits in a register.
Device models (NAU7802, ICM-20948, key bar, ...) subclass `RegisterDevice`.

With `real_time=True` each transaction takes as long as it would on a real bus at
`bitrate_hz` (address, register and data bytes, 9 clocks each), so rates measured on the
emulators are plausible.
"""

from __future__ import annotations

import errno
import threading
import time
from dataclasses import dataclass, field

NACK = errno.EREMOTEIO  # what the Linux I2C driver reports for an unacknowledged address
TIMEOUT = errno.ETIMEDOUT


@dataclass
class Faults:
    """Faults a test injects into one emulated device."""

    nack_next: int = 0  # the next n transactions are not acknowledged
    timeout_next: int = 0  # the next n transactions time out
    absent: bool = False  # the device never answers (wrong address, cable off)
    stuck: dict[int, tuple[int, int]] = field(default_factory=dict)  # register: (mask, value)

    def check(self) -> None:
        """Raise the fault due on this transaction, if any."""
        if self.absent:
            raise OSError(NACK, "Remote I/O error")
        if self.nack_next > 0:
            self.nack_next -= 1
            raise OSError(NACK, "Remote I/O error")
        if self.timeout_next > 0:
            self.timeout_next -= 1
            raise OSError(TIMEOUT, "Connection timed out")

    def apply(self, register: int, value: int) -> int:
        mask, forced = self.stuck.get(register, (0, 0))
        return (value & ~mask) | (forced & mask)


class RegisterDevice:
    """An emulated I2C target whose registers are addressed by a pointer byte.

    Subclasses override `read_register` and `write_register`; reads of several bytes
    call `read_register` for consecutive registers unless `read_block` is overridden.
    """

    def __init__(self) -> None:
        self.faults = Faults()

    def read_register(self, register: int) -> int:
        raise OSError(NACK, f"register 0x{register:02x} is not readable")

    def write_register(self, register: int, value: int) -> None:
        raise OSError(NACK, f"register 0x{register:02x} is not writable")

    def read_block(self, register: int, length: int) -> list[int]:
        return [self.read_register(register + i) for i in range(length)]

    def write_block(self, register: int, data: list[int]) -> None:
        for i, value in enumerate(data):
            self.write_register(register + i, value)

    # Devices without registers (the multiplexer) answer plain byte transfers.
    def read_plain(self) -> int:
        raise OSError(NACK, "no plain read on this device")

    def write_plain(self, value: int) -> None:
        raise OSError(NACK, "no plain write on this device")


class EmulatedMux(RegisterDevice):
    """TCA9548A: one control byte, bit n connects downstream channel n."""

    def __init__(self) -> None:
        super().__init__()
        self.control = 0
        self.selects = 0  # how many times the control byte was written

    def read_plain(self) -> int:
        return self.control

    def write_plain(self, value: int) -> None:
        self.control = value & 0xFF
        self.selects += 1


class EmulatedBus:
    """An `smbus2.SMBus` look-alike that routes transactions to emulated devices."""

    def __init__(self, *, real_time: bool = False, bitrate_hz: float = 400_000.0) -> None:
        self.real_time = real_time
        self.bitrate_hz = bitrate_hz
        self._direct: dict[int, RegisterDevice] = {}
        self._behind: dict[tuple[int, int], RegisterDevice] = {}  # (channel, address)
        self.mux: EmulatedMux | None = None
        self.mux_address: int | None = None
        self.transactions = 0
        self.closed = False
        self._lock = threading.Lock()

    # --- wiring -----------------------------------------------------------------------
    def attach(self, address: int, device: RegisterDevice, channel: int | None = None) -> None:
        if channel is None:
            self._direct[address] = device
        else:
            if self.mux is None:
                raise ValueError("attach a multiplexer before devices behind it")
            self._behind[(channel, address)] = device

    def attach_mux(self, address: int = 0x70) -> EmulatedMux:
        self.mux = EmulatedMux()
        self.mux_address = address
        self._direct[address] = self.mux
        return self.mux

    def _target(self, address: int) -> RegisterDevice:
        if self.closed:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if address in self._direct:
            return self._direct[address]
        if self.mux is not None:
            found = [
                device
                for (channel, where), device in self._behind.items()
                if where == address and self.mux.control >> channel & 1
            ]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise OSError(errno.EIO, "Input/output error")  # two devices drive the bus
        raise OSError(NACK, "Remote I/O error")

    def _transaction(self, address: int, data_bytes: int) -> RegisterDevice:
        with self._lock:
            self.transactions += 1
        if self.real_time:
            # start + address + register/data bytes, 9 clocks a byte, plus a repeated start
            time.sleep((2 + data_bytes) * 9 / self.bitrate_hz)
        device = self._target(address)
        device.faults.check()
        return device

    # --- smbus2.SMBus API -------------------------------------------------------------
    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        return self._transaction(i2c_addr, 1).read_plain()

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        self._transaction(i2c_addr, 1).write_plain(value)

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        device = self._transaction(i2c_addr, 2)
        return device.faults.apply(register, device.read_register(register)) & 0xFF

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self._transaction(i2c_addr, 2).write_register(register, value & 0xFF)

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        if not 0 < length <= 32:
            raise ValueError("Desired block length over 32 bytes")
        device = self._transaction(i2c_addr, 1 + length)
        data = device.read_block(register, length)
        return [device.faults.apply(register + i, v) & 0xFF for i, v in enumerate(data)]

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: list[int], force: bool | None = None
    ) -> None:
        if len(data) > 32:
            raise ValueError("Data length cannot exceed 32 bytes")
        self._transaction(i2c_addr, 1 + len(data)).write_block(register, list(data))

    def close(self) -> None:
        self.closed = True
