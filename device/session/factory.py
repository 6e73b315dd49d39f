"""Choosing the recorder from configuration: simulated off the Pi (or when asked), the real
camera and key sensors on a box. A box whose real hardware cannot be used says so; it never
falls back to simulation on its own."""

from __future__ import annotations

from device.config import Config
from device.platform import is_raspberry_pi
from device.session.recorder import Recorder, RecorderError


def simulated(config: Config) -> bool:
    mode = config["box"]["simulate"]
    return mode == "sim" or (mode == "auto" and not is_raspberry_pi())


def build_recorder(config: Config) -> Recorder:
    if simulated(config):
        from device.session.simulated import SimulatedRecorder

        sim = config["simulation"]
        return SimulatedRecorder(sim["patient"], sim["seed"])
    raise RecorderError(
        "recording from the real camera and key sensors is not available in this version; "
        "set [box] simulate = \"sim\" to run the box on simulated hardware")
