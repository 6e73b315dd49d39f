import subprocess
import sys

import numpy as np

from device import takefile
from device.cli import main
from tests.helpers import make_take


def test_protocol_lists_eleven_tasks(capsys):
    assert main(["protocol"]) == 0
    out = capsys.readouterr().out
    assert out.count("bpm") == 11


def test_protocol_task_detail(capsys):
    assert main(["protocol", "--task", "4"]) == 0
    out = capsys.readouterr().out
    assert "G#4" in out and "thumb" in out


def test_config_error_exits_2(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[web]\nprot = 1\n")
    assert main(["--config", str(path), "config"]) == 2
    assert "unknown key web.prot" in capsys.readouterr().err


def test_take_check(tmp_path, capsys):
    good = takefile.write(tmp_path / "P1_t1.take.npz", make_take())
    assert main(["take", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "left: ok" in out and "right: ok" in out
    assert "tracking noise 0.00 % of the palm" in out  # the helper's hands: no tracker noise
    take = make_take()
    t = take.t
    take.keys = np.array([[60.0, t[20], t[200], 0.5], [52.0, t[30], t[120], 0.5]])
    own = takefile.write(tmp_path / "P1_t1b.take.npz", take)
    assert main(["take", "check", str(own)]) == 0
    out = capsys.readouterr().out
    assert f"left: ok, plays {t[30]:.2f}-{t[120]:.2f} s" in out
    assert f"right: ok, plays {t[20]:.2f}-{t[200]:.2f} s" in out
    bad = tmp_path / "bad.take.npz"
    bad.write_bytes(b"junk")
    assert main(["take", "check", str(good), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]


def test_console_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "device", "--help"], capture_output=True, text=True, check=True
    )
    assert "--data-dir" in result.stdout and "--config" in result.stdout
