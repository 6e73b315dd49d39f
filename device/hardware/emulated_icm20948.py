"""Register-level emulation of the ICM-20948 and its AK09916, fed by a motion.

The motion is the sensor's orientation as a function of time (a scipy `Rotation` taking
sensor axes to world axes; world x = horizontal magnetic north, y = west, z = up). From it
the emulator derives what the chip would measure: the specific force (gravity only; the
finger's own acceleration is small and left out), the angular rate in sensor axes and the
earth's field in sensor axes, then adds white noise, a constant bias and, for the
gyroscope, a bias that drifts slowly. Samples change at the configured output rates.

Registers live in four banks; a register written or read in a bank where it does not exist
does nothing (reads 0) and is logged in `stray`, so a driver that forgets to switch banks
shows. The AK09916 is reached only through the internal master (slave 0 for the periodic
fetch into EXT_SLV_SENS_DATA, slave 4 for single transfers), as the driver uses it.

Faults: the inherited `faults` (NACK, absent, stuck bits), `identity` (WHO_AM_I), and on
`magnetometer`: `identity` (WIA2), `absent` (no acknowledge on the internal bus) and
`overflow` (HOFL set in ST2).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from device.hardware import icm20948 as reg
from device.hardware.emulated_i2c import RegisterDevice

Motion = Callable[[float], Rotation]

#: The earth's field in world axes (north, west, up), tesla: about central Europe,
#: 48 uT with a 66 degree dip.
EARTH_FIELD = np.array([19.5e-6, 0.0, -43.9e-6])
GRAVITY_UP = np.array([0.0, 0.0, reg.STANDARD_GRAVITY])


@dataclass(frozen=True)
class SensorErrors:
    """Error sizes of one emulated sensor (standard deviations, SI units)."""

    accel_noise: float = 0.02  # m/s^2 per sample (about 230 ug/sqrt(Hz) over 50 Hz)
    accel_bias: float = 0.05  # m/s^2
    gyro_noise: float = 0.003  # rad/s per sample
    gyro_bias: float = 0.01  # rad/s (about 0.6 dps)
    gyro_drift: float = 2e-4  # rad/s per minute of running
    mag_noise: float = 0.3e-6  # tesla
    mag_bias: float = 0.5e-6  # tesla left after hard-iron calibration
    temperature_c: float = 31.0


TYPICAL_ERRORS = SensorErrors()
NO_ERRORS = SensorErrors(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def body_rate(motion: Motion, t: float, h: float = 1e-3) -> np.ndarray:
    """Angular rate in sensor axes (rad/s), by a central difference of the orientation."""
    step = motion(t - h).inv() * motion(t + h)
    return step.as_rotvec() / (2 * h)


def _int16(value: float) -> int:
    return int(max(-32768, min(32767, round(value))))


def _be16(value: float) -> list[int]:
    raw = _int16(value) & 0xFFFF
    return [raw >> 8, raw & 0xFF]


def _le16(value: float) -> list[int]:
    raw = _int16(value) & 0xFFFF
    return [raw & 0xFF, raw >> 8]


class EmulatedAk09916:
    """The magnetometer on the ICM-20948's internal bus."""

    def __init__(self, field: Callable[[float], np.ndarray], clock: Callable[[], float]) -> None:
        self._field = field  # tesla, in the magnetometer's own axes
        self._clock = clock
        self.identity = reg.AK09916_ID
        self.absent = False
        self.overflow = False
        self.mode = 0
        self._measured: int | None = None  # measurement number last taken
        self._data = [0] * 7  # HXL..HZH, TMPS
        self._ready = False
        self._overrun = False

    def _measure(self) -> None:
        rate = {v: k for k, v in reg.MAG_MODES.items()}.get(self.mode)
        if rate is None:
            return
        number = math.floor(self._clock() * rate)
        if number == self._measured:
            return
        skipped = self._measured is not None and number > self._measured + 1
        self._overrun = self._ready and skipped
        self._measured = number
        counts = self._field(number / rate) / reg.MAG_TESLA_PER_LSB
        self._data = [*_le16(counts[0]), *_le16(counts[1]), *_le16(counts[2]), 0]
        self._ready = True

    def read(self, register: int) -> int:
        if self.absent:
            raise OSError("no acknowledge")
        self._measure()
        if register == 0x00:
            return 0x48
        if register == reg.WIA2:
            return self.identity
        if register == reg.ST1:
            return (reg.ST1_DRDY if self._ready else 0) | (0x02 if self._overrun else 0)
        if reg.ST1 < register <= reg.ST1 + 7:
            return self._data[register - reg.ST1 - 1]
        if register == reg.ST1 + 8:  # ST2: ends the measurement
            self._ready = self._overrun = False
            return reg.ST2_HOFL if self.overflow else 0
        if register == reg.CNTL2:
            return self.mode
        return 0

    def write(self, register: int, value: int) -> None:
        if self.absent:
            raise OSError("no acknowledge")
        if register == reg.CNTL2:
            self.mode = value & 0x1F
        elif register == reg.CNTL3 and value & 0x01:
            self.mode = 0
            self._ready = self._overrun = False
            self._data = [0] * 7


# Registers that exist, per bank (the emulator stores these; anything else is stray).
_BANK_REGISTERS = {
    0: {reg.WHO_AM_I, reg.USER_CTRL, reg.PWR_MGMT_1, reg.PWR_MGMT_2, 0x0F, reg.I2C_MST_STATUS,
        *range(reg.ACCEL_XOUT_H, reg.EXT_SLV_SENS_DATA_00 + 24)},
    1: set(),
    2: {reg.GYRO_SMPLRT_DIV, reg.GYRO_CONFIG_1, reg.ACCEL_SMPLRT_DIV_1, reg.ACCEL_SMPLRT_DIV_2,
        reg.ACCEL_CONFIG},
    3: {0x00, reg.I2C_MST_CTRL, 0x02, *range(reg.I2C_SLV0_ADDR, reg.I2C_SLV4_DI + 1)},
}
_RESET_VALUES = {
    (0, reg.WHO_AM_I): reg.ICM20948_ID,
    (0, reg.PWR_MGMT_1): 0x41,  # asleep, auto clock
    (2, reg.GYRO_CONFIG_1): 0x01,
}


class EmulatedIcm20948(RegisterDevice):
    """An ICM-20948 whose readings follow `motion`, with the errors in `errors`."""

    def __init__(
        self,
        motion: Motion,
        *,
        errors: SensorErrors = TYPICAL_ERRORS,
        seed: int = 0,
        field: np.ndarray = EARTH_FIELD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.motion = motion
        self.errors = errors
        self.earth_field = np.asarray(field, dtype=np.float64)
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self.accel_bias = self._rng.normal(0.0, errors.accel_bias, 3)
        self.gyro_bias = self._rng.normal(0.0, errors.gyro_bias, 3)
        self.gyro_drift = self._rng.normal(0.0, errors.gyro_drift / 60.0, 3)  # per second
        self.mag_bias = self._rng.normal(0.0, errors.mag_bias, 3)
        self.identity = reg.ICM20948_ID
        self.magnetometer = EmulatedAk09916(self._mag_field, clock)
        self.stray: list[tuple[str, int, int]] = []  # ("read" | "write", bank, register)
        self._power_on()

    # --- physics -----------------------------------------------------------------------
    def _mag_field(self, t: float) -> np.ndarray:
        """Field in the AK09916's axes (Y and Z opposite to the accelerometer's), tesla."""
        field = self.motion(t).inv().apply(self.earth_field) + self.mag_bias
        field = field + self._rng.normal(0.0, self.errors.mag_noise, 3)
        return field * np.array([1.0, -1.0, -1.0])

    def _inertial_registers(self, t: float) -> list[int]:
        accel_lsb_per_ms2 = 32768.0 / (self.accel_range_g * reg.STANDARD_GRAVITY)
        gyro_lsb_per_rads = reg.GYRO_LSB_PER_DPS[self.gyro_range_dps] * 180.0 / math.pi
        orientation = self.motion(t)
        accel = orientation.inv().apply(GRAVITY_UP) + self.accel_bias
        accel = accel + self._rng.normal(0.0, self.errors.accel_noise, 3)
        gyro = body_rate(self.motion, t) + self.gyro_bias + self.gyro_drift * t
        gyro = gyro + self._rng.normal(0.0, self.errors.gyro_noise, 3)
        temperature = (self.errors.temperature_c - reg.TEMP_OFFSET_DEGC) * reg.TEMP_LSB_PER_DEGC
        out: list[int] = []
        for value in (*accel * accel_lsb_per_ms2, *gyro * gyro_lsb_per_rads, temperature):
            out += _be16(value)
        return out

    # --- configuration as the registers hold it ---------------------------------------
    @property
    def accel_range_g(self) -> int:
        code = self.banks[2][reg.ACCEL_CONFIG] >> 1 & 0x03
        return next(g for g, c in reg.ACCEL_RANGES_G.items() if c == code)

    @property
    def gyro_range_dps(self) -> int:
        code = self.banks[2][reg.GYRO_CONFIG_1] >> 1 & 0x03
        return next(d for d, c in reg.GYRO_RANGES_DPS.items() if c == code)

    @property
    def gyro_rate_hz(self) -> float:
        return reg.GYRO_BASE_RATE_HZ / (1 + self.banks[2][reg.GYRO_SMPLRT_DIV])

    @property
    def asleep(self) -> bool:
        return bool(self.banks[0][reg.PWR_MGMT_1] & reg.SLEEP)

    @property
    def bank(self) -> int:
        return self.banks[0][reg.REG_BANK_SEL] >> 4 & 0x03

    def _power_on(self) -> None:
        self.banks = {b: dict.fromkeys(regs, 0) for b, regs in _BANK_REGISTERS.items()}
        for (b, register), value in _RESET_VALUES.items():
            self.banks[b][register] = value
        self.banks[0][reg.REG_BANK_SEL] = 0
        self._sample_number: int | None = None

    # --- sampling -----------------------------------------------------------------------
    def _update(self) -> None:
        """Latch a new sample and run the internal master if an output period has passed."""
        if self.asleep:
            return
        now = self._clock()
        rate = self.gyro_rate_hz
        number = math.floor(now * rate)
        if number == self._sample_number:
            return
        self._sample_number = number
        data = self._inertial_registers(number / rate)
        bank0 = self.banks[0]
        for i, value in enumerate(data):
            bank0[reg.ACCEL_XOUT_H + i] = value
        if bank0[reg.USER_CTRL] & reg.I2C_MST_EN:
            self._fetch_slave0()

    def _fetch_slave0(self) -> None:
        bank3 = self.banks[3]
        control = bank3[reg.I2C_SLV0_CTRL]
        if not control & reg.SLV_EN or not bank3[reg.I2C_SLV0_ADDR] & reg.SLV_READ:
            return
        if bank3[reg.I2C_SLV0_ADDR] & 0x7F != reg.AK09916_ADDRESS:
            return
        start = bank3[reg.I2C_SLV0_REG]
        try:
            data = [self.magnetometer.read(start + i) for i in range(control & 0x0F)]
        except OSError:
            self.banks[0][reg.I2C_MST_STATUS] |= 0x01  # I2C_SLV0_NACK
            return
        for i, value in enumerate(data):
            self.banks[0][reg.EXT_SLV_SENS_DATA_00 + i] = value

    def _run_slave4(self) -> None:
        bank3 = self.banks[3]
        bank3[reg.I2C_SLV4_CTRL] &= ~reg.SLV_EN & 0xFF
        if self.asleep or not self.banks[0][reg.USER_CTRL] & reg.I2C_MST_EN:
            return  # the master is not running: the transfer never completes
        address = bank3[reg.I2C_SLV4_ADDR]
        try:
            if address & 0x7F != reg.AK09916_ADDRESS:
                raise OSError("nothing at that address")
            if address & reg.SLV_READ:
                bank3[reg.I2C_SLV4_DI] = self.magnetometer.read(bank3[reg.I2C_SLV4_REG])
            else:
                self.magnetometer.write(bank3[reg.I2C_SLV4_REG], bank3[reg.I2C_SLV4_DO])
            self.banks[0][reg.I2C_MST_STATUS] |= reg.SLV4_DONE
        except OSError:
            self.banks[0][reg.I2C_MST_STATUS] |= reg.SLV4_DONE | reg.SLV4_NACK

    # --- RegisterDevice ------------------------------------------------------------------
    def read_register(self, register: int) -> int:
        self._update()
        return self._read(register)

    def read_block(self, register: int, length: int) -> list[int]:
        self._update()  # one latch for the whole burst, as the chip's shadow registers do
        return [self._read(register + i) for i in range(length)]

    def _read(self, register: int) -> int:
        bank = self.bank
        if register == reg.REG_BANK_SEL:
            return self.banks[0][reg.REG_BANK_SEL]
        if register not in self.banks[bank]:
            self.stray.append(("read", bank, register))
            return 0
        if bank == 0 and register == reg.WHO_AM_I:
            return self.identity
        value = self.banks[bank][register]
        if bank == 0 and register == reg.I2C_MST_STATUS:
            self.banks[0][register] = 0  # cleared by reading
        return value

    def write_register(self, register: int, value: int) -> None:
        bank = self.bank
        if register == reg.REG_BANK_SEL:
            self.banks[0][reg.REG_BANK_SEL] = value & 0x30
            return
        if register not in self.banks[bank] or (bank == 0 and register >= reg.I2C_MST_STATUS):
            self.stray.append(("write", bank, register))
            return
        if bank == 0 and register == reg.PWR_MGMT_1 and value & reg.DEVICE_RESET:
            self._power_on()
            return
        if bank == 0 and register == reg.USER_CTRL:
            value &= ~reg.I2C_MST_RST & 0xFF  # the master reset bit clears itself
        self.banks[bank][register] = value
        if bank == 3 and register == reg.I2C_SLV4_CTRL and value & reg.SLV_EN:
            self._run_slave4()
