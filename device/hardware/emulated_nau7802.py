"""Register-level emulation of the NAU7802 behind `EmulatedBus`, for tests and benches.

The model keeps the register map, the power-up sequence (PUR some time after PUD and PUA),
conversions at the rate in CTRL2 on the `time.monotonic` clock with CR set when one is
waiting, the internal offset calibration (CALS runs for a few conversion periods, then
clears; the analog front end's own offset is removed), and a 24-bit output clipped at
full scale. A conversion is the injected force `force_n(t)` times `counts_per_newton`
(scaled by the PGA gain against 128), plus the bridge's imbalance, the front end's offset
until it is calibrated, white noise and a slow drift.

Faults beyond the bus ones in `Faults`: `revision` (another chip), `saturated` (output
pinned at full scale, as with a loose bridge wire), `cal_error` (CAL_ERR after a
calibration). Only the internal offset calibration (CALMOD 00) is modelled; other modes
end with CAL_ERR.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

from device.hardware import nau7802 as reg
from device.hardware.emulated_i2c import EmulatedBus, RegisterDevice

#: Conversion periods an internal offset calibration takes (approx.).
CAL_PERIODS = 4

_RATE_CODES = {code: sps for sps, code in reg.RATES_SPS.items()}
_GAIN_CODES = {code: gain for gain, code in reg.GAINS.items()}


class EmulatedNAU7802(RegisterDevice):
    """One NAU7802 with a load cell under an injected force."""

    def __init__(
        self,
        force_n: Callable[[float], float] = lambda t: 0.0,
        *,
        counts_per_newton: float = reg.bridge_counts_per_newton(),
        bridge_offset_counts: float = 0.0,
        afe_offset_counts: float = 12_000.0,
        noise_counts: float = 0.0,
        drift_counts_per_s: float = 0.0,
        power_up_s: float = 0.0002,
        clock_error: float = 0.0,
        revision: int = 0x0F,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.force_n = force_n
        self.counts_per_newton = counts_per_newton
        self.bridge_offset_counts = bridge_offset_counts
        self.afe_offset_counts = afe_offset_counts
        self.noise_counts = noise_counts
        self.drift_counts_per_s = drift_counts_per_s
        self.power_up_s = power_up_s
        self.clock_error = clock_error  # relative error of the chip's oscillator
        self.revision = revision
        self.saturated = False
        self.cal_error = False
        self._rng = random.Random(seed)
        self._clock = clock
        self._born = clock()
        self._reset_registers()

    # --- state ------------------------------------------------------------------------
    def _reset_registers(self) -> None:
        self.registers = [0] * 0x20
        self.registers[0x06] = 0x80  # GCAL1 = 0x00800000 (gain 1.0)
        self._powered_at: float | None = None
        self._cycle_at: float | None = None  # conversions counted from here
        self._read_index = -1  # last conversion handed out
        self._latched = [0, 0, 0]
        self._cal_until: float | None = None
        self._offset_calibrated = False

    @property
    def rate_sps(self) -> int:
        return _RATE_CODES.get(self.registers[reg.CTRL2] >> 4 & 0b111, 320)

    @property
    def gain(self) -> int:
        return _GAIN_CODES[self.registers[reg.CTRL1] & reg.GAIN_MASK]

    def _period(self) -> float:
        return 1.0 / (self.rate_sps * (1.0 + self.clock_error))

    def _powered(self, now: float) -> bool:
        return self._powered_at is not None and now - self._powered_at >= self.power_up_s

    def _latest_index(self, now: float) -> int:
        """Index of the newest finished conversion, -1 when none has finished."""
        if self._cycle_at is None or not self._powered(now) or self._calibrating(now):
            return -1
        return math.floor((now - self._cycle_at) / self._period()) - 1

    def _calibrating(self, now: float) -> bool:
        if self._cal_until is None:
            return False
        if now < self._cal_until:
            return True
        self._finish_calibration()
        return False

    def _finish_calibration(self) -> None:
        self._cal_until = None
        ctrl2 = self.registers[reg.CTRL2] & ~reg.CALS
        if self.cal_error or ctrl2 & reg.CALMOD_MASK != reg.CALMOD_INTERNAL_OFFSET:
            ctrl2 |= reg.CAL_ERR
        else:
            ctrl2 &= ~reg.CAL_ERR
            self._offset_calibrated = True
            offset = round(self.afe_offset_counts) & 0xFF_FFFF
            self.registers[reg.OCAL1_B2:reg.OCAL1_B2 + 3] = list(offset.to_bytes(3, "big"))
        self.registers[reg.CTRL2] = ctrl2
        self._cycle_at = self._clock()  # conversions restart after a calibration
        self._read_index = -1

    def conversion(self, t: float) -> int:
        """The 24-bit output for a conversion finishing at `t`."""
        if self.saturated:
            return reg.FULL_SCALE_POSITIVE
        value = self.force_n(t) * self.counts_per_newton * self.gain / 128
        value += self.bridge_offset_counts + self.drift_counts_per_s * (t - self._born)
        if not self._offset_calibrated:
            value += self.afe_offset_counts
        if self.noise_counts:
            value += self._rng.gauss(0.0, self.noise_counts)
        return max(reg.FULL_SCALE_NEGATIVE, min(reg.FULL_SCALE_POSITIVE, round(value)))

    # --- registers ----------------------------------------------------------------------
    def read_register(self, register: int) -> int:
        now = self._clock()
        if register == reg.PU_CTRL:
            value = self.registers[reg.PU_CTRL]
            if self._powered(now):
                value |= reg.PUR
            if self._latest_index(now) > self._read_index:
                value |= reg.CR
            return value
        if register == reg.CTRL2:
            self._calibrating(now)
            return self.registers[reg.CTRL2]
        if register == reg.ADCO_B2:
            self._latch(now)
            return self._latched[0]
        if register in (reg.ADCO_B2 + 1, reg.ADCO_B2 + 2):
            return self._latched[register - reg.ADCO_B2]
        if register == reg.REVISION_ID:
            return 0xF0 | self.revision & 0x0F
        if register < len(self.registers):
            return self.registers[register]
        raise OSError(5, f"register 0x{register:02x} does not exist")

    def _latch(self, now: float) -> None:
        """Reading ADCO_B2 takes the newest conversion and clears CR."""
        index = self._latest_index(now)
        if index < 0 or self._cycle_at is None:
            self._latched = [0, 0, 0]
            return
        finished = self._cycle_at + (index + 1) * self._period()
        counts = self.conversion(finished) & 0xFF_FFFF
        self._latched = list(counts.to_bytes(3, "big"))
        self._read_index = index

    def write_register(self, register: int, value: int) -> None:
        now = self._clock()
        if register == reg.PU_CTRL:
            self._write_pu_ctrl(value, now)
        elif register == reg.CTRL2:
            old = self.registers[reg.CTRL2]
            kept = value & ~reg.CAL_ERR | old & reg.CAL_ERR  # CAL_ERR is read only
            self.registers[reg.CTRL2] = kept
            if (old ^ kept) & reg.RATE_MASK:
                self._cycle_at = now if self._cycle_at is not None else None
                self._read_index = -1
            if kept & reg.CALS and not old & reg.CALS:
                self._cal_until = now + CAL_PERIODS * self._period()
        elif register in (reg.ADCO_B2, reg.ADCO_B2 + 1, reg.ADCO_B2 + 2, reg.REVISION_ID):
            return  # read only
        elif register < len(self.registers):
            self.registers[register] = value & 0xFF
            if register == reg.CTRL1:
                self._read_index = -1
        else:
            raise OSError(5, f"register 0x{register:02x} does not exist")

    def _write_pu_ctrl(self, value: int, now: float) -> None:
        if value & reg.RR:
            self._reset_registers()
            self.registers[reg.PU_CTRL] = reg.RR
            return
        old = self.registers[reg.PU_CTRL]
        stored = value & ~(reg.PUR | reg.CR)  # read-only bits
        self.registers[reg.PU_CTRL] = stored
        both = reg.PUD | reg.PUA
        if stored & both == both:
            if old & both != both:
                self._powered_at = now
        else:
            self._powered_at = None
            self._cycle_at = None
        if stored & reg.CS and (not old & reg.CS or self._cycle_at is None):
            self._cycle_at = now if self._powered_at is not None else None
            self._read_index = -1


def build_force_bus(
    forces: Sequence[Callable[[float], float]],
    *,
    channels: Sequence[int] = (0, 1, 2, 3, 4),
    address: int = reg.ADDRESS,
    mux_address: int = 0x70,
    real_time: bool = False,
    seed: int = 0,
    noise_counts: float = 0.0,
    drift_counts_per_s: float = 0.0,
) -> tuple[EmulatedBus, list[EmulatedNAU7802]]:
    """An emulated bus with a multiplexer and one NAU7802 per force signal, as in the box.

    The chips' oscillators differ a little (as real ones do), so their conversions drift
    in phase against each other.
    """
    if len(forces) != len(channels):
        raise ValueError(f"{len(forces)} force signals for {len(channels)} channels")
    bus = EmulatedBus(real_time=real_time)
    bus.attach_mux(mux_address)
    cells = []
    for i, (force, channel) in enumerate(zip(forces, channels, strict=True)):
        cell = EmulatedNAU7802(
            force,
            bridge_offset_counts=1500.0 * (i - 2),
            noise_counts=noise_counts,
            drift_counts_per_s=drift_counts_per_s,
            clock_error=0.002 * (i - 2),
            seed=seed + i,
        )
        bus.attach(address, cell, channel=channel)
        cells.append(cell)
    return bus, cells
