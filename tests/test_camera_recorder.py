"""Recording on a box: the camera recorder (a real video replayed as the camera, simulated
keys), the raw recording in the store, analysis into a take in the worker, a kill during
analysis, and the migration that adds the raw recordings."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from device import config
from device.auth.passwords import hash_password
from device.screening import models as models_mod
from device.session import worker
from device.session.analysis import AnalysisSettings, analyse_one
from device.session.factory import build_recorder
from device.session.recorder import RecorderError
from device.session.steps import Step, next_step
from device.session.video_file import PARTIAL_SUFFIX
from device.store import db, raw_recordings, records
from device.store.schema import MIGRATIONS
from device.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VIDEO = DATA / "piano_right_hand.mp4"
VIDEO_FRAMES = 334
FIRST_STEP = Step(1, "fixed", "pp")
WAIT_S = 120.0  # a guard against hanging, not a timing assertion

pytestmark = pytest.mark.skipif(not VIDEO.is_file(), reason=f"real data not at {DATA}")


def box_config(**camera: object) -> config.Config:
    return config.from_mapping({
        "box": {"simulate": "real"},
        "camera": {"source": "file", "device": str(VIDEO), **camera},
        "keys": {"source": "sim"},
    })


def until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def signed_in(app):
    """A test client signed in as dr-a, and its CSRF token."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "name": "dr-a",
                                "password": "a long enough secret"})
    return client, token


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """A data directory in which the wizard recorded the first step of a quick screen with
    the camera recorder: the whole video, replayed in real time."""
    data_dir = tmp_path_factory.mktemp("box")
    conn = db.connect(data_dir / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password("a long enough secret"))
    records.start_session(conn, records.add_patient(conn, "P-1"), "quick")
    conn.close()
    recorder = build_recorder(box_config(), data_dir)
    app = create_app(box_config(), data_dir, recorder, testing=True)
    client, token = signed_in(app)
    assert client.post("/sessions/1/record/start", data={"csrf_token": token}).status_code == 302
    spool = raw_recordings.spool_dir(data_dir)
    until(lambda: not recorder.camera_running, "the end of the replayed video")
    # while recording, only the partial video exists: never a final file that is not whole
    assert list(spool.glob(f".*{PARTIAL_SUFFIX}"))
    assert not [path for path in spool.glob("*.avi") if not path.name.startswith(".")]
    preview = client.get("/camera/preview")
    assert preview.mimetype == "image/jpeg" and preview.data[:2] == b"\xff\xd8"
    assert client.post("/sessions/1/record/stop", data={"csrf_token": token}).status_code == 302
    recorder.close()
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "waiting for analysis" in page and "very loudly" in page  # the next step
    return data_dir


def copy_of(data_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "box"
    shutil.copytree(data_dir, out)
    return out


def test_raw_files_are_whole_and_on_one_clock(recorded):
    conn = db.connect(recorded / db.DB_FILE)
    row = conn.execute("SELECT * FROM raw_recording").fetchone()
    assert (row["task"], row["tempo_mode"], row["dynamics"], row["status"]) == \
        (1, "fixed", "pp", "waiting")
    assert row["keys_source"] == "simulated keys" and not row["keys_overflowed"]
    assert next_step(conn, 1, "quick") == Step(1, "fixed", "ff")  # the recorded step is done
    files = [recorded / row[name] for name in ("video", "times", "keys")]
    assert all(path.parent.name == "session-000001" for path in files)
    assert not [p for p in (recorded / "recordings").rglob(".*") if p.is_file()]  # no partials
    video = cv2.VideoCapture(str(files[0]))
    decoded = 0
    while video.read()[0]:
        decoded += 1
    times, keys = np.load(files[1]), np.load(files[2])
    # every frame of the replayed file is in the video or counted as dropped (none on an
    # idle machine; a loaded one may fall behind, which is what the count is for)
    assert decoded == row["frames"] == times.size == VIDEO_FRAMES - row["dropped_frames"]
    assert row["dropped_frames"] < 0.1 * VIDEO_FRAMES
    assert np.all(np.diff(times) > 0)
    # the replayed file is a 30 fps camera: its frame spacing survives the move onto the clock
    assert np.median(np.diff(times)) == pytest.approx(1 / 30, rel=0.05)
    assert keys.shape[1] == 4 and keys.shape[0] > 10
    assert times[0] <= keys[:, 1].min() and keys[:, 1].max() <= times[-1]
    assert np.all(keys[:, 2] >= keys[:, 1])


def test_worker_analyses_into_a_take_and_scores_it(recorded, tmp_path, landmark_models_dir,
                                                   trained):
    data_dir = copy_of(recorded, tmp_path)
    conn = db.connect(data_dir / db.DB_FILE)
    analysis = AnalysisSettings(models_dir=landmark_models_dir)
    assert analyse_one(conn, data_dir, analysis) == 1
    assert analyse_one(conn, data_dir, analysis) is None
    raw = conn.execute("SELECT * FROM raw_recording").fetchone()
    assert (raw["status"], raw["progress"], raw["error"]) == ("done", 1.0, "")
    take = conn.execute("SELECT * FROM take").fetchone()
    assert raw["take_id"] == take["id"] and take["status"] == "recorded"
    quality = json.loads(take["quality_json"])
    # the video shows a right hand only: the check says so in plain words
    assert not quality["ok"] and "left hand was visible in only 0 %" in quality["problems"][0]
    from device import takefile

    stored = takefile.read(data_dir / take["file"])
    assert stored.t[0] == 0 and stored.n_frames == raw["frames"]
    assert stored.meta["source"] == "camera" and stored.meta["raw_recording_id"] == 1
    assert np.isfinite(stored.landmarks[:, 1, 0, 0]).mean() > 0.85  # the right hand
    assert stored.keys.shape[0] > 10 and stored.keys[:, 1].min() >= 0
    _, model_dir = trained
    assert worker.process_all(conn, data_dir, models_mod.load(model_dir)) == 1
    assert conn.execute("SELECT status FROM take").fetchone()[0] == "scored"
    assert all(path.is_file() for path in (data_dir / raw["video"], data_dir / raw["keys"]))


def test_failed_analysis_keeps_the_files_and_asks_again(recorded, tmp_path,
                                                       landmark_models_dir):
    data_dir = copy_of(recorded, tmp_path)
    conn = db.connect(data_dir / db.DB_FILE)
    raw = conn.execute("SELECT * FROM raw_recording").fetchone()
    np.save(data_dir / raw["times"], np.load(data_dir / raw["times"])[:-5])  # damaged
    analyse_one(conn, data_dir, AnalysisSettings(models_dir=landmark_models_dir))
    raw = conn.execute("SELECT * FROM raw_recording").fetchone()
    frames = raw["frames"]
    assert raw["status"] == "failed" and f"{frames} frames but {frames - 5} frame times" in \
        raw["error"]
    assert (data_dir / raw["video"]).is_file()
    assert next_step(conn, 1, "quick") == FIRST_STEP
    assert conn.execute("SELECT COUNT(*) FROM take").fetchone()[0] == 0


ANALYSE = """
import sys
from pathlib import Path
from device.session.analysis import AnalysisSettings, analyse_one
from device.store import db
data_dir = Path(sys.argv[1])
analyse_one(db.connect(data_dir / db.DB_FILE), data_dir,
            AnalysisSettings(models_dir=Path(sys.argv[2]), progress_every_s=0.0))
"""


def test_kill_during_analysis_then_the_worker_recovers(recorded, tmp_path, landmark_models_dir,
                                                      trained):
    data_dir = copy_of(recorded, tmp_path)
    conn = db.connect(data_dir / db.DB_FILE)
    process = subprocess.Popen([sys.executable, "-c", ANALYSE, str(data_dir),
                                str(landmark_models_dir)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})

    def row() -> sqlite3.Row:
        return conn.execute("SELECT status, progress FROM raw_recording").fetchone()

    try:
        until(lambda: row()["progress"] > 0 or process.poll() is not None, "some progress")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert row()["status"] == "analysing" and 0 < row()["progress"] < 1
    assert conn.execute("SELECT COUNT(*) FROM take").fetchone()[0] == 0
    _, model_dir = trained
    background = worker.Worker(data_dir, models_mod.load(model_dir), poll_s=0.05,
                               analysis=AnalysisSettings(models_dir=landmark_models_dir))
    background.start()
    try:
        until(lambda: conn.execute("SELECT status FROM take").fetchone() is not None
              and conn.execute("SELECT status FROM take").fetchone()[0] == "scored",
              "the recovered recording to be analysed and scored")
    finally:
        background.stop()
        background.join()
    assert row()["status"] == "done"
    assert conn.execute("SELECT COUNT(*) FROM take").fetchone()[0] == 1


def test_migration_adds_raw_recordings_to_an_existing_database(tmp_path):
    path = tmp_path / db.DB_FILE
    old = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2]):
        for statement in db._statements(script):
            old.execute(statement)
        old.execute(f"PRAGMA user_version={number + 1}")
    old.execute("INSERT INTO patient (pseudonym, created) VALUES ('P-9', 0)")
    old.execute("INSERT INTO session (patient_id, protocol, started) VALUES (1, 'full', 0)")
    old.close()
    conn = db.connect(path)
    assert db.schema_version(conn) == len(MIGRATIONS) == 3
    assert conn.execute("SELECT pseudonym FROM patient").fetchone()[0] == "P-9"
    assert raw_recordings.pending(conn, 1) == []
    assert db.integrity_ok(conn)


def test_camera_that_cannot_be_opened_says_what_to_fix(tmp_path):
    cfg = box_config(source="v4l2", device=str(tmp_path / "video9"))
    with pytest.raises(RecorderError, match=r"cannot be opened.*ribbon cable.*video9"):
        build_recorder(cfg, tmp_path)
    with pytest.raises(RecorderError, match="simulate"):
        build_recorder(box_config(source="synthetic"), tmp_path)


def test_session_page_shows_analysis_progress_and_failure(recorded, tmp_path):
    from device.session.simulated import SimulatedRecorder

    data_dir = copy_of(recorded, tmp_path)
    conn = db.connect(data_dir / db.DB_FILE)
    app = create_app(box_config(), data_dir, SimulatedRecorder("healthy", 1), testing=True)
    client, _ = signed_in(app)
    conn.execute("UPDATE raw_recording SET status = 'analysing', progress = 0.42")
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "analysing 42 %" in page and "1 being processed" in page
    raw_recordings.mark_failed(conn, 1, "no hand was found in any of its 334 frames")
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "analysis failed: no hand was found in any of its 334 frames" in page
    assert "Next: Task 1, C major scale" in page and "very softly" in page


class FakeCamera:
    """A 64x48 camera at 50 fps whose frame times are ``shift_s`` off the monotonic clock
    and which fails after ``fail_after`` frames (never when None)."""

    width, height, fps = 64, 48, 50.0

    def __init__(self, shift_s: float = 0.0, fail_after: int | None = None) -> None:
        self.shift_s, self.fail_after = shift_s, fail_after
        self.delivered = 0

    def frames(self):
        from device.vision.sources import VideoError

        while True:
            if self.delivered == self.fail_after:
                raise VideoError("camera /dev/video0: stopped delivering frames")
            time.sleep(1 / self.fps)
            self.delivered += 1
            yield time.monotonic() + self.shift_s, np.full((48, 64, 3), 128, np.uint8)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("camera", "message"), [
    (FakeCamera(fail_after=20), "stopped delivering frames"),
    (FakeCamera(shift_s=-1000.0), "not on the box's monotonic clock"),
])
def test_a_recording_that_cannot_be_trusted_is_refused_and_leaves_no_file(tmp_path, camera,
                                                                        message):
    from device.hardware.keys import NoKeys
    from device.session.camera_recorder import CameraRecorder

    recorder = CameraRecorder(box_config(source="v4l2"), tmp_path, NoKeys(),
                              opener=lambda *_: camera)
    recorder.start(FIRST_STEP, "P-1")
    until(lambda: camera.delivered >= 25 or not recorder.camera_running, "some frames")
    with pytest.raises(RecorderError, match=message):
        recorder.stop()
    recorder.close()
    assert list(tmp_path.iterdir()) == []
