"""TDK InvenSense ICM-20948 with its AK09916 magnetometer, register by register.

The chip has four register banks chosen through `REG_BANK_SEL` (0x7F in every bank); the
driver remembers the selected bank and writes it only when it changes. Accelerometer,
gyroscope and temperature are big-endian two's complement in bank 0.

The magnetometer is read through the ICM's own I2C master, not in bypass mode. Both work
behind the TCA9548A (each IMU has its own channel), but with the master:
- one 23-byte burst from `ACCEL_XOUT_H` returns accelerometer, gyroscope, temperature and
  the magnetometer's ST1..ST2 (copied into `EXT_SLV_SENS_DATA_00..08` by slave 0 at the
  sample rate): one transaction per IMU and sample instead of two;
- the AK09916 (fixed address 0x0C) never appears on the Pi's bus, so two IMUs cannot
  clash even on one channel.
Single magnetometer register accesses (identity, reset, mode) go through slave 4, which
signals completion in `I2C_MST_STATUS`.

The AK09916's axes are not the accelerometer's: its Y and Z point the other way (datasheet
DS-000189, orientation of axes). Readings are returned in the accelerometer's frame.
Sources: FACTS.md (ICM-20948 section); datasheet DS-000189 sections 8-14.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from device.hardware.i2c import I2CDevice

STANDARD_GRAVITY = 9.80665  # m/s^2 per g

# Every bank
REG_BANK_SEL = 0x7F
# Bank 0
WHO_AM_I = 0x00
USER_CTRL = 0x03
PWR_MGMT_1 = 0x06
PWR_MGMT_2 = 0x07
I2C_MST_STATUS = 0x17
ACCEL_XOUT_H = 0x2D
EXT_SLV_SENS_DATA_00 = 0x3B
# Bank 2
GYRO_SMPLRT_DIV = 0x00
GYRO_CONFIG_1 = 0x01
ACCEL_SMPLRT_DIV_1 = 0x10
ACCEL_SMPLRT_DIV_2 = 0x11
ACCEL_CONFIG = 0x14
# Bank 3
I2C_MST_CTRL = 0x01
I2C_SLV0_ADDR = 0x03
I2C_SLV0_REG = 0x04
I2C_SLV0_CTRL = 0x05
I2C_SLV4_ADDR = 0x13
I2C_SLV4_REG = 0x14
I2C_SLV4_CTRL = 0x15
I2C_SLV4_DO = 0x16
I2C_SLV4_DI = 0x17

ICM20948_ID = 0xEA
DEVICE_RESET = 0x80
SLEEP = 0x40
CLKSEL_AUTO = 0x01
I2C_MST_EN = 0x20
I2C_MST_RST = 0x02  # self-clearing
SLV_EN = 0x80
SLV_READ = 0x80
SLV4_DONE = 0x40
SLV4_NACK = 0x10
I2C_MST_CLK_345KHZ = 0x07  # the clock the datasheet recommends for the internal master
DLPF_CFG = 3  # accelerometer and gyroscope low-pass about 50 Hz: ample for finger movement
FCHOICE = 0x01  # use the low-pass filter

# AK09916, behind the internal master
AK09916_ADDRESS = 0x0C
WIA2 = 0x01
AK09916_ID = 0x09
ST1 = 0x10
CNTL2 = 0x31
CNTL3 = 0x32
ST1_DRDY = 0x01
ST2_HOFL = 0x08
MAG_BURST = 9  # ST1, HXL..HZH, TMPS, ST2
MAG_TESLA_PER_LSB = 0.15e-6
MAG_MODES = {10: 0x02, 20: 0x04, 50: 0x06, 100: 0x08}  # continuous modes 1-4

#: Bytes of one sample burst: accel 6, gyro 6, temperature 2, magnetometer 9.
BURST_LENGTH = 14 + MAG_BURST

ACCEL_RANGES_G = {2: 0, 4: 1, 8: 2, 16: 3}
GYRO_LSB_PER_DPS = {250: 131.0, 500: 65.5, 1000: 32.8, 2000: 16.4}
GYRO_RANGES_DPS = {250: 0, 500: 1, 1000: 2, 2000: 3}
GYRO_BASE_RATE_HZ = 1100.0
ACCEL_BASE_RATE_HZ = 1125.0
TEMP_LSB_PER_DEGC = 333.87
TEMP_OFFSET_DEGC = 21.0


class Icm20948Error(OSError):
    """The IMU answered but cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True)
class Reading:
    """One sample of one IMU, in the accelerometer's axes.

    `mag` is None when the magnetometer reported an overflow (HOFL, `mag_overflow`): a
    magnet or steel close to the sensor. `mag_fresh` is whether the magnetometer had a new
    measurement since the internal master's previous fetch.
    """

    t: float  # clock seconds just after the burst was read
    accel: np.ndarray  # m/s^2
    gyro: np.ndarray  # rad/s
    mag: np.ndarray | None  # tesla
    mag_fresh: bool
    mag_overflow: bool
    temperature_c: float


def sample_dividers(rate_hz: float) -> tuple[int, int]:
    """Gyroscope and accelerometer dividers giving an output rate of at least `rate_hz`."""
    if not 0 < rate_hz <= GYRO_BASE_RATE_HZ:
        raise ValueError(f"rate must be in (0, {GYRO_BASE_RATE_HZ}] Hz, got {rate_hz}")
    gyro = max(0, min(255, int(GYRO_BASE_RATE_HZ / rate_hz) - 1))
    accel = max(0, min(4095, int(ACCEL_BASE_RATE_HZ / rate_hz) - 1))
    return gyro, accel


class Icm20948:
    """One ICM-20948 on an `I2CDevice`. Call `begin()` before `read()`."""

    def __init__(
        self,
        device: I2CDevice,
        *,
        accel_range_g: int = 4,
        gyro_range_dps: int = 500,
        rate_hz: float = 400.0,
        mag_rate_hz: int = 100,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if accel_range_g not in ACCEL_RANGES_G:
            raise ValueError(f"accelerometer range must be one of {list(ACCEL_RANGES_G)} g, "
                             f"got {accel_range_g}")
        if gyro_range_dps not in GYRO_RANGES_DPS:
            raise ValueError(f"gyroscope range must be one of {list(GYRO_RANGES_DPS)} dps, "
                             f"got {gyro_range_dps}")
        if mag_rate_hz not in MAG_MODES:
            raise ValueError(f"magnetometer rate must be one of {list(MAG_MODES)} Hz, "
                             f"got {mag_rate_hz}")
        self.device = device
        self.accel_range_g = accel_range_g
        self.gyro_range_dps = gyro_range_dps
        self.dividers = sample_dividers(rate_hz)
        self.mag_rate_hz = mag_rate_hz
        self._clock = clock
        self._sleep = sleep
        self._bank: int | None = None
        self.accel_scale = accel_range_g * STANDARD_GRAVITY / 32768.0  # m/s^2 per LSB
        self.gyro_scale = np.radians(1.0 / GYRO_LSB_PER_DPS[gyro_range_dps])  # rad/s per LSB

    @property
    def name(self) -> str:
        return self.device.name

    # --- registers --------------------------------------------------------------------
    def select_bank(self, bank: int) -> None:
        if bank != self._bank:
            self.device.write_u8(REG_BANK_SEL, bank << 4)
            self._bank = bank

    def read_register(self, bank: int, register: int) -> int:
        self.select_bank(bank)
        return self.device.read_u8(register)

    def write_register(self, bank: int, register: int, value: int) -> None:
        self.select_bank(bank)
        self.device.write_u8(register, value)

    # --- start-up -----------------------------------------------------------------------
    def begin(self) -> None:
        """Identify, reset, wake and configure the chip and its magnetometer."""
        self._bank = None  # unknown until written: the chip may have been used before
        self.check_identity()
        self.reset()
        self.wake()
        self.configure_inertial()
        self.start_magnetometer()

    def check_identity(self) -> None:
        found = self.read_register(0, WHO_AM_I)
        if found != ICM20948_ID:
            raise Icm20948Error(
                f"{self.device.where(WHO_AM_I)}: WHO_AM_I is 0x{found:02x}, expected "
                f"0x{ICM20948_ID:02x} (ICM-20948); another chip answers at this address"
            )

    def reset(self) -> None:
        self.write_register(0, PWR_MGMT_1, DEVICE_RESET)
        self._bank = 0  # a reset selects bank 0
        for _ in range(10):
            self._sleep(0.01)
            if not self.read_register(0, PWR_MGMT_1) & DEVICE_RESET:
                return
        raise Icm20948Error(
            f"{self.device.where(PWR_MGMT_1)}: DEVICE_RESET did not clear within 0.1 s; "
            "power-cycle the box, and replace the sensor if it persists"
        )

    def wake(self) -> None:
        self.write_register(0, PWR_MGMT_1, CLKSEL_AUTO)  # SLEEP off, best clock
        self._sleep(0.001)
        if self.read_register(0, PWR_MGMT_1) & SLEEP:
            raise Icm20948Error(
                f"{self.device.where(PWR_MGMT_1)}: the SLEEP bit stays set after wake-up; "
                "check the sensor's supply, and replace the sensor if it persists"
            )
        self.write_register(0, PWR_MGMT_2, 0x00)  # every accelerometer and gyroscope axis on

    def configure_inertial(self) -> None:
        gyro_div, accel_div = self.dividers
        gyro_config = DLPF_CFG << 3 | GYRO_RANGES_DPS[self.gyro_range_dps] << 1 | FCHOICE
        accel_config = DLPF_CFG << 3 | ACCEL_RANGES_G[self.accel_range_g] << 1 | FCHOICE
        writes = [
            (GYRO_SMPLRT_DIV, gyro_div),
            (GYRO_CONFIG_1, gyro_config),
            (ACCEL_SMPLRT_DIV_1, accel_div >> 8),
            (ACCEL_SMPLRT_DIV_2, accel_div & 0xFF),
            (ACCEL_CONFIG, accel_config),
        ]
        for register, value in writes:
            self.write_register(2, register, value)
        for register, value in writes:
            found = self.read_register(2, register)
            if found != value:
                raise Icm20948Error(
                    f"{self.device.where(register)} (bank 2): wrote 0x{value:02x}, read back "
                    f"0x{found:02x}; the configuration did not take"
                )

    def start_magnetometer(self) -> None:
        """Enable the internal master, check and start the AK09916, fetch it with slave 0."""
        user_ctrl = self.read_register(0, USER_CTRL)
        self.write_register(0, USER_CTRL, user_ctrl | I2C_MST_EN | I2C_MST_RST)
        self.write_register(3, I2C_MST_CTRL, I2C_MST_CLK_345KHZ)
        found = self.mag_read(WIA2)
        if found != AK09916_ID:
            raise Icm20948Error(
                f"{self.name}: magnetometer identity (AK09916 WIA2) is 0x{found:02x}, "
                f"expected 0x{AK09916_ID:02x}; the board may carry another magnetometer"
            )
        self.mag_write(CNTL3, 0x01)  # soft reset
        self._sleep(0.001)
        self.mag_write(CNTL2, MAG_MODES[self.mag_rate_hz])
        self.write_register(3, I2C_SLV0_ADDR, SLV_READ | AK09916_ADDRESS)
        self.write_register(3, I2C_SLV0_REG, ST1)
        self.write_register(3, I2C_SLV0_CTRL, SLV_EN | MAG_BURST)
        self.select_bank(0)  # where the samples are
        for _ in range(20):  # the first measurement takes one magnetometer period
            if self.read().mag_fresh:
                return
            self._sleep(0.005)
        raise Icm20948Error(
            f"{self.name}: the magnetometer gave no measurement within 0.1 s of starting; "
            "power-cycle the box, and replace the sensor if it persists"
        )

    # --- magnetometer through slave 4 ------------------------------------------------------
    def mag_read(self, register: int) -> int:
        self._slave4(SLV_READ | AK09916_ADDRESS, register, None)
        return self.read_register(3, I2C_SLV4_DI)

    def mag_write(self, register: int, value: int) -> None:
        self._slave4(AK09916_ADDRESS, register, value)

    def _slave4(self, address: int, register: int, value: int | None) -> None:
        self.write_register(3, I2C_SLV4_ADDR, address)
        self.write_register(3, I2C_SLV4_REG, register)
        if value is not None:
            self.write_register(3, I2C_SLV4_DO, value)
        self.write_register(3, I2C_SLV4_CTRL, SLV_EN)
        for _ in range(20):
            status = self.read_register(0, I2C_MST_STATUS)  # reading clears it
            if status & SLV4_NACK:
                raise Icm20948Error(
                    f"{self.name}: the magnetometer (AK09916 at 0x{AK09916_ADDRESS:02x} on "
                    f"the IMU's internal bus) did not acknowledge register 0x{register:02x}; "
                    "the sensor board is damaged or not an ICM-20948 module"
                )
            if status & SLV4_DONE:
                return
            self._sleep(0.002)
        raise Icm20948Error(
            f"{self.name}: the internal I2C master did not finish a magnetometer transfer "
            f"(register 0x{register:02x}) within 40 ms; is the chip asleep?"
        )

    # --- samples ----------------------------------------------------------------------------
    def read(self) -> Reading:
        """The latest accelerometer, gyroscope, temperature and magnetometer sample."""
        self.select_bank(0)
        data = self.device.read_block(ACCEL_XOUT_H, BURST_LENGTH)
        t = self._clock()
        return self.convert(data, t)

    def convert(self, data: bytes, t: float) -> Reading:
        """A `Reading` from the 23 bytes starting at ACCEL_XOUT_H."""
        raw = struct.unpack(">7h", data[:14])
        st1, st2 = data[14], data[22]
        hx, hy, hz = struct.unpack("<3h", data[15:21])
        accel = np.array(raw[0:3], dtype=np.float64) * self.accel_scale
        gyro = np.array(raw[3:6], dtype=np.float64) * self.gyro_scale
        temperature = raw[6] / TEMP_LSB_PER_DEGC + TEMP_OFFSET_DEGC
        overflow = bool(st2 & ST2_HOFL)
        mag = None
        if not overflow:
            # AK09916 Y and Z point opposite to the accelerometer's
            mag = np.array([hx, -hy, -hz], dtype=np.float64) * MAG_TESLA_PER_LSB
        return Reading(t=t, accel=accel, gyro=gyro, mag=mag, mag_fresh=bool(st1 & ST1_DRDY),
                       mag_overflow=overflow, temperature_c=temperature)
