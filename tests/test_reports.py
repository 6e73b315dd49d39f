import base64
import copy
import csv
import io
import json
import struct
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from pypdf import PdfReader

from device import takefile
from device.reports import charts, export, load, pdf, summary
from device.reports.model import (
    NOT_FOR_CLINICAL_USE,
    Biomechanics,
    Tojt,
    TojtTrial,
    hand_views,
)
from device.store import db, recordings, records
from tests import report_inputs
from tests.helpers import make_take

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text
    assert root.find(f"{SVG}desc").text
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def report():
    return report_inputs.session()


def worst_take(report):
    return next(t for t in report.takes if t.task == 4 and t.dynamics == "ff")


def test_score_chart_marks_threshold_and_verdict(report):
    norm = report.card.tasks[4]
    normal = parse_svg(charts.score_chart(norm.validation_error_mean, norm, "Task 4 right"))
    assert any("normal" in t and "abnormal" not in t for t in texts(normal))
    assert "threshold" in texts(normal) and "mean + 2 SD" in texts(normal)
    near = parse_svg(charts.score_chart(norm.threshold * 1.02, norm, "Task 4 right"))
    assert any("abnormal" in t for t in texts(near))
    far = parse_svg(charts.score_chart(norm.threshold * 3, norm, "Task 4 right"))
    assert any("SD above healthy >>" in t for t in texts(far))  # off scale, labelled
    assert "abnormal" in far.find(f"{SVG}desc").text


def test_explanation_map_highlights_worst_finger_and_moment(report):
    take = worst_take(report)
    right = hand_views(take.score)["right"]
    svg = charts.explanation_map(right.explanation, take.score["details"]["window_s"], "map")
    root = parse_svg(svg)
    bold = [t.text for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold"]
    assert "middle" in bold
    assert "middle deviated most" in root.find(f"{SVG}desc").text
    assert "time in the take (s)" in texts(root)
    image = root.find(f"{SVG}image")
    png = base64.b64decode(image.get("{http://www.w3.org/1999/xlink}href").split(",", 1)[1])
    width, height = struct.unpack(">II", png[16:24])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (128 * 4, 6 * 20)
    relative = charts.relative_finger_time(right.explanation)
    for finger, row in relative.items():
        assert np.mean(row) == pytest.approx(right.explanation["finger_ratio"][finger])
    box = [r for r in root.iter(f"{SVG}rect") if r.get("stroke") == charts.BLUE
           and float(r.get("width")) > 20]
    start = float(box[0].get("x"))
    left, plot_w = float(image.get("x")), float(image.get("width"))
    assert (start - left) / plot_w == pytest.approx(
        right.explanation["worst_window_fraction"][0] * 127 / 128, abs=0.01)


def test_explanation_map_shows_the_named_fingers_curl_when_the_score_has_one(report):
    take = worst_take(report)
    explanation = dict(hand_views(take.score)["right"].explanation)
    explanation.pop("score_ratio", None)  # as stored before the curl's share in naming
    without = parse_svg(charts.explanation_map(explanation, None, "map"))
    assert not any("curl" in t for t in texts(without))
    assert "curl" not in without.find(f"{SVG}desc").text
    explanation["score_ratio"] = {"thumb": 0.8, "index": 1.1, "middle": 5.46, "ring": 0.9,
                                  "little": 1.0}
    root = parse_svg(charts.explanation_map(explanation, None, "map"))
    assert "middle: curl 5.5x healthy" in texts(root)
    assert "its curl 5.5 times healthy" in root.find(f"{SVG}desc").text


def test_followup_chart_has_every_task_and_visit(report):
    root = parse_svg(charts.followup_chart(report.earlier))
    labels = texts(root)
    assert {"task 1", "task 3", "task 4", "task 7"} <= set(labels)
    assert "2026-07-21" in labels and "2026-09-19" in labels
    assert "threshold" in labels


def test_summary_names_hand_finger_task_and_moment(report):
    text = summary.summarise(report).text()
    assert text.startswith("2 of 8 scored takes looked abnormal, all in the right hand.")
    assert "the middle finger deviated most, towards the end" in text
    assert "task 4 (E major arpeggio" in text
    assert "clearly above the healthy threshold (2.5 times it)" in text
    assert "Task 7 (Thirds, one octave), played softly (pp) at the set tempo, left hand: " \
           "could not be scored (hand not found in 62% of frames)" in text
    assert "Task 9 (Repeated five-note chord), played softly (pp) as fast as possible: " \
           "scoring failed" in text
    assert NOT_FOR_CLINICAL_USE in text
    assert "not a diagnosis" in text
    assert "biomechanics" not in text.lower() and "temporal order" not in text.lower()


def test_summary_without_abnormal_takes_or_synthetic_label():
    report = report_inputs.session(clinical_use=True)
    calm = [replace(t, score=None, status="recorded") if t.task == 4 else t
            for t in report.takes]
    text = summary.summarise(replace(report, takes=calm)).text()
    assert text.startswith("None of the 6 scored takes looked abnormal")
    assert NOT_FOR_CLINICAL_USE not in text
    assert "trained on recorded data" in text


def test_summary_optional_sections_only_from_given_results(report):
    extra = replace(
        report,
        biomechanics=Biomechanics(z={"peak force": {"ring": 2.6, "index": 0.4},
                                     "release time": {"ring": 1.1}},
                                  asymmetry={"peak force": 5.3, "tapping rate": 1.2}),
        tojt=Tojt(threshold_s=0.092, trials=tuple(TojtTrial(0.05, i % 3 != 0)
                                                   for i in range(30))))
    lines = summary.summarise(extra)
    assert lines.biomechanics == [
        "Finger biomechanics:",
        "Peak force: outside the healthy range for ring finger 2.6 SD above.",
        "Release time: every finger within 2 SD of healthy players.",
        "Left/right asymmetry of peak force: 5.3, beyond what healthy players give (up to 4.7).",
        "Left/right asymmetry of tapping rate: 1.2, within what healthy players give (up to "
        "4.7).",
    ]
    assert lines.tojt == ["Temporal order judgement: threshold 92 ms (75 % correct; 30 trials, "
                          "20 answered correctly)."]


def test_pdf_pages_text_and_footer(report, tmp_path):
    path = pdf.write_pdf(report, tmp_path / "out" / "report.pdf")
    reader = PdfReader(path)
    pages = [p.extract_text() for p in reader.pages]
    assert len(pages) >= 3
    assert "P-0042" in pages[0] and "1994" in pages[0] and "dr.bauer" in pages[0]
    assert "2 of 8 scored takes looked abnormal" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert NOT_FOR_CLINICAL_USE in page
        assert f"Page {number} of {len(pages)}" in page
    body = "\n".join(pages)
    assert "Right hand: ABNORMAL; severity 2.51 (error 0.06," in body
    assert "Right hand, key timing: the middle finger strikes LATE (latest finger middle, z " \
           "3.10" in body.replace("\n", " ")
    assert "Left hand, key timing: even" in body
    assert "Follow-up over visits" in pages[0]
    no_history = PdfReader(io.BytesIO(pdf.render(replace(report, earlier=[]))))
    assert len(no_history.pages) == len(pages)
    assert "Follow-up" not in no_history.pages[0].extract_text()
    assert not list(path.parent.glob(".*.part"))


@pytest.fixture
def stored(tmp_path):
    """Two visits of one patient in a real store, scored with hand-built results."""
    conn = db.connect(tmp_path / db.DB_FILE)
    clinician = records.add_clinician(conn, "dr.bauer", "$argon2id$fake")
    patient = records.add_patient(conn, "P-0042", year_of_birth=1994)
    card = {"model_id": "ae-test", "clinical_use": False, "provenance": {"data": "synthetic"},
            "label": "synthetic", "tasks": {"4": {"threshold": report_inputs.THRESHOLD,
                                                  "validation_error_mean": report_inputs.MEAN,
                                                  "validation_error_sd": report_inputs.SD}}}
    conn.execute("INSERT INTO model_version VALUES (?, ?, ?, ?)",
                 ("ae-test", "synthetic", json.dumps(card), time.time()))
    rng = np.random.default_rng(0)
    sessions = []
    for visit, right in enumerate((0.025, 0.06)):
        session = records.start_session(conn, patient, "quick", clinician)
        conn.execute("UPDATE session SET started = ? WHERE id = ?",
                     (report_inputs.STARTED + visit * 30 * report_inputs.DAY, session))
        for dynamics in ("pp", "ff"):
            take = make_take(task=4)
            take.meta["dynamics"] = dynamics
            take_id = recordings.store_take(conn, tmp_path, session, take)
            score = report_inputs.take_score(rng, 4, 0.0212, right, "middle")
            conn.execute("INSERT INTO result (session_id, take_id, kind, model_id, data_json, "
                         "created) VALUES (?, ?, 'screening', 'ae-test', ?, ?)",
                         (session, take_id, json.dumps(score), time.time()))
        sessions.append(session)
    yield conn, tmp_path, sessions
    conn.close()


def test_session_report_from_store(stored):
    conn, _, (first, second) = stored
    report = load.session_report(conn, second, models=None, box_name="clinic-box-1")
    assert (report.patient_pseudonym, report.year_of_birth, report.clinician) == \
           ("P-0042", 1994, "dr.bauer")
    assert [t.dynamics for t in report.takes] == ["pp", "ff"]
    assert all(t.score is not None for t in report.takes)
    assert report.card.model_id == "ae-test" and not report.card.clinical_use
    assert [e.session_id for e in report.earlier] == [first]
    assert report.earlier[0].severities[4] == pytest.approx(0.025 / report_inputs.THRESHOLD)
    with pytest.raises(ValueError, match="session 99 does not exist"):
        load.session_report(conn, 99, models=None)


def test_zip_export_members_and_csv(stored, tmp_path):
    conn, data_dir, (_, second) = stored
    report = load.session_report(conn, second, models=None)
    report_pdf = pdf.write_pdf(report, tmp_path / "r.pdf")
    path = export.write_zip(report, data_dir, tmp_path / "export" / "session.zip", report_pdf)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert sorted(n for n in names if n.startswith("takes/")) == sorted(
            f"takes/{t.file.rsplit('/', 1)[1]}" for t in report.takes)
        assert {"results.json", "results.csv", "report.pdf"} <= set(names)
        data = json.loads(archive.read("results.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
        member = archive.read(names[0])
    assert data["patient"] == {"pseudonym": "P-0042", "year_of_birth": 1994}
    assert data["model"]["model_id"] == "ae-test"
    assert len(data["takes"]) == 2 and data["takes"][0]["result"]["task"] == 4
    assert [(r["dynamics"], r["hand"], r["abnormal"]) for r in rows] == [
        ("pp", "left", "false"), ("pp", "right", "true"),
        ("ff", "left", "false"), ("ff", "right", "true")]
    assert rows[1]["worst_finger"] == "middle" and float(rows[1]["severity"]) > 1
    assert float(rows[1]["worst_moment_end_s"]) > float(rows[1]["worst_moment_start_s"])
    assert (rows[1]["key_timing_abnormal"], rows[1]["key_timing_finger"]) == ("true", "middle")
    assert (rows[0]["key_timing_abnormal"], rows[0]["key_timing_score"]) == ("false", "0.400")
    (tmp_path / "m.take.npz").write_bytes(member)
    assert takefile.read(tmp_path / "m.take.npz").task == 4


def test_zip_export_refuses_missing_take_file(stored, tmp_path):
    conn, data_dir, (_, second) = stored
    report = load.session_report(conn, second, models=None)
    (data_dir / report.takes[0].file).unlink()
    target = tmp_path / "session.zip"
    with pytest.raises(FileNotFoundError, match="is missing"):
        export.write_zip(report, data_dir, target)
    assert not target.exists()


def test_import_reports_each_bad_file_by_name(tmp_path):
    good = takefile.write(tmp_path / "good.take.npz", make_take(task=3))
    truncated = tmp_path / "cut.take.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    wrong_task = make_take(task=3)
    wrong_task.landmarks = wrong_task.landmarks[:, :1]
    bad_shape = tmp_path / "shape.take.npz"
    np.savez(bad_shape, format=takefile.FORMAT, task=3, t=wrong_task.t,
             landmarks=wrong_task.landmarks, image_size=np.array([1280, 720]),
             keys=wrong_task.keys, meta=json.dumps(wrong_task.meta))
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.write(good, "a/good.take.npz")
        archive.write(truncated, "a/cut.take.npz")
        archive.writestr("notes.txt", "hello")
    result = export.read_import([good, truncated, bad_shape, bundle,
                                 tmp_path / "missing.take.npz"])
    assert [v.name for v in result.valid] == ["good.take.npz", "bundle.zip:a/good.take.npz"]
    assert result.valid[0].take.task == 3
    assert len(result.errors) == 5
    assert result.errors[0].startswith("cut.take.npz: not a readable .npz archive")
    assert result.errors[1].startswith("shape.take.npz: key 'landmarks': ")
    assert result.errors[2].startswith("bundle.zip:a/cut.take.npz: not a readable")
    assert result.errors[3] == "bundle.zip:notes.txt: not a take file (*.take.npz)"
    assert result.errors[4] == "missing.take.npz: file not found"


def test_summary_counts_each_hand_when_both_are_abnormal():
    rng = np.random.default_rng(5)
    report = report_inputs.session()
    both = replace(report.takes[0], score=report_inputs.take_score(rng, 1, 0.04, 0.05, "ring"))
    text = summary.summarise(replace(report, takes=[*report.takes, both])).text()
    assert text.startswith("3 of 9 scored takes looked abnormal: the left hand in 1, the right "
                           "hand in 3.")
    views = [h for t in [*report.takes, both] for h in hand_views(t.score).values()
             if h is not None and h.abnormal]
    middle = sum(h.worst_finger == "middle" for h in views)
    assert f"Of the 4 abnormal hands, the middle finger was the most unusual finger in {middle} " \
           "of them" in text
    assert "Abnormal takes came from task 1 (C major scale" in text


def test_each_hand_is_drawn_over_its_own_window(report):
    """Since kinematics/2 a hand's details carry the seconds it was judged on; scores
    written before that carry the take's window only, which both hands then use."""
    score = copy.deepcopy(worst_take(report).score)
    assert hand_views(score)["right"].window_s == (2.0, 14.0)
    score["details"]["right"]["window_s"] = [2.5, 9.0]
    views = hand_views(score)
    assert views["right"].window_s == (2.5, 9.0)
    assert views["left"].window_s == (2.0, 14.0)


def test_a_hand_tracked_noisier_than_healthy_hands_is_said_so_on_the_page_and_in_the_pdf(
        report, tmp_path):
    from device.web.results import hand_panels

    first = next(t for t in report.takes if t.score and t.score["hands"]["right"])
    score = copy.deepcopy(first.score)
    score["details"]["right"]["tracking_noise"] = {
        "measure": "tracking-noise/1", "value": 0.041, "limit": 0.024, "above_limit": True}
    score["details"]["left"]["tracking_noise"] = {
        "measure": "tracking-noise/1", "value": 0.012, "limit": 0.024, "above_limit": False}
    noisy = replace(report, takes=[replace(first, score=score)])
    hands = {h["hand"]: h for h in hand_panels(noisy)[0]["hands"]}
    said = ("The right hand's tracking was noisier than in the healthy takes the model learnt "
            "from (4.1 % of the palm's length from frame to frame, at most 2.4 % expected)")
    assert len(hands["right"]["findings"]) == 1 and hands["right"]["findings"][0].startswith(said)
    assert hands["left"]["findings"] == []
    assert all(not h.get("findings") for panel in hand_panels(report) for h in panel["hands"])
    text = " ".join(p.extract_text() for p in PdfReader(
        pdf.write_pdf(noisy, tmp_path / "noisy.pdf")).pages).replace("\n", " ")
    assert said in text and "left hand's tracking" not in text
    rows = list(csv.DictReader(io.StringIO(export.results_csv(noisy))))
    assert [(r["hand"], r["tracking_noise"], r["tracking_noise_limit"]) for r in rows] == [
        ("left", "0.01200", "0.02400"), ("right", "0.04100", "0.02400")]
    assert all(r["tracking_noise"] == "" for r in csv.DictReader(
        io.StringIO(export.results_csv(report))))  # results from before the check


def test_the_report_reads_a_hands_tracking_as_the_box_judged_it(report):
    from device.screening.tracking_norm import TrackingCheck

    first = next(t for t in report.takes if t.score and t.score["hands"]["right"])
    score = copy.deepcopy(first.score)
    for hand, noise in (("right", 0.0228795), ("left", 0.0228787)):  # a hair above, below
        check = TrackingCheck(noise, 0.0228791166)
        score["details"][hand]["tracking_noise"] = json.loads(json.dumps(check.as_dict()))
        assert hand_views(score)[hand].tracking.above_limit == check.above_limit
    assert hand_views(score)["right"].tracking.above_limit


def test_a_hand_whose_keys_do_not_follow_the_task_is_said_so_on_the_page_in_the_pdf_and_csv(
        report, tmp_path):
    from device.web.results import hand_panels

    first = next(t for t in report.takes if t.score and t.score["hands"]["right"])
    score = copy.deepcopy(first.score)
    score["details"]["right"]["passage"] = {
        "notes_followed": 9, "notes_expected": 26, "as_the_task": False}
    score["details"]["left"]["passage"] = {
        "notes_followed": 26, "notes_expected": 26, "as_the_task": True}
    elsewhere = replace(report, takes=[replace(first, score=score)])
    hands = {h["hand"]: h for h in hand_panels(elsewhere)[0]["hands"]}
    said = (f"The right hand's keys follow only 9 of the 26 notes task {first.task} gives it")
    assert len(hands["right"]["findings"]) == 1 and hands["right"]["findings"][0].startswith(said)
    assert hands["left"]["findings"] == []
    text = " ".join(p.extract_text() for p in PdfReader(
        pdf.write_pdf(elsewhere, tmp_path / "elsewhere.pdf")).pages).replace("\n", " ")
    assert said in text and "left hand's keys" not in text
    rows = list(csv.DictReader(io.StringIO(export.results_csv(elsewhere))))
    assert [(r["hand"], r["notes_followed"], r["notes_expected"], r["plays_the_task"])
            for r in rows] == [("left", "26", "26", "true"), ("right", "9", "26", "false")]
    assert all(r["plays_the_task"] == "" for r in csv.DictReader(
        io.StringIO(export.results_csv(report))))  # results from before the check


def test_a_take_without_key_data_is_said_to_be_judged_from_the_hands_movement(report, tmp_path):
    from device.screening.findings import motion_trim_note
    from device.web.results import hand_panels

    first = next(t for t in report.takes if t.score and t.score["hands"]["right"])
    score = copy.deepcopy(first.score)
    for hand in ("left", "right"):
        score["details"][hand] |= {"trimmed_by": "motion", "threshold_from": "motion"}
    bare = replace(report, takes=[replace(first, score=score)])
    hands = {h["hand"]: h for h in hand_panels(bare)[0]["hands"]}
    # the page's summary says once what no key data means; each hand says it short
    assert hands["right"]["findings"] == [motion_trim_note("right")]
    assert summary.summarise(bare).without_keys[0].startswith("No scored take of this session")
    # the chart draws the healthy distribution the hand was judged against
    from device.reports.model import CardSummary, hand_views

    entry = {"threshold": 1.0, "validation_error_mean": 0.5, "validation_error_sd": 0.25}
    card = CardSummary.from_card({"tasks": {str(first.task): entry | {"without_keys": {
        "threshold": 2.0, "validation_error_mean": 1.0, "validation_error_sd": 0.5}}}})
    assert card.norm_for(first.task, hand_views(score)["right"]).threshold == 2.0
    assert card.norm_for(first.task, hand_views(first.score)["right"]).threshold == 1.0
    text = " ".join(p.extract_text() for p in PdfReader(
        pdf.write_pdf(bare, tmp_path / "bare.pdf")).pages).replace("\n", " ")
    # said once in the summary, and short for each hand
    assert ("No scored take of this session had key data: the playing was found from the "
            "hands' movement alone. Judged this way the models find fewer dystonic takes") in text
    assert "The right hand's playing was found from its movement alone (see the summary)" in text
    assert "The right hand's playing was found from the hands' movement alone" not in text
    mixed = replace(report, takes=[replace(t, score=score) if t is first else t
                                   for t in report.takes])
    n_hands = sum(h is not None for t in report.takes if t.score
                  for h in t.score["hands"].values())
    assert summary.summarise(mixed).without_keys[0].startswith(
        f"2 of the {n_hands} scored hands had no key data")
    assert summary.summarise(report).without_keys == []
    rows = list(csv.DictReader(io.StringIO(export.results_csv(bare))))
    assert [r["trimmed_by"] for r in rows] == ["motion", "motion"]
    # scores from before the field were trimmed by the keys (or said nothing)
    assert all(r["trimmed_by"] in ("keys", "") for r in csv.DictReader(
        io.StringIO(export.results_csv(report))))
