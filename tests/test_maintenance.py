"""Keeping a box running: storage limits, the diagnostics bundle, the unclean-stop count,
and the physical reset (button held at power-on -> recovery code -> /setup)."""

import json
import os
import re
import tarfile
import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from device import cli, config
from device.auth.passwords import hash_password
from device.commands.recovery import run_reset_button
from device.maintenance import diagnostics, recovery, shutdowns, storage
from device.session.simulated import SimulatedRecorder
from device.store import db, recordings, records
from device.store.transactions import transaction
from device.web.app import create_app
from tests.helpers import make_take

STORAGE = config.load(None)["storage"]


def scored_take_with_video(conn, data_dir, session, status="scored", age_days=40.0):
    """A take analysed from a raw recording whose video is still on disk."""
    take_id = recordings.store_take(conn, data_dir, session, make_take())
    rel = conn.execute("SELECT file FROM take WHERE id = ?", (take_id,)).fetchone()[0]
    video = data_dir / "recordings" / "raw" / f"video-{take_id}.avi"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"\0" * 1000)
    stamp = time.time() - age_days * 86400
    os.utime(video, (stamp, stamp))
    with transaction(conn):
        conn.execute("UPDATE take SET status = ? WHERE id = ?", (status, take_id))
        conn.execute(
            "INSERT INTO raw_recording (session_id, task, dynamics, tempo_mode, participant, "
            "video, times, keys, keys_source, frames, recorded, status, take_id) "
            "VALUES (?, 1, 'pp', 'fixed', 'P1', ?, ?, ?, 'sim', 10, ?, 'done', ?)",
            (session, str(video.relative_to(data_dir)), f"t{take_id}.npy", f"k{take_id}.npy",
             stamp, take_id))
    return data_dir / rel, video


def test_raw_video_goes_after_retention_once_scored_and_landmarks_stay(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    session = records.start_session(conn, records.add_patient(conn, "P1"), "quick")
    old_take, old_video = scored_take_with_video(conn, tmp_path, session)
    _, young_video = scored_take_with_video(conn, tmp_path, session, age_days=2)
    _, waiting_video = scored_take_with_video(conn, tmp_path, session, status="recorded")
    assert storage.expired_videos(conn, tmp_path, keep_days=30) == [old_video]
    removed, freed = storage.remove_expired_videos(conn, tmp_path, keep_days=30)
    assert removed == [old_video] and freed == 1000
    assert not old_video.exists() and old_take.exists()
    assert young_video.exists() and waiting_video.exists()
    assert storage.expired_videos(conn, tmp_path, keep_days=0) == [young_video]
    conn.close()


def test_disk_state_warns_below_either_threshold(tmp_path):
    fine = storage.disk_state(tmp_path, {"warn_free_fraction": 0.0, "warn_free_mb": 0})
    assert not fine.warning and "GB free of" in fine.message
    assert 0.0 < fine.free_fraction <= 1.0
    low = storage.disk_state(tmp_path, {"warn_free_fraction": 1.0, "warn_free_mb": 0})
    assert low.warning and "running out of space" in low.message
    low = storage.disk_state(tmp_path, {"warn_free_fraction": 0.0, "warn_free_mb": 10**7})
    assert low.warning


def test_cleanup_command_reports(tmp_path, capsys):
    conn = db.connect(tmp_path / db.DB_FILE)
    session = records.start_session(conn, records.add_patient(conn, "P1"), "quick")
    _, video = scored_take_with_video(conn, tmp_path, session)
    conn.close()
    assert cli.main(["--data-dir", str(tmp_path), "cleanup", "--dry-run"]) == 0
    assert "would delete 1 raw videos" in capsys.readouterr().out and video.exists()
    assert cli.main(["--data-dir", str(tmp_path), "cleanup"]) == 0
    assert "deleted 1 raw videos" in capsys.readouterr().out and not video.exists()


def test_storage_settings_are_checked():
    with pytest.raises(config.ConfigError, match=r"storage\.keep_video_days"):
        config.from_mapping({"storage": {"keep_video_days": -1}})
    assert config.load(None)["storage"]["backup_keep"] == 7


def test_unclean_stops_are_counted(tmp_path):
    assert shutdowns.unclean_shutdowns(tmp_path).count == 0
    assert shutdowns.mark_started(tmp_path) is False
    shutdowns.mark_stopped(tmp_path)
    assert shutdowns.mark_started(tmp_path) is False  # clean stop before
    assert shutdowns.mark_started(tmp_path) is True  # no stop: power cut, kill, crash
    assert shutdowns.mark_started(tmp_path) is True
    count = shutdowns.unclean_shutdowns(tmp_path)
    assert count.count == 2 and count.last is not None
    assert shutdowns.running_pid(tmp_path) is None  # the marker names this test, not serve


def test_diagnostics_bundle_has_versions_and_no_secrets_or_patient_data(tmp_path, capsys):
    data = tmp_path / "data"
    conn = db.connect(data / db.DB_FILE)
    records.add_patient(conn, "SECRET-PSEUDONYM")
    conn.close()
    (data / "secret_key").write_bytes(b"k" * 32)
    out = tmp_path / "diag.tar.gz"
    assert cli.main(["--data-dir", str(data), "diagnostics", "--out", str(out),
                     "--no-journal"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with tarfile.open(out) as tar:
        parts = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()
                 for m in tar.getmembers()}
    assert set(parts) == {"versions.txt", "config.toml", "store.json", "health.json",
                          "selftest.txt"}
    assert parts["versions.txt"].startswith("dystonia-box ")
    assert "numpy==" in parts["versions.txt"]
    assert json.loads(parts["store.json"])["rows"]["patient"] == 1
    assert json.loads(parts["health.json"])["unclean_shutdowns"] == 0
    assert parts["selftest.txt"]  # the command's output, or that there is none
    everything = "".join(parts.values())
    assert "SECRET-PSEUDONYM" not in everything and "kkkk" not in everything


def test_redaction_removes_values_of_secret_keys():
    cfg = config.load(None)
    text = diagnostics.redacted_config(cfg)
    assert text.count("\n") >= cfg.as_toml().count("\n")
    fake = type("Cfg", (), {"as_toml": lambda self: '[web]\nadmin_password = "hunter2"\n'})()
    assert 'admin_password = "<removed>"' in diagnostics.redacted_config(fake)
    assert "hunter2" not in diagnostics.redacted_config(fake)


class Context:
    def __init__(self, data_dir):
        self.config = config.load(None)
        self.data_dir = data_dir


class Args:
    hold = 0.2


class SwitchPin(MockPin):
    """A pin wired to a push button to ground: while pressed it reads low, pull-up or not
    (MockPin alone would let the pull-up set by gpiozero's Button win)."""

    pressed = False

    def _set_pull(self, value):
        super()._set_pull(value)
        if self.pressed:
            self.drive_low()


def test_reset_button_held_issues_a_recovery_code(tmp_path, capsys):
    factory = MockFactory(pin_class=SwitchPin)
    factory.pin(5).pressed = True  # held from power-on through the whole hold time
    assert run_reset_button(Args(), Context(tmp_path), pin_factory=factory) == 0
    out = capsys.readouterr().out
    code = re.search(r"enter the code ([0-9A-F]{4}-[0-9A-F]{4})", out).group(1)
    assert recovery.pending_code(tmp_path) == code
    assert (tmp_path / recovery.RECOVERY_FILE).stat().st_mode & 0o777 == 0o600
    assert "recovery code issued" in (tmp_path / recovery.LOG_FILE).read_text()


def test_reset_button_not_pressed_changes_nothing(tmp_path, capsys):
    factory = MockFactory(pin_class=SwitchPin)
    assert run_reset_button(Args(), Context(tmp_path), pin_factory=factory) == 0
    assert "not held" in capsys.readouterr().out
    assert recovery.pending_code(tmp_path) is None


class ReleasedButton:
    is_pressed = True

    def wait_for_release(self, timeout):
        return True  # let go before the hold time ran out


class HeldButton(ReleasedButton):
    def wait_for_release(self, timeout):
        return False


def test_a_press_shorter_than_the_hold_time_is_not_a_reset():
    assert recovery.button_held(ReleasedButton()) is False
    assert recovery.button_held(HeldButton()) is True


def test_an_expired_recovery_code_is_dropped(tmp_path):
    recovery.issue_code(tmp_path, "test")
    assert recovery.pending_code(tmp_path, now=time.time() + recovery.VALID_S + 1) is None
    assert not (tmp_path / recovery.RECOVERY_FILE).exists()
    assert "expired unused" in (tmp_path / recovery.LOG_FILE).read_text()


def recovery_app(tmp_path, code):
    app = create_app(config.load(None), tmp_path, SimulatedRecorder("dystonic", 5),
                     testing=True)
    app.config.update(SETUP_CODE=code, RECOVERY=True)
    return app


def submit(client, code, name, password):
    page = client.get("/setup").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/setup", data={"csrf_token": token, "code": code, "name": name,
                                       "password": password, "confirm": password})


def sign_in(client, name, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf_token": token, "name": name,
                                       "password": password})


def test_recovery_code_resets_a_forgotten_password_without_losing_data(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password("the forgotten one"))
    records.add_patient(conn, "P-KEEP")
    with transaction(conn):
        conn.execute("UPDATE clinician SET disabled = 1")
    conn.close()
    code = recovery.issue_code(tmp_path, "test")
    client = recovery_app(tmp_path, code).test_client()
    assert "Recovery" in client.get("/setup").get_data(as_text=True)
    assert "code is wrong" in submit(client, "0000-0000", "dr-a",
                                     "a brand new password").get_data(as_text=True)
    assert submit(client, code, "dr-a", "a brand new password").status_code == 302
    assert recovery.pending_code(tmp_path) is None  # used once
    assert client.get("/setup").status_code == 404
    assert sign_in(client, "dr-a", "a brand new password").status_code == 302
    assert client.get("/").status_code == 200
    conn = db.connect(tmp_path / db.DB_FILE)
    assert conn.execute("SELECT COUNT(*) FROM patient").fetchone()[0] == 1
    conn.close()
    assert "used: password reset 'dr-a'" in (tmp_path / recovery.LOG_FILE).read_text()


def test_without_a_recovery_code_setup_stays_closed_once_accounts_exist(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password("a long enough secret"))
    conn.close()
    app = create_app(config.load(None), tmp_path, SimulatedRecorder("dystonic", 5),
                     testing=True)
    app.config["SETUP_CODE"] = "ABCD-1234"
    assert app.test_client().get("/setup").status_code == 404


def test_a_crashing_page_does_not_stop_a_take_in_progress(tmp_path):
    """The reason recording and the page may share one process (docs/operations.md): a
    page that fails is one failed request, and the take being recorded carries on."""
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password("a long enough secret"))
    records.start_session(conn, records.add_patient(conn, "P-1"), "quick")
    conn.close()
    app = create_app(config.load(None), tmp_path, SimulatedRecorder("dystonic", 5))

    def broken_page():
        raise RuntimeError("a bug in one page")

    app.add_url_rule("/broken", "broken", broken_page)
    client = app.test_client()
    assert sign_in(client, "dr-a", "a long enough secret").status_code == 302
    page = client.get("/sessions/1").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/sessions/1/record/start", data={"csrf_token": token}).status_code \
        == 302
    assert client.get("/broken").status_code == 500
    assert app.extensions["recording"].active is not None  # still recording
    assert client.post("/sessions/1/record/stop", data={"csrf_token": token}).status_code \
        == 302
    conn = db.connect(tmp_path / db.DB_FILE)
    assert conn.execute("SELECT COUNT(*) FROM take").fetchone()[0] == 1
    conn.close()
