"""`dystonia-box serve` and `demo` as processes."""

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_for(tmp_path, models):
    path = tmp_path / "config.toml"
    path.write_text(f'[box]\nsimulate = "sim"\n[screening]\nmodels_dir = "{models}"\n')
    return path


def test_serve_answers_and_prints_a_one_time_code(tmp_path, trained):
    _, models = trained
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "device", "--config", str(config_for(tmp_path, models)),
         "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert "one-time code" in first
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    assert r.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            raise AssertionError("serve did not answer")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/setup", timeout=2) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_runs_a_quick_screen(tmp_path, trained):
    _, models = trained
    result = subprocess.run(
        [sys.executable, "-m", "device", "--config", str(config_for(tmp_path, models)),
         "--data-dir", str(tmp_path / "data"), "demo"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Created the clinician account 'demo'" in result.stdout
    assert "[16/16] recorded Task 7" in result.stdout
    assert "16 takes scored" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(".pdf") and Path(last).read_bytes()[:5] == b"%PDF-"
