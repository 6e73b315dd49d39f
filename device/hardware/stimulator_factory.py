"""Choosing the stimulator from configuration, and its self-test."""

from __future__ import annotations

import warnings

import numpy as np
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device.config import Config
from device.hardware.check import Check
from device.hardware.simulated_stimulator import SimulatedObserver, SimulatedStimulator
from device.hardware.solenoid_guard import GuardError
from device.hardware.stimulator import Stimulator, StimulatorError, StimulatorPins, TojIO
from device.platform import is_raspberry_pi

SELFTEST_SOA_S = 0.100


def stimulator_source(config: Config, *, on_pi: bool | None = None) -> str:
    """``gpio`` or ``sim``. ``auto`` follows ``[box] simulate``, and with that ``auto`` too,
    means the GPIO on a Raspberry Pi and the simulation elsewhere."""
    source = config["stimulator"]["source"]
    if source != "auto":
        return source
    simulate = config["box"]["simulate"]
    if simulate != "auto":
        return "sim" if simulate == "sim" else "gpio"
    return "gpio" if (is_raspberry_pi() if on_pi is None else on_pi) else "sim"


def open_stimulator(config: Config, *, on_pi: bool | None = None) -> Stimulator:
    """The configured stimulator: the GPIO driver with its guard process, or the simulated twin.

    A GPIO that cannot be used raises ``StimulatorError``; it never falls back to simulation.
    """
    section = config["stimulator"]
    pins = StimulatorPins.from_config(section)
    if stimulator_source(config, on_pi=on_pi) == "sim":
        simulation = config["simulation"]
        observer = SimulatedObserver.for_patient(simulation["patient"], simulation["seed"])
        return SimulatedStimulator(observer, pins, pulse_s=section["pulse_s"],
                                   debounce_s=section["debounce_s"],
                                   rng=np.random.default_rng(simulation["seed"]))
    with warnings.catch_warnings(record=True) as tried:
        warnings.simplefilter("always")
        try:
            Device.ensure_pin_factory()
        except Exception as exc:
            reasons = "; ".join(str(w.message) for w in tried) or str(exc)
            raise StimulatorError(
                f"the GPIO cannot be used ({reasons}); on a Raspberry Pi install "
                'python3-lgpio, elsewhere set [stimulator] source = "sim"'
            ) from exc
    if isinstance(Device.pin_factory, MockFactory):
        raise StimulatorError('gpiozero is set to mock pins (GPIOZERO_PIN_FACTORY); unset it, '
                              'or set [stimulator] source = "sim"')
    try:
        return Stimulator(pins, pulse_s=section["pulse_s"], debounce_s=section["debounce_s"],
                          guard=True)
    except GuardError as exc:
        raise StimulatorError(str(exc)) from exc
    except Exception as exc:
        raise StimulatorError(
            f"cannot claim the stimulator's pins (BCM {_pin_list(pins)}): {exc}"
        ) from exc


def selftest_stimulator(config: Config, pulse: bool) -> list[Check]:
    """Open the stimulator, check the buttons are not stuck, and with ``pulse`` tap once."""
    section = config["stimulator"]
    source = stimulator_source(config)
    name = "stimulator" if source == "gpio" else "stimulator (simulated)"
    try:
        stimulator = open_stimulator(config)
    except (StimulatorError, ValueError) as exc:
        return [Check(name, False, str(exc),
                      "check the wiring and [stimulator] pins; is another program using them?")]
    try:
        checks = [Check(name, True, _describe(stimulator, source))]
        assert stimulator.buttons is not None
        for finger, down in stimulator.buttons.pressed().items():
            pin = section[f"button_{finger}_pin"]
            checks.append(Check(
                f"{finger} response button", not down,
                f"BCM {pin} reads pressed with nobody touching it" if down
                else f"BCM {pin} released",
                "look for a short to ground or a stuck key" if down else "",
            ))
        if pulse:
            checks.append(_tap_check(stimulator))
        return checks
    finally:
        stimulator.close()


def _tap_check(stimulator: Stimulator) -> Check:
    assert stimulator.led is not None
    stimulator.led.on()
    try:
        pair = stimulator.tap_pair("index", SELFTEST_SOA_S)
    except Exception as exc:
        return Check("solenoids", False, f"tapping failed: {exc}",
                     "check the MOSFET boards and the solenoid supply")
    finally:
        stimulator.led.off()
    widths = " and ".join(f"{tap.width_s * 1e3:.1f}" for tap in pair.taps)
    return Check("solenoids", True,
                 f"tapped index then middle {pair.delivered_soa_s * 1e3:.2f} ms apart, pulses "
                 f"{widths} ms{'' if pair.realtime else ' (no real-time priority)'}; "
                 "the LED was lit: listen for two taps")


def _describe(stimulator: Stimulator, source: str) -> str:
    pins = stimulator.pins
    where = (f"solenoids BCM {pins.solenoid_index}/{pins.solenoid_middle}, buttons BCM "
             f"{pins.button_index}/{pins.button_middle}, LED BCM {pins.led}, "
             f"pulse {stimulator.pulse_s * 1e3:.0f} ms")
    if source == "gpio":
        return f"{where}; guard process {stimulator.guard_pid}"
    return f"{where} on mock pins"


def _pin_list(pins: StimulatorPins) -> str:
    return ", ".join(str(n) for n in vars(pins).values())


def toj_io(stimulator: Stimulator, config: Config, *, pause_s: float = 0.5) -> TojIO:
    """``run_toj``'s two callables on ``stimulator``, with the configured answer timeout."""
    return TojIO(stimulator, response_timeout_s=config["stimulator"]["response_timeout_s"],
                 pause_s=pause_s)
