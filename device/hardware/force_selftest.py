"""Self-test of the force cells: identity, a few samples per finger, calibration state."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from device.hardware.check import Check
from device.hardware.i2c import I2CBus, I2CDeviceError, I2CError, open_bus
from device.hardware.nau7802 import ForceCellError


def _force_fix(error: Exception, channel: int, config: Mapping[str, Mapping[str, Any]]) -> str:
    """What a technician should check for one force cell's failure."""
    if isinstance(error, I2CDeviceError):
        return (f"nothing answers at 0x{config['force']['address']:02x} on multiplexer channel "
                f"{channel}: check the cable from that channel to the cell's NAU7802 board "
                "(SDA, SCL, 3.3 V, GND), and force.channels and force.address (a NAU7802 "
                "is always at 0x2a)")
    return ""  # ForceCellError messages carry their own fix


def selftest_force(config: Mapping[str, Mapping[str, Any]], bus: I2CBus | None) -> list[Check]:
    """Probe the five force cells: identity, start-up, a few conversions each, calibration.

    `bus` is the shared I2C bus (None: open the configured one). With the simulated twin
    configured, one line says so.
    """
    from device.hardware.force import NOMINAL_NEWTONS_PER_COUNT, resolve_source
    from device.hardware.nau7802 import LDO_SETTLE_S, NAU7802, is_saturated
    from device.protocol import FINGER_NAMES

    force = config["force"]
    if resolve_source(config) == "sim":
        return [Check("force cells", True, "simulated (force.source or box.simulate)")]
    if bus is None:
        i2c = config["i2c"]
        try:
            bus = I2CBus(open_bus(i2c["bus"]), mux_address=i2c["mux_address"],
                         retries=i2c["retries"])
        except I2CError as error:
            return [Check("force cells", False, str(error),
                          "enable I2C: sudo raspi-config nonint do_i2c 0, then reboot")]
    mux = _probe_mux(bus)
    if mux is not None:
        return [mux]
    chips, checks = [], []
    for finger, channel in zip(FINGER_NAMES, force["channels"], strict=True):
        name = f"force cell ({finger})"
        chip = NAU7802(bus.device(name, force["address"], channel))
        try:
            chip.prepare(rate_sps=force["rate_sps"])
        except (I2CDeviceError, ForceCellError) as error:
            checks.append(Check(name, False, str(error), _force_fix(error, channel, config)))
            continue
        chips.append((name, channel, chip))
    if chips:
        time.sleep(LDO_SETTLE_S)
    for name, channel, chip in chips:
        try:
            chip.calibrate_offset()
            readings = [chip.wait_counts(10.0 / force["rate_sps"] + 0.1) for _ in range(8)]
        except (I2CDeviceError, ForceCellError) as error:
            checks.append(Check(name, False, str(error), _force_fix(error, channel, config)))
            continue
        where = f"NAU7802 at 0x{force['address']:02x} on channel {channel}"
        if any(is_saturated(r) for r in readings):
            checks.append(Check(
                name, False, f"{where} reads full scale ({readings[-1]} counts)",
                "check the four load-cell wires (E+, E-, A+, A-) on the board's terminals and "
                "that nothing presses on the cell"))
            continue
        spread = (max(readings) - min(readings)) * NOMINAL_NEWTONS_PER_COUNT
        checks.append(Check(name, True, f"{where}: {len(readings)} conversions, mean "
                            f"{sum(readings) / len(readings):.0f} counts, spread about "
                            f"{spread:.2f} N"))
    uncalibrated = [f for f, v in zip(FINGER_NAMES, force["newtons_per_count"], strict=True)
                    if v == 0]
    if uncalibrated:
        checks.append(Check(
            "force calibration", False,
            f"not calibrated: {', '.join(uncalibrated)} (nominal TAL220 sensitivity in use)",
            "calibrate each cell with a known weight (docs/hardware.md, Force cells)"))
    else:
        checks.append(Check("force calibration", True, "all five cells calibrated"))
    return checks


def _probe_mux(bus: I2CBus) -> Check | None:
    """A failing check when the multiplexer itself does not answer, else None."""
    if bus.mux_address is None:
        return None
    try:
        with bus.lock:
            bus.smbus.read_byte(bus.mux_address)
    except OSError as error:
        return Check(
            "force cells", False,
            f"the I2C multiplexer at 0x{bus.mux_address:02x} does not answer ({error})",
            "check the multiplexer board's wiring to the Pi (SDA, SCL, 3.3 V, GND) and "
            "i2c.mux_address")
    return None
