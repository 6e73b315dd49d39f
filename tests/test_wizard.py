"""The session wizard on simulated hardware: record, check, retake, process."""

import json
import re
import shutil

import pytest

from device import config
from device.auth.passwords import hash_password
from device.screening import models as models_mod
from device.session import worker
from device.session.quality import check_take
from device.session.simulated import SimulatedRecorder
from device.session.steps import Step, steps_for
from device.store import db, records
from device.web.app import create_app
from tests.helpers import make_take


@pytest.fixture
def client(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password("a long enough secret"))
    pid = records.add_patient(conn, "P-1")
    records.start_session(conn, pid, "quick")
    conn.close()
    app = create_app(config.load(None), tmp_path, SimulatedRecorder("dystonic", 5),
                     testing=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "name": "dr-a",
                                "password": "a long enough secret"})
    client.token = token
    client.data_dir = tmp_path
    return client


def test_quick_screen_has_sixteen_steps_in_order():
    steps = steps_for("quick")
    assert len(steps) == 16
    assert steps[0] == Step(1, "fixed", "pp") and steps[-1] == Step(7, "fastest", "ff")
    assert len(steps_for("full")) == 44


def test_session_page_shows_what_to_play(client):
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "Next: Task 1, C major scale" in page
    assert "<svg" in page and "metronome" in page and "100 bpm" in page
    preview = client.get("/camera/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/svg+xml"


def test_record_check_retake_and_process(client, trained):
    assert client.post("/sessions/1/record/start", data={"csrf_token": client.token}
                       ).status_code == 302
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "Recording: Task 1" in page
    assert client.post("/sessions/1/record/stop", data={"csrf_token": client.token}
                       ).status_code == 302
    conn = db.connect(client.data_dir / db.DB_FILE)
    row = conn.execute("SELECT * FROM take").fetchone()
    assert (row["task"], row["tempo_mode"], row["dynamics"]) == (1, "fixed", "pp")
    quality = json.loads(row["quality_json"])
    assert quality["ok"], quality
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "passed the quality checks" in page and "Next: Task 1" in page and "ff" in page
    # a retake keeps the earlier take and asks for the same step again
    client.post(f"/sessions/1/takes/{row['id']}/retake", data={"csrf_token": client.token})
    page = client.get("/sessions/1").get_data(as_text=True)
    assert ("Next: Task 1, C major scale, two octaves: at 100 beats per minute with the "
            "metronome, very softly") in page
    # processing: the tiny model scores task 4 only, so task 1 is stored with its reason
    _, model_dir = trained
    models = models_mod.load(model_dir)
    assert worker.process_all(conn, client.data_dir, models) == 1
    result = json.loads(conn.execute("SELECT data_json FROM result").fetchone()[0])
    assert result["hands"] == {"left": None, "right": None} and "no model for task 1" in \
        result["reason"]
    assert conn.execute("SELECT status FROM take").fetchone()[0] == "scored"


def test_interrupted_processing_is_queued_again(client):
    conn = db.connect(client.data_dir / db.DB_FILE)
    client.post("/sessions/1/record/start", data={"csrf_token": client.token})
    client.post("/sessions/1/record/stop", data={"csrf_token": client.token})
    conn.execute("UPDATE take SET status = 'processing'")
    assert worker.recover(conn) == 1
    assert conn.execute("SELECT status FROM take").fetchone()[0] == "recorded"


def test_quality_problems_in_plain_words():
    from device import protocol

    task = protocol.load().task(1)
    take = make_take(task=1)
    take.landmarks[:, 0] = float("nan")
    take.keys = take.keys[:3]
    result = check_take(take, task)
    assert not result.ok
    text = " ".join(result.problems)
    assert "left hand was visible in only 0 %" in text
    assert "Only 3 of the 58 notes" in text
    assert "record" in text.lower()


def test_results_pdf_export_and_import(client, trained, tmp_path):
    """After processing: the results page with its charts, the PDF, the ZIP; then a take
    file recorded elsewhere is imported and a malformed one is refused by name."""
    import io
    import zipfile

    from device import takefile

    cohort, trained_dir = trained
    model_dir = tmp_path / "models"  # the trained models with key timing norms added
    shutil.copytree(trained_dir, model_dir)
    card = json.loads((model_dir / models_mod.CARD_FILE).read_text())
    card["tasks"]["4"]["key_timing"] = {
        "method": "key-lateness/2", "finger_mean": [0.0, 0.0, 0.0, None, None],
        "finger_sd": [0.01, 0.01, 0.01, None, None], "threshold": 2.2}
    (model_dir / models_mod.CARD_FILE).write_text(json.dumps(card))
    models = models_mod.load(model_dir)
    client.application.extensions["models"] = models
    for _ in range(2):
        client.post("/sessions/1/record/start", data={"csrf_token": client.token})
        client.post("/sessions/1/record/stop", data={"csrf_token": client.token})
    good = sorted(cohort.glob("*_t04_*.take.npz"))[0]
    bad = tmp_path / "broken.take.npz"
    bad.write_bytes(b"not a take")
    with good.open("rb") as g, bad.open("rb") as b:
        response = client.post("/sessions/1/import", data={
            "csrf_token": client.token,
            "takes": [(g, good.name), (b, "broken.take.npz")]},
            content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Imported 1 take(s)" in page and "Not imported: broken.take.npz" in page
    conn = db.connect(client.data_dir / db.DB_FILE)
    assert worker.process_all(conn, client.data_dir, models) == 3
    page = client.get("/sessions/1/results").get_data(as_text=True)
    assert "Summary" in page and "not for clinical use" in page
    assert page.count("<svg") >= 4  # score chart and map for both hands of the task-4 take
    # the imported take's keys are not the task's notes: its key timing says so, not guesses
    assert "hand, key timing: not judged: the keys follow only 0 of the 26 notes" in page
    pdf = client.get("/sessions/1/report.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    archive = zipfile.ZipFile(io.BytesIO(client.get("/sessions/1/export.zip").data))
    names = archive.namelist()
    assert "results.json" in names and "results.csv" in names and "report.pdf" in names
    assert sum(n.endswith(".take.npz") for n in names) == 3
    member = tmp_path / "back.take.npz"
    member.write_bytes(archive.read(next(n for n in names if n.endswith(".npz"))))
    assert takefile.read(member).task in (1, 4)


def test_a_take_tracked_noisier_than_healthy_hands_asks_to_be_recorded_again(
        client, trained, tmp_path):
    """Scoring finds the tracking noisier than the model's healthy hands: the session page
    then asks to record the task again; scored again, the finding is not doubled."""
    from dataclasses import replace

    import numpy as np

    from device import takefile

    cohort, model_dir = trained
    models = models_mod.load(model_dir)
    take = takefile.read(sorted(cohort.glob("H*_t04_*.take.npz"))[0])
    jitter = np.random.default_rng(8).normal(0.0, 3.0, take.landmarks.shape)
    noisy = replace(take, landmarks=(take.landmarks + jitter / [*take.image_size,
                                                                 take.image_size[0]]
                                     ).astype(np.float32))
    takefile.write(tmp_path / "noisy.take.npz", noisy)
    with (tmp_path / "noisy.take.npz").open("rb") as handle:
        client.post("/sessions/1/import", data={"csrf_token": client.token,
                                                "takes": [(handle, "noisy.take.npz")]},
                    content_type="multipart/form-data")
    conn = db.connect(client.data_dir / db.DB_FILE)
    checked = json.loads(conn.execute("SELECT quality_json FROM take").fetchone()[0])
    assert "found_when_scored" not in checked  # the checks after a take know no model
    assert worker.process_all(conn, client.data_dir, models) == 1
    page = client.get("/sessions/1").get_data(as_text=True)
    assert "The last take needs attention" in page
    assert "right hand&#39;s tracking was noisier than in the healthy takes" in page
    assert "Record this task again" in page
    quality = json.loads(conn.execute("SELECT quality_json FROM take").fetchone()[0])
    found = quality["found_when_scored"]
    assert not quality["ok"] and len(found) == 4
    # the fake cohort's keys are not task 4's passage: said too, for each hand
    assert sum("tracking was noisier" in f for f in found) == 2
    assert sum("keys follow only 0 of the 26 notes task 4 gives it" in f for f in found) == 2
    assert quality["problems"] == checked["problems"] + quality["found_when_scored"]
    conn.execute("UPDATE take SET status = 'recorded'")
    assert worker.process_all(conn, client.data_dir, models) == 1
    again = json.loads(conn.execute("SELECT quality_json FROM take").fetchone()[0])
    assert again == quality


def test_checks_stored_while_a_take_is_scored_are_kept(tmp_path, monkeypatch):
    """The worker merges its finding into the checks as stored when it writes, not as they
    were when it picked the take up."""
    from device.store import recordings
    from device.store.transactions import transaction

    conn = db.connect(tmp_path / db.DB_FILE)
    session = records.start_session(conn, records.add_patient(conn, "P-2"), "quick")
    take_id = recordings.store_take(conn, tmp_path, session, make_take(task=1))
    problem = "The left hand was visible in only 50 % of the playing."
    scoring = worker.score_take

    def checks_land_meanwhile(*args, **kwargs):
        other = db.connect(tmp_path / db.DB_FILE)
        with transaction(other):
            other.execute("UPDATE take SET quality_json = ? WHERE id = ?",
                          (json.dumps({"ok": False, "problems": [problem]}), take_id))
        other.close()
        return scoring(*args, **kwargs)

    monkeypatch.setattr(worker, "score_take", checks_land_meanwhile)
    assert worker.process_one(conn, tmp_path, models_mod.load()) == take_id
    row = conn.execute("SELECT status, quality_json FROM take").fetchone()
    assert row["status"] == "scored"
    stored = json.loads(row["quality_json"])
    assert stored["problems"] == [problem, *stored["found_when_scored"]] and not stored["ok"]
