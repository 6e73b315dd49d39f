from pathlib import Path

import pytest

from device import config
from device.config import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_for_every_key():
    cfg = config.load(None)
    for section, keys in config.SCHEMA.items():
        for name, key in keys.items():
            assert cfg[section][name] == key.default


def test_file_overrides_and_int_to_float(tmp_path):
    cfg = config.load(write(tmp_path, "[camera]\nfps = 30\n[web]\nport = 9000\n"))
    assert cfg["camera"]["fps"] == 30.0
    assert isinstance(cfg["camera"]["fps"], float)
    assert cfg["web"]["port"] == 9000
    assert cfg["camera"]["width"] == 1280


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[camra]\nfps = 30\n", "unknown section [camra]"),
        ("[camera]\nfsp = 30\n", "unknown key camera.fsp"),
        ("[camera]\nfps = 'fast'\n", "camera.fps: expected int or float, got str"),
        ("[camera]\nfps = 0\n", "camera.fps: must be between 1 and 240"),
        ("[box]\nsimulate = 'maybe'\n", "box.simulate: must be one of auto, sim, real"),
        ("[web]\nport = true\n", "web.port: expected int, got bool"),
        ("[force]\nchannels = [0, 1, 9]\n", "force.channels: every entry must be between 0 and 7"),
        ("[force]\nrate_sps = 100\n", "force.rate_sps: must be one of 10, 20, 40, 80, 320"),
        ("[stimulator]\npulse_s = 0.2\n", "stimulator.pulse_s: must be between 0.001 and 0.05"),
        ("camera = 3\n", "[camera] must be a table"),
        ("[camera\n", "not valid TOML"),
    ],
)
def test_invalid_configuration_is_named(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_named(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(tmp_path / "nope.toml")


def test_effective_config_round_trips(tmp_path):
    cfg = config.load(write(tmp_path, "[box]\nname = 'clinic \"A\"'\n[camera]\nfps = 50\n"))
    again = config.load(write(tmp_path, cfg.as_toml()))
    assert dict(again["box"]) == dict(cfg["box"])
    assert dict(again["camera"]) == dict(cfg["camera"])
