"""`dystonia-box selftest`: one line per device, ok or FAIL with what to check."""

from __future__ import annotations

import re

from device.cli import main


def test_simulated_box_answers_everywhere(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "selftest"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 4
    assert all(re.match(r"^[^:]+: ok: ", line) for line in lines), lines
    assert any(line.startswith("IMU (hand dorsum)") for line in lines)


def test_missing_hardware_fails_with_the_fix(tmp_path, capsys):
    config = tmp_path / "box.toml"
    config.write_text('[force]\nsource = "nau7802"\n[i2c]\nbus = 19\n[keys]\nsource = "keybar"\n'
                      '[imu]\nsource = "icm20948"\n[stimulator]\nsource = "sim"\n')
    assert main(["--config", str(config), "--data-dir", str(tmp_path), "selftest"]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = [line for line in lines if ": FAIL: " in line]
    assert len(failed) >= 3 and all("/dev/i2c-19" in line for line in failed)
    assert all("raspi-config" in line for line in failed)
    assert any(": ok: " in line for line in lines)  # the simulated stimulator still answers
