"""Box configuration: a TOML file with a default for every key.

The schema below is the single list of keys the box understands. A file may set any
subset; an unknown section or key, or a value of the wrong type or outside its range,
is refused with a message that names it, so a typo never silently falls back to a
default on a patient's box.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the key and the problem."""


@dataclass(frozen=True)
class Key:
    default: Any
    kind: type | tuple[type, ...]
    help: str
    check: Callable[[Any], str | None] | None = None


def one_of(*choices: str | int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        listed = ", ".join(str(c) for c in choices)
        return None if value in choices else f"must be one of {listed}"

    return check


def in_range(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def ints_in_range(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "must be a list of whole numbers"
        if not all(low <= v <= high for v in value):
            return f"every entry must be between {low} and {high}"
        return None

    return check


def numbers_list(value: Any) -> str | None:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return "must be a list of numbers"
    return None


_BACKEND = ("auto", "sim", "real")

SCHEMA: dict[str, dict[str, Key]] = {
    "box": {
        "name": Key("dystonia-box", str, "name shown on the page and advertised over mDNS"),
        "simulate": Key(
            "auto",
            str,
            "auto: simulated hardware only on a machine that is not a Raspberry Pi; "
            "sim: always simulated; real: always the real drivers",
            one_of(*_BACKEND),
        ),
        "log_level": Key("INFO", str, "logging level", one_of("DEBUG", "INFO", "WARNING", "ERROR")),
    },
    "camera": {
        "source": Key(
            "auto",
            str,
            "auto, picamera2, v4l2, file or synthetic",
            one_of("auto", "picamera2", "v4l2", "file", "synthetic"),
        ),
        "device": Key("/dev/video0", str, "V4L2 device, or the video file for source = file"),
        "width": Key(1280, int, "frame width in pixels", in_range(160, 4096)),
        "height": Key(720, int, "frame height in pixels", in_range(120, 4096)),
        "fps": Key(60.0, (int, float), "frames per second", in_range(1, 240)),
    },
    "keys": {
        "source": Key(
            "auto",
            str,
            "auto, keybar (I2C microcontroller), midi (USB digital piano), none, or sim",
            one_of("auto", "keybar", "midi", "none", "sim"),
        ),
        "keybar_address": Key(0x42, int, "I2C address of the key-bar microcontroller",
                              in_range(0x03, 0x77)),
        "keybar_channel": Key(-1, int, "multiplexer channel of the key bar "
                              "(-1: directly on the bus)", in_range(-1, 7)),
        "midi_port": Key("", str, "MIDI input port name (empty: the first one found)"),
        "resync_s": Key(1.0, (int, float), "seconds between re-synchronisations of the key "
                        "bar's clock during a take", in_range(0.1, 60.0)),
    },
    "i2c": {
        "bus": Key(1, int, "I2C bus number (/dev/i2c-N)", in_range(0, 20)),
        "mux_address": Key(0x70, int, "TCA9548A multiplexer address", in_range(0x70, 0x77)),
        "retries": Key(3, int, "retries of a failed transaction", in_range(0, 10)),
    },
    "force": {
        "source": Key("auto", str, "auto, nau7802 or sim", one_of("auto", "nau7802", "sim")),
        "channels": Key([0, 1, 2, 3, 4], list, "multiplexer channel of each finger's ADC, "
                        "thumb to little", ints_in_range(0, 7)),
        "address": Key(0x2A, int, "NAU7802 address", in_range(0x03, 0x77)),
        "rate_sps": Key(320, int, "ADC samples per second", one_of(10, 20, 40, 80, 320)),
        "newtons_per_count": Key([0.0, 0.0, 0.0, 0.0, 0.0], list,
                                 "calibration of each finger's cell, thumb to little "
                                 "(0: not calibrated)", numbers_list),
    },
    "imu": {
        "source": Key("auto", str, "auto, icm20948 or sim", one_of("auto", "icm20948", "sim")),
        "channels": Key([5, 6], list, "multiplexer channels: hand dorsum, proximal phalanx",
                        ints_in_range(0, 7)),
        "address": Key(0x68, int, "ICM-20948 address (0x68 or 0x69)", in_range(0x68, 0x69)),
        "rate_hz": Key(100.0, float, "samples per second of both IMUs during a recording",
                       in_range(10.0, 400.0)),
        "accel_range_g": Key(4, int, "accelerometer full scale in g", one_of(2, 4, 8, 16)),
        "gyro_range_dps": Key(500, int, "gyroscope full scale in degrees per second",
                              one_of(250, 500, 1000, 2000)),
        "filter_gain": Key(0.1, float, "Madgwick filter gain: how fast gravity and the "
                           "magnetic field correct the gyroscope", in_range(0.001, 1.0)),
    },
    "stimulator": {
        "source": Key("auto", str, "auto, gpio or sim", one_of("auto", "gpio", "sim")),
        "solenoid_index_pin": Key(17, int, "BCM pin of the index-finger solenoid",
                                  in_range(2, 27)),
        "solenoid_middle_pin": Key(27, int, "BCM pin of the middle-finger solenoid",
                                   in_range(2, 27)),
        "button_index_pin": Key(5, int, "BCM pin of the index response button", in_range(2, 27)),
        "button_middle_pin": Key(6, int, "BCM pin of the middle response button",
                                 in_range(2, 27)),
        "led_pin": Key(22, int, "BCM pin of the status LED", in_range(2, 27)),
        "pulse_s": Key(0.010, float, "solenoid pulse width in seconds (hard cap 0.050)",
                       in_range(0.001, 0.050)),
        "debounce_s": Key(0.010, float, "a button press counts once it has stayed down this "
                          "long, seconds", in_range(0.0, 0.1)),
        "response_timeout_s": Key(5.0, float, "how long to wait for an answer after a pair of "
                                  "taps, seconds", in_range(0.5, 60.0)),
    },
    "screening": {
        "models_dir": Key("", str, "autoencoder models (empty: the models shipped with the box)"),
        "max_missing_fraction": Key(0.2, float, "refuse a hand missing in more of the "
                                    "trimmed frames than this", in_range(0.0, 1.0)),
        "max_gap_s": Key(0.25, float, "longest detection gap filled by interpolation, seconds",
                         in_range(0.0, 5.0)),
    },
    "vision": {
        "models_dir": Key("", str, "hand landmark models from `python -m model_export landmarks` "
                          "(empty: the ones installed with the box)"),
        "variant": Key("lite", str, "landmark model variant: lite (fast) or full",
                       one_of("lite", "full")),
        "palm_precision": Key("float32", str, "palm detector precision: float32, fp16 (the "
                              "same outputs) or int8 (moves the hand crop; see docs/vision.md)",
                              one_of("float32", "fp16", "int8")),
        "landmark_precision": Key("int8", str, "hand landmark model precision: int8 (fastest, "
                                  "within about 2 % of the hand size of float), float32 or fp16",
                                  one_of("int8", "float32", "fp16")),
    },
    "simulation": {
        "patient": Key("dystonic", str, "who the simulated pianist is: healthy or dystonic",
                       one_of("healthy", "dystonic")),
        "seed": Key(1, int, "seed of the simulated pianist (hand size, habits, dystonia)",
                    in_range(0, 2**31 - 1)),
    },
    "storage": {
        "keep_video_days": Key(30, int, "days raw video is kept after its take was scored "
                               "(0: deleted once scored); landmark take files are always kept",
                               in_range(0, 3650)),
        "warn_free_fraction": Key(0.10, float, "warn on the page when less than this share of "
                                  "the data disk is free", in_range(0.0, 0.9)),
        "warn_free_mb": Key(2048, int, "warn also when less than this many MiB are free",
                            in_range(0, 10**7)),
        "backup_dir": Key("", str, "where the daily backup timer writes (empty: the data "
                          "directory's backups/)"),
        "backup_keep": Key(7, int, "how many timer backups are kept", in_range(1, 365)),
    },
    "web": {
        "host": Key("127.0.0.1", str, "address to listen on"),
        "port": Key(8080, int, "TCP port", in_range(1, 65535)),
        "https": Key(False, bool, "the page is served behind HTTPS (marks cookies Secure)"),
    },
}


class Config(Mapping[str, Mapping[str, Any]]):
    """Read-only view: ``config["camera"]["fps"]``."""

    def __init__(self, values: dict[str, dict[str, Any]], source: Path | None) -> None:
        self._values = values
        self.source = source

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self._values[section]

    def __iter__(self):  # type: ignore[override]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def as_toml(self) -> str:
        """The effective configuration as TOML, every key with its help text."""
        lines: list[str] = []
        for section, keys in SCHEMA.items():
            lines.append(f"[{section}]")
            for name, key in keys.items():
                lines.append(f"# {key.help}")
                lines.append(f"{name} = {_toml_value(self._values[section][name])}")
            lines.append("")
        return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _check_value(where: str, key: Key, value: Any) -> Any:
    kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{where}: expected {names}, got {type(value).__name__} {value!r}")
    if key.check is not None:
        problem = key.check(value)
        if problem:
            raise ConfigError(f"{where}: {problem} (got {value!r})")
    return value


def from_mapping(data: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a parsed TOML document against the schema and fill in defaults."""
    origin = str(source) if source else "configuration"
    values = {s: {k: key.default for k, key in keys.items()} for s, keys in SCHEMA.items()}
    for section, entries in data.items():
        if section not in SCHEMA:
            known = ", ".join(SCHEMA)
            raise ConfigError(f"{origin}: unknown section [{section}] (known: {known})")
        if not isinstance(entries, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for name, value in entries.items():
            if name not in SCHEMA[section]:
                known = ", ".join(SCHEMA[section])
                raise ConfigError(
                    f"{origin}: unknown key {section}.{name} (known in [{section}]: {known})"
                )
            where = f"{origin}: {section}.{name}"
            values[section][name] = _check_value(where, SCHEMA[section][name], value)
    return Config(values, source)


def load(path: Path | None) -> Config:
    """Load ``path``; ``None`` or a missing default file gives the defaults."""
    if path is None:
        return from_mapping({})
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return from_mapping(data, path)
