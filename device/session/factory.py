"""Choosing the recorder from configuration: simulated off the Pi (or when asked), the real
camera and key sensors on a box. A box whose real hardware cannot be used says so; it never
falls back to simulation on its own."""

from __future__ import annotations

from pathlib import Path

from device.config import Config
from device.platform import is_raspberry_pi
from device.session.recorder import Recorder, RecorderError


def simulated(config: Config) -> bool:
    mode = config["box"]["simulate"]
    return mode == "sim" or (mode == "auto" and not is_raspberry_pi())


def build_recorder(config: Config, data_dir: Path | None = None) -> Recorder:
    """The simulated recorder, or the camera recorder writing into ``data_dir`` (needed for
    real hardware). Raises RecorderError saying what to fix when the camera or the key
    sensor cannot be opened."""
    if simulated(config):
        from device.session.simulated import SimulatedRecorder

        sim = config["simulation"]
        return SimulatedRecorder(sim["patient"], sim["seed"])
    if data_dir is None:
        raise RecorderError("the camera recorder needs the box's data directory to write "
                            "its recordings into")
    from device.hardware.keys import KeySourceError, open_keys
    from device.session.camera_recorder import CameraRecorder
    from device.store.raw_recordings import spool_dir

    try:
        keys = open_keys(config)
    except KeySourceError as exc:
        raise RecorderError(f"{exc}; connect the key sensor, or set [keys] source = \"none\" "
                            "to take keystroke times from hand motion") from None
    recorder = CameraRecorder(config, spool_dir(Path(data_dir)), keys)
    try:
        recorder.open_camera()
    except RecorderError:
        recorder.close()
        raise
    return recorder
