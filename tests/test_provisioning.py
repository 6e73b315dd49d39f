"""Provisioning, updates and the systemd units, checked without touching this machine:
shellcheck on the scripts, systemd-analyze verify on the units, the provisioning script in
--dry-run, and its real steps inside a throwaway root with a runner that records (and can
fail) the commands that would change the system."""

import importlib.util
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from device import config
from device.maintenance.outputs_off import OutputsOffError, force_off

REPO = Path(__file__).resolve().parent.parent
PROVISIONING = REPO / "provisioning"
SCRIPTS = [PROVISIONING / name for name in ("provision.sh", "update.sh", "make-bundle.sh",
                                            "lib/box.sh")]
UNITS = sorted((REPO / "systemd").glob("dystonia-box*"))
BOX = "/opt/dystonia-box"

RUNNER = """#!/usr/bin/env python3
import json, os, re, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
fail = os.environ.get("FAKE_FAIL")
sys.exit(1 if fail and re.search(fail, " ".join(sys.argv[1:])) else 0)
"""


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian package: "
                    f"{'systemd' if tool == 'systemd-analyze' else tool})")


@pytest.fixture
def fake_system(tmp_path):
    """A throwaway root that looks like a fresh Raspberry Pi OS, and the recording runner."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("VERSION_CODENAME=bookworm\n")
    (root / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "proc" / "device-tree").mkdir(parents=True)
    (root / "proc" / "device-tree" / "serial-number").write_bytes(b"10000000ABCD1234\0")
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text("dtparam=audio=on\n")
    runner = tmp_path / "runner"
    runner.write_text(RUNNER)
    runner.chmod(0o755)
    log = tmp_path / "commands.jsonl"
    return root, runner, log


def landmark_models(folder):
    folder.mkdir()
    (folder / "hand_landmark.tflite").write_bytes(b"landmarks " * 100)
    (folder / "palm_detection.tflite").write_bytes(b"palms " * 100)
    subprocess.run(["python3", str(PROVISIONING / "lib" / "check_hashes.py"), "write",
                    str(folder), "hand_landmark.tflite", "palm_detection.tflite"], check=True)
    return folder


def sh(script, *args, log=None, fail=None, check=True):
    env = {**os.environ, "FAKE_LOG": str(log or "/dev/null")}
    if fail:
        env["FAKE_FAIL"] = fail
    done = subprocess.run(["bash", str(PROVISIONING / script), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def commands(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_shellcheck_passes_on_every_script():
    need("shellcheck")
    done = subprocess.run(["shellcheck", "-x", *map(str, SCRIPTS)], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_units_pass_systemd_analyze_verify(tmp_path):
    """verify in a scratch root holding the units, systemd's own units and the two programs
    the units start (so 'not executable' would be reported for anything else)."""
    need("systemd-analyze")
    root = tmp_path / "root"
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr" / "lib" / "systemd" / "system",
                    symlinks=True)
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, units)
    for program in ("dystonia-box", "python"):
        path = root / BOX.lstrip("/") / "current" / "bin" / program
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}",
                           *(u.name for u in UNITS)], capture_output=True, text=True)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), \
        done.stdout + done.stderr


def unit(name):
    """A unit's settings; every value of a repeated key (DeviceAllow=) kept."""
    values: dict[str, list[str]] = {}
    for line in (REPO / "systemd" / name).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_service_is_watched_sandboxed_and_switches_the_solenoids_off():
    service = unit("dystonia-box.service")
    assert service["Type"] == ["notify"] and service["Restart"] == ["on-failure"]
    assert int(service["WatchdogSec"][0]) > 0
    assert service["StartLimitIntervalSec"] and service["StartLimitBurst"]
    for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "yes",
                       "PrivateTmp": "yes", "ProtectHome": "yes",
                       "DevicePolicy": "closed"}.items():
        assert service[key] == [value], key
    assert service["StateDirectory"] == ["dystonia-box"]  # the only writable place
    allowed = {v.split()[0] for v in service["DeviceAllow"]}
    assert allowed == {"char-i2c", "char-gpiochip", "/dev/gpiomem0", "char-video4linux",
                       "char-media", "char-dma_heap", "char-alsa"}
    assert service["ExecStopPost"][0].split()[-3:] == ["device.maintenance.outputs_off", "17",
                                                        "27"]
    reset = unit("dystonia-box-reset.service")
    assert reset["Type"] == ["oneshot"] and reset["Before"] == ["dystonia-box.service"]
    assert reset["ExecStart"][0].endswith(" reset-button")
    for job, command in (("backup", "backup"), ("cleanup", "cleanup")):
        assert unit(f"dystonia-box-{job}.service")["ExecStart"][0].endswith(f" {command}")
        assert unit(f"dystonia-box-{job}.timer")["Persistent"] == ["true"]


def test_every_command_the_units_start_exists():
    from device.cli import build_parser

    parser = build_parser()
    for path in UNITS:
        for line in path.read_text().splitlines():
            if line.startswith("ExecStart=") and "dystonia-box " in line:
                argv = line.split("=", 1)[1].split()[1:]
                args = parser.parse_args(argv)
                assert callable(args.func), line


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path, fake_system):
    root, runner, log = fake_system
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    done = sh("provision.sh", "--dry-run", "--root", root, "--runner", runner, log=log)
    out = done.stdout
    assert commands(log) == []
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    for expected in ("would run: apt-get update",
                     "python3-picamera2 python3-lgpio i2c-tools",
                     "would run: raspi-config nonint do_i2c 0",
                     "would set camera_auto_detect=1",
                     "would run: useradd --system",
                     "gpio\\,i2c\\,video",
                     "python3 -m venv --system-site-packages",
                     "--require-hashes",
                     "would copy model_card.json and 11 models",
                     "-m model_export landmarks --out /opt/dystonia-box/models/landmarks",
                     "would write /etc/dystonia-box/config.toml",
                     "would create folder /var/lib/dystonia-box",
                     "would run: nmcli connection add type wifi",
                     "would run: hostnamectl set-hostname dystonia-box-1234",
                     "would write /etc/avahi/services/dystonia-box.service",
                     "would write /etc/systemd/system/dystonia-box.service",
                     "would run: systemctl enable dystonia-box.service",
                     "http://dystonia-box-1234.local/",
                     "Wi-Fi name:       dystonia-box-1234"):
        assert expected in out, expected


def test_dry_run_on_this_machine_runs_as_is():
    done = subprocess.run(["bash", str(PROVISIONING / "provision.sh"), "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DRY RUN" in done.stdout and "==> Done" in done.stdout


def test_provisioning_a_throwaway_root_and_running_it_again(tmp_path, fake_system):
    root, runner, log = fake_system
    landmarks = landmark_models(tmp_path / "landmarks")
    first = sh("provision.sh", "--root", root, "--runner", runner, "--country", "GB",
               "--landmarks", landmarks, log=log, fail="nmcli connection show")
    ran = commands(log)
    programs = [c[2] if c[0] == "env" else c[0] for c in ran]
    for program in ("apt-get", "raspi-config", "useradd", "usermod", "nmcli", "hostnamectl",
                    "systemctl", "chown"):
        assert program in programs, program
    assert ["raspi-config", "nonint", "do_i2c", "0"] in ran
    assert ["raspi-config", "nonint", "do_wifi_country", "GB"] in ran
    assert ["usermod", "--append", "--groups", "gpio,i2c,video,audio", "dystonia"] in ran
    pip = [c for c in ran if c[0].endswith("/bin/pip")]
    assert any("--require-hashes" in c and str(PROVISIONING / "requirements" / "runtime.txt")
               in c for c in pip)
    assert ["systemctl", "restart", "dystonia-box.service"] in ran

    # Files really written under the root.
    venv = Path(os.readlink(root / "opt/dystonia-box/current"))
    assert (root / str(venv).lstrip("/") / "pyvenv.cfg").read_text().count(
        "include-system-site-packages = true") == 1
    cfg = config.load(root / "etc/dystonia-box/config.toml")
    assert cfg["box"]["name"] == "dystonia-box-1234" and cfg["web"]["port"] == 80
    models = root / "opt/dystonia-box/models/autoencoder"
    assert cfg["screening"]["models_dir"] == "/opt/dystonia-box/models/autoencoder"
    assert sorted(p.name for p in models.glob("*.tflite")) == [f"task{n:02d}.tflite"
                                                               for n in range(1, 12)]
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=models).returncode \
        == 0
    assert (root / "opt/dystonia-box/models/landmarks/hand_landmark.tflite").exists()
    psk_file = root / "etc/dystonia-box/hotspot-passphrase"
    psk = psk_file.read_text().strip()
    assert len(psk) == 16 and psk_file.stat().st_mode & 0o777 == 0o600
    add = next(c for c in ran if c[:3] == ["nmcli", "connection", "add"])
    assert add[add.index("wifi-sec.psk") + 1] == psk
    assert add[add.index("802-11-wireless.ssid") + 1] == "dystonia-box-1234"
    assert f"Wi-Fi passphrase: {psk}" in first.stdout
    assert "127.0.1.1\tdystonia-box-1234" in (root / "etc/hosts").read_text()
    assert "camera_auto_detect=1" in (root / "boot/firmware/config.txt").read_text()
    assert "dystonia-box-1234" in (root / "etc/avahi/services/dystonia-box.service").read_text()
    for path in UNITS:
        assert (root / "etc/systemd/system" / path.name).read_bytes() == path.read_bytes()

    # Again: nothing is made twice; secrets, configuration and models are kept.
    (root / "etc" / "passwd").write_text("dystonia:x:999:999::/var/lib/dystonia-box:/bin/false\n")
    log.unlink()
    again = sh("provision.sh", "--root", root, "--runner", runner, log=log)
    ran = commands(log)
    assert not any(c[0] == "useradd" for c in ran)
    assert not any(c[0].endswith("/bin/pip") for c in ran)  # environment already installed
    change = next(c for c in ran if c[:2] == ["nmcli", "connection"] and c[2] != "show")
    assert change[:4] == ["nmcli", "connection", "modify", "dystonia-hotspot"]
    assert psk_file.read_text().strip() == psk
    assert "in place and unchanged" in again.stdout
    assert "kept (delete it and run again" in again.stdout
    assert "dystonia-box-1234" in again.stdout  # the name comes back from the configuration


def test_a_damaged_model_copy_is_replaced_and_bad_landmarks_are_refused(tmp_path, fake_system):
    root, runner, log = fake_system
    sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot", "--no-start",
       log=log, fail="landmarks --help")
    model = root / "opt/dystonia-box/models/autoencoder/task04.tflite"
    good = model.read_bytes()
    model.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    done = sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot", "--no-start",
              log=log, fail="landmarks --help")
    assert "installed 11 models, SHA-256 checked" in done.stdout
    assert model.read_bytes() == good
    assert "no landmark models" in done.stdout  # model_export has no landmarks command

    bad = landmark_models(tmp_path / "bad-landmarks")
    (bad / "palm_detection.tflite").write_bytes(b"tampered")
    done = sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot",
              "--landmarks", bad, log=log, check=False)
    assert done.returncode != 0
    assert "palm_detection.tflite: SHA-256 differs" in done.stderr

    # model_export answers but writes no hash list: refused, not trusted.
    done = sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot",
              log=log, check=False)
    assert done.returncode != 0
    assert "fail their SHA-256 check" in done.stderr


def make_bundle(tmp_path, runner, log):
    out = tmp_path / "update.tar.gz"
    sh("make-bundle.sh", "--runner", runner, "--out", out, log=log)
    return out


def test_update_switches_only_when_healthy_and_rolls_back_otherwise(tmp_path, fake_system):
    root, runner, log = fake_system
    sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot", log=log,
       fail="landmarks --help")
    first = os.readlink(root / "opt/dystonia-box/current")
    log.unlink()
    bundle = make_bundle(tmp_path, runner, log)
    downloads = commands(log)
    assert any(c[3] == "download" and "--require-hashes" in c for c in downloads)
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    assert {"./SHA256SUMS", "./VERSION", "./requirements.txt"} <= names

    failed = sh("update.sh", bundle, "--root", root, "--runner", runner, log=log,
                fail="curl", check=False)
    assert failed.returncode != 0 and "rolled back" in failed.stderr
    assert os.readlink(root / "opt/dystonia-box/current") == first
    assert len(list((root / "opt/dystonia-box/venvs").iterdir())) == 1  # the failed one gone

    refused = sh("update.sh", bundle, "--root", root, "--runner", runner, log=log,
                 fail="import device", check=False)
    assert refused.returncode != 0 and "does not start here" in refused.stderr
    assert os.readlink(root / "opt/dystonia-box/current") == first

    log.unlink()
    sh("update.sh", bundle, "--root", root, "--runner", runner, log=log)
    now = os.readlink(root / "opt/dystonia-box/current")
    assert now != first and now.startswith(f"{BOX}/venvs/")
    ran = commands(log)
    pip = next(c for c in ran if c[0].endswith("/bin/pip"))
    assert "--no-index" in pip and "--require-hashes" in pip  # offline, hash-checked
    assert ran.index(["systemctl", "restart", "dystonia-box.service"]) > ran.index(pip)


def test_a_damaged_update_bundle_is_refused_before_anything_changes(tmp_path, fake_system):
    root, runner, log = fake_system
    bundle = make_bundle(tmp_path, runner, log)
    stage = tmp_path / "stage"
    stage.mkdir()
    with tarfile.open(bundle) as tar:
        tar.extractall(stage, filter="data")
    (stage / "requirements.txt").write_text("evil==1.0\n")
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(damaged, "w:gz") as tar:
        tar.add(stage, arcname=".")
    log.unlink(missing_ok=True)
    done = sh("update.sh", damaged, "--root", root, "--runner", runner, log=log, check=False)
    assert done.returncode != 0 and "is damaged" in done.stderr
    assert commands(log) == [] and not (root / "opt").exists()


def test_make_bundle_dry_run_names_its_downloads():
    done = subprocess.run(["bash", str(PROVISIONING / "make-bundle.sh"), "--dry-run"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip download" in done.stdout and "--require-hashes" in done.stdout
    assert "manylinux_2_17_aarch64" in done.stdout


def test_outputs_off_drives_both_solenoid_pins_low():
    ran = []
    how = force_off([17, 27], run=lambda argv, **kw: ran.append(argv),
                    which=lambda name: "/usr/bin/pinctrl")
    assert ran == [["/usr/bin/pinctrl", "set", "17", "op", "dl"],
                   ["/usr/bin/pinctrl", "set", "27", "op", "dl"]]
    assert "17, 27" in how
    with pytest.raises(OutputsOffError, match=r"BCM pins must be 0\.\.27"):
        force_off([40])


def test_outputs_off_without_pinctrl_or_lgpio_says_what_to_install():
    if importlib.util.find_spec("lgpio") is not None:
        pytest.skip("lgpio is installed here; this checks a machine without it")
    with pytest.raises(OutputsOffError, match="install raspi-utils-core or python3-lgpio"):
        force_off([17, 27], which=lambda name: None)


def test_provisioning_from_an_offline_bundle_checks_it_first(tmp_path, fake_system):
    root, runner, log = fake_system
    bundle = make_bundle(tmp_path, runner, log)
    log.unlink()
    sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot", "--wheels", bundle,
       log=log, fail="landmarks --help")
    pip = [c for c in commands(log) if c[0].endswith("/bin/pip")]
    assert len(pip) == 1 and "--no-index" in pip[0] and "--require-hashes" in pip[0]
    assert pip[0][-1].endswith("requirements.txt")

    damaged = tmp_path / "damaged.tar.gz"
    stage = tmp_path / "stage"
    stage.mkdir()
    with tarfile.open(bundle) as tar:
        tar.extractall(stage, filter="data")
    (stage / "VERSION").write_text("something else\n")
    with tarfile.open(damaged, "w:gz") as tar:
        tar.add(stage, arcname=".")
    shutil.rmtree(root / "opt")
    done = sh("provision.sh", "--root", root, "--runner", runner, "--no-hotspot", "--wheels",
              damaged, log=log, check=False)
    assert done.returncode != 0 and "is damaged" in done.stderr
    assert not (root / "opt" / "dystonia-box" / "venvs").exists()  # checked before anything
