"""Register-level driver of the Nuvoton NAU7802 24-bit bridge ADC (one per finger's load cell).

The start-up follows the datasheet's power-on sequencing as the SparkFun Qwiic Scale library
does it: register reset, power up digital and analog parts and wait for PUR, cycle start,
internal LDO and PGA gain, conversion rate, clock chopper off, PGA output capacitor on,
let the LDO settle, then the internal offset calibration. FACTS.md lists the registers.

Bus failures surface as `I2CDeviceError` from the I2C layer; everything the chip itself
does wrong (wrong identity, no power-up, no conversions, failed calibration, a register
that does not keep what was written) raises `ForceCellError`, naming the finger's cell,
its address and multiplexer channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from device.hardware.i2c import I2CDevice

ADDRESS = 0x2A

# Registers
PU_CTRL = 0x00
CTRL1 = 0x01
CTRL2 = 0x02
OCAL1_B2 = 0x03
ADCO_B2 = 0x12
ADC_CTRL = 0x15
PGA = 0x1B
POWER = 0x1C
REVISION_ID = 0x1F

# PU_CTRL bits
RR = 1 << 0  # register reset
PUD = 1 << 1  # power up digital
PUA = 1 << 2  # power up analog
PUR = 1 << 3  # power up ready (read only)
CS = 1 << 4  # cycle start
CR = 1 << 5  # conversion ready (read only)
AVDDS = 1 << 7  # AVDD from the internal LDO

# CTRL1 fields
GAIN_MASK = 0b0000_0111
LDO_MASK = 0b0011_1000

# CTRL2 fields
CALMOD_MASK = 0b0000_0011
CALMOD_INTERNAL_OFFSET = 0b00
CALS = 1 << 2  # start calibration, clears itself when done
CAL_ERR = 1 << 3
RATE_MASK = 0b0111_0000

# POWER bits
PGA_CAP_EN = 1 << 7  # 330 pF decoupling of the PGA output (datasheet application note)

#: ADC register value with the clock chopper off (datasheet 9.1, as the SparkFun library sets).
ADC_CHOPPER_OFF = 0x30

#: Low nibble of REVISION_ID on every NAU7802.
REVISION = 0x0F

GAINS = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7}
LDO_VOLTS = {4.5: 0b000, 4.2: 0b001, 3.9: 0b010, 3.6: 0b011,
             3.3: 0b100, 3.0: 0b101, 2.7: 0b110, 2.4: 0b111}
RATES_SPS = {10: 0b000, 20: 0b001, 40: 0b010, 80: 0b011, 320: 0b111}

FULL_SCALE_POSITIVE = (1 << 23) - 1
FULL_SCALE_NEGATIVE = -(1 << 23)

#: Time the internal LDO takes to ramp before a calibration is meaningful (SparkFun: 200 ms).
LDO_SETTLE_S = 0.2

#: Standard gravity, for calibration with a known mass (m/s^2).
STANDARD_GRAVITY = 9.80665


class ForceCellError(OSError):
    """A force cell's ADC answers on the bus but does not behave; the message says which."""


def bridge_counts_per_newton(
    capacity_kg: float = 10.0, rated_output_mv_per_v: float = 1.0, gain: int = 128
) -> float:
    """Nominal ADC counts per newton of a load cell read ratiometrically by the NAU7802.

    With the bridge excited from the same AVDD that is the ADC's reference, full scale of
    the 24-bit output (2^23 counts) is 0.5 * AVDD / gain, and the cell gives
    rated_output * AVDD at capacity, so the supply voltage cancels. A 10 kg, 1 mV/V TAL220
    at gain 128 gives about 21 900 counts per newton.
    """
    capacity_n = capacity_kg * STANDARD_GRAVITY
    return rated_output_mv_per_v * 1e-3 * gain * (1 << 23) / (0.5 * capacity_n)


def to_signed24(data: bytes) -> int:
    """Three bytes, most significant first, as a 24-bit two's-complement number."""
    if len(data) != 3:
        raise ValueError(f"a 24-bit conversion is 3 bytes, got {len(data)}")
    value = data[0] << 16 | data[1] << 8 | data[2]
    return value - (1 << 24) if value & 0x80_0000 else value


def is_saturated(counts: int) -> bool:
    """The ADC clips at its full-scale codes; a reading there means the input is out of range."""
    return counts >= FULL_SCALE_POSITIVE or counts <= FULL_SCALE_NEGATIVE


class NAU7802:
    """One NAU7802 on the bus, read for one finger's load cell."""

    def __init__(
        self,
        device: I2CDevice,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self._sleep = sleep
        self._clock = clock
        self.rate_sps = 10  # the chip's rate after a reset

    def error(self, problem: str, fix: str = "") -> ForceCellError:
        text = f"{self.device.where()}: {problem}"
        return ForceCellError(f"{text}; {fix}" if fix else text)

    # --- identity and start-up ------------------------------------------------------------
    def revision(self) -> int:
        return self.device.read_u8(REVISION_ID) & 0x0F

    def check_identity(self) -> None:
        found = self.revision()
        if found != REVISION:
            raise self.error(
                f"revision register reads 0x{found:x}, a NAU7802 reads 0x{REVISION:x}",
                "another device answers at this address and channel: check force.channels "
                "and force.address",
            )

    def reset(self) -> None:
        """All registers to their power-on values (RR set, then cleared)."""
        self.device.write_u8(PU_CTRL, RR)
        self._sleep(0.001)
        self.device.write_u8(PU_CTRL, 0)
        self.rate_sps = 10

    def power_up(self, timeout_s: float = 0.2) -> None:
        """Power up digital and analog parts, wait for PUR, start conversions."""
        self.device.update_bits(PU_CTRL, PUD | PUA, PUD | PUA)
        self._wait_for(PU_CTRL, PUR, PUR, timeout_s,
                       "did not power up (PUR stayed 0)",
                       "check the board's 3.3 V supply and ground")
        self.device.update_bits(PU_CTRL, CS, CS)

    def configure(self, *, gain: int = 128, ldo_volts: float = 3.3, rate_sps: int = 320) -> None:
        """Internal LDO, PGA gain, conversion rate; chopper off and PGA capacitor on."""
        if gain not in GAINS:
            raise ValueError(f"NAU7802 gain must be one of {sorted(GAINS)}, not {gain}")
        if ldo_volts not in LDO_VOLTS:
            raise ValueError(f"NAU7802 LDO voltage must be one of {sorted(LDO_VOLTS)} V, "
                             f"not {ldo_volts}")
        if rate_sps not in RATES_SPS:
            raise ValueError(f"NAU7802 rate must be one of {sorted(RATES_SPS)} samples per "
                             f"second, not {rate_sps}")
        ctrl1 = LDO_VOLTS[ldo_volts] << 3 | GAINS[gain]
        self._write_checked(CTRL1, LDO_MASK | GAIN_MASK, ctrl1)
        self.device.update_bits(PU_CTRL, AVDDS, AVDDS)
        self._write_checked(CTRL2, RATE_MASK, RATES_SPS[rate_sps] << 4)
        self.device.write_u8(ADC_CTRL, ADC_CHOPPER_OFF)
        self.device.update_bits(POWER, PGA_CAP_EN, PGA_CAP_EN)
        self.rate_sps = rate_sps

    def calibrate_offset(self, timeout_s: float = 1.0) -> None:
        """Internal offset calibration (CALMOD 00, CALS); the chip clears CALS when done."""
        self.device.update_bits(CTRL2, CALMOD_MASK | CALS, CALMOD_INTERNAL_OFFSET | CALS)
        self._wait_for(CTRL2, CALS, 0, timeout_s,
                       "internal calibration did not finish (CALS stayed 1)",
                       "power-cycle the box; if it persists, replace the NAU7802 board")
        if self.device.read_u8(CTRL2) & CAL_ERR:
            raise self.error("internal offset calibration failed (CAL_ERR set)",
                             "power-cycle the box; if it persists, replace the NAU7802 board")

    def prepare(self, *, gain: int = 128, ldo_volts: float = 3.3, rate_sps: int = 320) -> None:
        """Identity, reset, power-up and configuration; the LDO then needs LDO_SETTLE_S before
        `calibrate_offset` (several cells can settle together)."""
        self.check_identity()
        self.reset()
        self.power_up()
        self.configure(gain=gain, ldo_volts=ldo_volts, rate_sps=rate_sps)

    # --- conversions ----------------------------------------------------------------------
    def ready(self) -> bool:
        return bool(self.device.read_u8(PU_CTRL) & CR)

    def read_counts(self) -> int:
        """The latest conversion, 24-bit two's complement (reading it clears CR)."""
        return to_signed24(self.device.read_block(ADCO_B2, 3))

    def wait_counts(self, timeout_s: float, poll_s: float = 0.0002) -> int:
        """The next conversion, polling CR; ForceCellError when none comes in time."""
        deadline = self._clock() + timeout_s
        while not self.ready():
            if self._clock() > deadline:
                raise self.error(
                    f"no conversion within {timeout_s:g} s (CR stayed 0)",
                    "power-cycle the box; if it persists, replace the NAU7802 board",
                )
            self._sleep(poll_s)
        return self.read_counts()

    # --- helpers ----------------------------------------------------------------------------
    def _write_checked(self, register: int, mask: int, value: int) -> None:
        """Read-modify-write, then read back: a bit that does not stick is a fault."""
        self.device.update_bits(register, mask, value)
        found = self.device.read_u8(register) & mask
        if found != value & mask:
            raise self.error(
                f"register 0x{register:02x} reads 0x{found:02x} in mask 0x{mask:02x} after "
                f"writing 0x{value & mask:02x} (a stuck bit)",
                "check the cable; if it persists, replace the NAU7802 board",
            )

    def _wait_for(
        self, register: int, mask: int, want: int, timeout_s: float, problem: str, fix: str
    ) -> None:
        deadline = self._clock() + timeout_s
        while self.device.read_u8(register) & mask != want:
            if self._clock() > deadline:
                raise self.error(f"{problem} after {timeout_s:g} s", fix)
            self._sleep(0.0005)
