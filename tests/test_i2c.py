"""The shared I2C layer against the emulated bus: multiplexer, retries, clear failures."""

from __future__ import annotations

import threading

import pytest

from device.hardware.emulated_i2c import EmulatedBus, RegisterDevice
from device.hardware.i2c import I2CBus, I2CDeviceError


class Memory(RegisterDevice):
    """A plain 256-byte register file."""

    def __init__(self, fill: int = 0) -> None:
        super().__init__()
        self.registers = [fill] * 256

    def read_register(self, register: int) -> int:
        return self.registers[register]

    def write_register(self, register: int, value: int) -> None:
        self.registers[register] = value


def make_bus() -> tuple[EmulatedBus, I2CBus, list[Memory]]:
    emulated = EmulatedBus()
    emulated.attach_mux(0x70)
    memories = [Memory(fill=channel) for channel in range(3)]
    for channel, memory in enumerate(memories):
        emulated.attach(0x2A, memory, channel=channel)
    return emulated, I2CBus(emulated, sleep=lambda s: None), memories


def test_same_address_on_three_channels_is_told_apart_by_the_multiplexer():
    _, bus, _ = make_bus()
    assert [bus.device("cell", 0x2A, channel).read_u8(0x10) for channel in range(3)] == [0, 1, 2]


def test_channel_is_selected_only_when_it_changes():
    emulated, bus, _ = make_bus()
    device = bus.device("cell", 0x2A, 1)
    for _ in range(10):
        device.read_u8(0)
    assert emulated.mux is not None and emulated.mux.selects == 1


def test_nack_and_timeout_are_retried():
    _, bus, memories = make_bus()
    memories[0].faults.nack_next = 2
    memories[0].faults.timeout_next = 1
    device = bus.device("cell", 0x2A, 0)
    device.write_u8(0x05, 0x7F)
    assert device.read_u8(0x05) == 0x7F
    assert bus.failures == 3


def test_device_that_keeps_failing_is_named_with_address_channel_and_register():
    _, bus, memories = make_bus()
    memories[2].faults.absent = True
    with pytest.raises(I2CDeviceError) as error:
        bus.device("force cell ring", 0x2A, 2).read_u8(0x1F)
    message = str(error.value)
    assert "force cell ring at 0x2a on multiplexer channel 2, register 0x1f" in message
    assert "4 attempts" in message


def test_stuck_bit_is_seen_by_the_reader():
    _, bus, memories = make_bus()
    memories[0].faults.stuck[0x00] = (0x80, 0x80)
    assert bus.device("cell", 0x2A, 0).read_u8(0x00) == 0x80


def test_block_transfers_and_read_modify_write():
    _, bus, _ = make_bus()
    device = bus.device("cell", 0x2A, 1)
    device.write_block(0x20, bytes([1, 2, 3, 4]))
    assert device.read_block(0x20, 4) == bytes([1, 2, 3, 4])
    device.update_bits(0x20, 0xF0, 0xA0)
    assert device.read_u8(0x20) == 0xA1
    with pytest.raises(ValueError, match="1 to 32 bytes"):
        device.read_block(0, 33)


def test_threads_sharing_the_bus_never_read_through_the_wrong_channel():
    _, bus, _ = make_bus()
    wrong: list[int] = []

    def reader(channel: int) -> None:
        device = bus.device("cell", 0x2A, channel)
        for _ in range(300):
            value = device.read_u8(0x33)
            if value != channel:
                wrong.append(value)

    threads = [threading.Thread(target=reader, args=(c,)) for c in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
