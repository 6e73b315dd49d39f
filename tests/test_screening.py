"""Training, int8 export, model card, scoring and evaluation, on a tiny cohort."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from device import takefile
from device.kinematics import PREPROCESSING_VERSION
from device.screening import models as models_mod
from device.screening.explain import FINGER_GROUPS, explain
from device.screening.runtime import TfliteModel
from device.screening.score import score_take
from tests.fake_cohort import write_cohort
from tests.helpers import make_take

pytest.importorskip("tensorflow")

TASK = 4


def test_model_card_keeps_contract_3(trained):
    _, out = trained
    card = json.loads((out / "model_card.json").read_text())
    entry = card["tasks"][str(TASK)]
    assert (out / entry["file"]).is_file()
    assert entry["input_shape"] == [1, 128, 21, 3]
    assert entry["preprocessing"] == PREPROCESSING_VERSION
    assert "int8" in entry["threshold_method"]
    assert card["provenance"]["data"] == "synthetic"
    assert card["provenance"]["generator"] == ["tests.fake_cohort/1"]
    assert card["provenance"]["seeds"] == [3]
    assert card["clinical_use"] is False and "not for clinical use" in card["label"]
    assert card["created"][:4].isdigit()
    # no person in both parts
    assert not set(entry["train_participants"]) & set(entry["validation_participants"])
    assert all(p.startswith("H") for p in entry["train_participants"])


def test_threshold_is_mean_plus_two_sd_of_int8_validation_errors(trained):
    """Each validation hand at its best window end: its key window and the same window with
    its end moved by each of the card's shifts, the lowest score kept (recomputed here)."""
    cohort, out = trained
    card = json.loads((out / "model_card.json").read_text())
    entry = card["tasks"][str(TASK)]
    from device.kinematics.errors import HandUnusableError
    from device.kinematics.prepare import DEFAULT_SETTINGS, prepare, prepare_hand
    from device.screening.statistic import hand_score

    runner = TfliteModel(out / entry["file"])
    assert entry["score"] == "curl/1" and len(entry["finger_window_norm"]) == 5
    shifts = entry["trim_search"]["end_shifts_s"]
    assert shifts == [-0.075, -0.05, -0.025, 0.025, 0.05, 0.075]
    assert "best window end" in entry["threshold_method"]

    def score(x):
        return hand_score("curl/1", x, runner(x), entry["finger_window_norm"])

    errors, nominal = [], []
    for path in sorted(cohort.glob("*.take.npz")):
        if path.name.split("_")[0] in entry["validation_participants"]:
            take = takefile.read(path)
            for name, hand in prepare(take).hands.items():
                start, end = hand.window
                candidates = [score(hand.data)]
                for shift in shifts:
                    try:
                        moved = prepare_hand(take, name, (start, end + shift), DEFAULT_SETTINGS)
                    except HandUnusableError:
                        continue
                    candidates.append(score(moved[0]))
                errors.append(min(candidates))
                nominal.append(candidates[0])
    assert len(errors) == entry["n_validation_hands"]
    assert sum(e < n for e, n in zip(errors, nominal, strict=True)) > len(errors) / 2
    # and what the box itself scores on those hands
    models = models_mod.load(out)
    boxed = [hand for path in sorted(cohort.glob("*.take.npz"))
             if path.name.split("_")[0] in entry["validation_participants"]
             for hand in score_take(takefile.read(path), models).hands.values()]
    assert sorted(h.error for h in boxed) == pytest.approx(sorted(errors), rel=1e-9)
    # the explanation's healthy reference comes from the same windows
    fingers = np.mean([h.explanation.finger_time.mean(axis=1) for h in boxed], axis=0)
    assert entry["validation_finger_error_mean"] == pytest.approx(fingers, rel=1e-6)
    assert entry["validation_mse_mean"] == pytest.approx(np.mean([h.mse for h in boxed]),
                                                         rel=1e-6)
    expected = np.mean(errors) + 2 * np.std(errors, ddof=1)
    assert entry["threshold"] == pytest.approx(expected, rel=1e-6)
    assert entry["validation_error_mean"] == pytest.approx(np.mean(errors), rel=1e-6)


def test_a_take_without_key_data_is_judged_against_a_threshold_set_without_keys(trained):
    """The card's second threshold comes from the same validation hands with their key data
    left out, each judged as the box judges such a hand (trimmed by its movement, at its best
    window around it); the box judges a hand without keys against it, and one with keys
    against the usual threshold."""
    cohort, out = trained
    entry = json.loads((out / "model_card.json").read_text())["tasks"][str(TASK)]
    bare = entry["without_keys"]
    assert "key data left out" in bare["threshold_method"]
    models = models_mod.load(out)
    takes = [takefile.read(path) for path in sorted(cohort.glob("*.take.npz"))
             if path.name.split("_")[0] in entry["validation_participants"]]
    without = [hand for take in takes
               for hand in score_take(replace(take, keys=np.zeros((0, 4))), models).hands.values()
               if hand is not None]
    assert len(without) == bare["n_validation_hands"] >= 2
    assert {hand.trimmed_by for hand in without} == {"motion"}
    assert {hand.threshold for hand in without} == {bare["threshold"]}
    errors = [hand.error for hand in without]
    assert bare["threshold"] == pytest.approx(np.mean(errors) + 2 * np.std(errors, ddof=1),
                                              rel=1e-9)
    assert bare["validation_error_mean"] == pytest.approx(np.mean(errors), rel=1e-9)
    hand = without[0]
    assert hand.abnormal == (hand.error > bare["threshold"])
    assert hand.z == pytest.approx((hand.error - bare["validation_error_mean"])
                                   / bare["validation_error_sd"])
    keyed = score_take(takes[0], models).hands["right"]
    assert keyed.trimmed_by == "keys" and keyed.threshold == entry["threshold"]
    assert bare["threshold"] != entry["threshold"]


def test_a_key_sensor_that_times_releases_otherwise_finds_the_window_the_model_knows(trained):
    """Releases reported 50 ms early: the search tries the end 50 ms later, which is the
    window as the generator's keys timed it, so the hand scores no worse than it did, and no
    worse than on the moved window alone (all it gets without the search). The tiny model
    has not learnt timing well enough for the moved window to cost much; the shipped models'
    figures are in docs/evaluation-default-models.md."""
    cohort, out = trained
    models = models_mod.load(out)
    searched = models.tasks[TASK]
    bare = models_mod.load(out)
    bare.tasks[TASK].trim_search = None
    for path in sorted(cohort.glob("H*.take.npz"))[:6]:
        take = takefile.read(path)
        early = take.keys.copy()
        early[:, 2] -= 0.05
        moved = score_take(replace(take, keys=early), models)
        as_timed = score_take(take, bare)
        single = score_take(replace(take, keys=early), bare)
        for hand in ("left", "right"):
            assert moved.hands[hand].error <= as_timed.hands[hand].error * (1 + 1e-6)
            assert moved.hands[hand].error <= single.hands[hand].error * (1 + 1e-6)
            start, end = moved.hands[hand].window_s
            assert start == pytest.approx(single.hands[hand].window_s[0])
            assert end == pytest.approx(single.hands[hand].window_s[1]
                                        + moved.hands[hand].end_moved_s)
    assert searched.trim_search is not None


def test_int8_model_is_fully_quantised(trained):
    _, out = trained
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(out / "task04.tflite"))
    interpreter.allocate_tensors()
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert interpreter.get_output_details()[0]["dtype"] == np.float32
    kinds = {d["dtype"] for d in interpreter.get_tensor_details()}
    assert np.int8 in kinds


def run_score(*args):
    return subprocess.run([sys.executable, "-m", "device", "score", *map(str, args)],
                          capture_output=True, text=True)


def test_score_json_contract(trained, tmp_path):
    cohort, out = trained
    files = sorted(cohort.glob("*.take.npz"))[:2]
    result = run_score(*files, "--models", out, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, files, strict=True):
        obj = json.loads(line)
        assert obj["file"] == str(path)
        assert obj["task"] == TASK
        for hand in ("left", "right"):
            h = obj["hands"][hand]
            assert set(h) >= {"error", "threshold", "abnormal"}
            assert h["abnormal"] == (h["error"] > h["threshold"])
        assert obj["abnormal"] == any(obj["hands"][h]["abnormal"] for h in ("left", "right"))
        assert obj["model"]["trained_on"] == "synthetic" and obj["model"]["id"]


def test_score_bad_file_exit_2_one_line(trained, tmp_path):
    cohort, out = trained
    bad = tmp_path / "broken.take.npz"
    bad.write_bytes(b"nope")
    good = sorted(cohort.glob("*.take.npz"))[0]
    result = run_score(good, bad, "--models", out, "--json")
    assert result.returncode == 2
    assert len(result.stdout.strip().splitlines()) == 1  # the good file is still scored
    message = [ln for ln in result.stderr.splitlines() if "broken.take.npz" in ln]
    assert len(message) == 1


def test_missing_hand_is_null_with_reason_other_scored(trained):
    _, out = trained
    models = models_mod.load(out)
    take = make_take(task=TASK)
    take.landmarks[:, 0] = np.nan
    obj = score_take(take, models, "x").as_contract()
    assert obj["hands"]["left"] is None
    assert "left hand" in obj["reason"] and "not found" in obj["reasons"]["left"]
    assert obj["hands"]["right"]["error"] > 0
    from device.commands.score import describe

    header = describe(score_take(take, models, "x")).splitlines()[0]
    verdict = "ABNORMAL" if obj["abnormal"] else "normal (left hand not scored)"
    assert header.endswith(f": {verdict}")


def test_each_hand_is_judged_on_its_own_playing(trained):
    """The details name the window each hand was judged on (since kinematics/2: its own keys)."""
    _, out = trained
    models = models_mod.load(out)
    take = make_take(task=TASK, n_frames=300)
    t = take.t
    take.keys = np.array([[60.0, t[20], t[250], 0.5], [52.0, t[20], t[150], 0.5]])
    details = score_take(take, models, "x").as_contract()["details"]
    for hand, end in (("left", t[150]), ("right", t[250])):
        moved = details[hand]["window_end_moved_s"]  # by the trim search
        assert moved in (0.0, -0.075, -0.05, -0.025, 0.025, 0.05, 0.075)
        assert details[hand]["window_s"] == pytest.approx([t[20], end + moved])
    assert details["window_s"] == [t[20], t[250]]
    left = details["left"]["window_s"]
    worst = details["left"]["explanation"]["worst_window_s"]
    assert left[0] - 5e-4 <= worst[0] < worst[1] <= left[1] + 5e-4  # given to the millisecond
    # the default curl/1 score's own finger ratios are given, and take part in the naming
    assert models.tasks[TASK].score == "curl/1"
    ex = details["left"]["explanation"]
    assert list(ex["score_ratio"]) == ["thumb", "index", "middle", "ring", "little"]
    product = {f: r * ex["score_ratio"].get(f, 1.0) for f, r in ex["finger_ratio"].items()}
    assert ex["worst_finger"] == max(product, key=product.get)


def test_unknown_task_and_too_few_frames(trained):
    _, out = trained
    models = models_mod.load(out)
    obj = score_take(make_take(task=9), models, "x").as_contract()
    assert obj["hands"] == {"left": None, "right": None}
    assert "no model for task 9" in obj["reasons"]["right"]
    assert obj["abnormal"] is None
    short = make_take(n_frames=40, task=TASK)
    short.keys = np.array([[60.0, short.t[10], short.t[14], 0.5]])
    obj = score_take(short, models, "x").as_contract()
    assert "only 5 video frames" in obj["reasons"]["left"]


def test_evaluate_json_table(trained):
    cohort, out = trained
    result = subprocess.run(
        [sys.executable, "-m", "model_export", "evaluate", "--cohort", str(cohort),
         "--models", str(out), "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    task = data["tasks"][str(TASK)]
    assert data["held_out"] == "training participants excluded"
    assert task["n_dystonic_takes"] == 6
    card = json.loads((out / "model_card.json").read_text())
    held_out = len(card["tasks"][str(TASK)]["validation_participants"])
    assert task["n_healthy_takes"] == 2 * held_out
    # the AUC's interval draws participants: none from a single healthy participant
    assert (task["auc_interval"] is None) == (held_out < 2)
    if held_out >= 2:
        assert task["auc_interval"][0] <= task["auc"] <= task["auc_interval"][1]
    for key in ("sensitivity", "specificity", "auc", "threshold", "by_severity",
                "severity_found"):
        assert key in task
    assert set(task["key_timing"]["severity_found"]) == {"50", "90"}
    for key in ("sensitivity", "specificity"):  # 95 % over participants
        low, high = task[f"{key}_interval"]
        assert 0.0 <= low <= task[key] <= high <= 1.0 and high - low > 0.05
    from model_export.screening.evaluate import table

    row = next(line for line in table(data).splitlines() if line.startswith(f"| {TASK} |"))
    low, high = (round(100 * v) for v in task["sensitivity_interval"])
    assert row.split(" | ")[1] == f"{100 * task['sensitivity']:.0f} % ({low}-{high})"
    assert 0.0 <= task["int8_vs_float"]["decision_agreement"] <= 1.0
    assert task["int8_vs_float"]["takes"] == task["n_healthy_takes"] + task["n_dystonic_takes"]
    assert 0.0 <= task["int8_vs_float"]["take_decision_agreement"] <= 1.0


def test_setups_score_the_cohort_through_other_cameras_and_trackers(trained, tmp_path):
    from model_export.screening.setups import SETUPS, robustness

    cohort, out = trained
    rows = {row["setup"]: row for row in robustness(cohort, models_mod.load(out), [TASK])}
    assert list(rows) == [s.name for s in SETUPS]
    reference = rows["as generated"]
    assert reference["healthy_score_ratio_median"] == 1.0
    assert reference["n_healthy_takes"] == 12 and reference["n_dystonic_takes"] == 6
    # a 4:3 image of the same hands is the same hands: nothing may change
    cropped = rows["4:3 image (sides cut off)"]
    assert cropped["healthy_score_ratio_median"] == pytest.approx(1.0, abs=1e-4)
    assert cropped["specificity"] == reference["specificity"]
    # kinematics/4 brings depth to one scale: a tracker with another depth scale changes
    # nothing either; a noisier one does
    for deeper in ("depth x 2", "depth x 0.5"):
        assert rows[deeper]["healthy_score_ratio_median"] == pytest.approx(1.0, abs=1e-3)
    assert rows["tracker jitter + 2 px"]["healthy_score_ratio_median"] != pytest.approx(
        1.0, abs=1e-3)
    # the box reports the noisier tracker, and not the camera's other set-ups (the fake
    # cohort's tracker jitters 1.3 px: 2 px more is not always above the limit)
    assert rows["tracker jitter + 2 px"]["tracking_noisy_share"] > 0.5
    # frames that hold the other hand are left out: a tracker that swaps the labels for a
    # moment costs nothing (the hands' scores were 70 times higher before)
    swapped = rows["hands' labels swapped for 3 frames"]
    assert swapped["healthy_score_ratio_median"] == pytest.approx(1.0, abs=0.05)
    assert swapped["specificity"] == reference["specificity"]
    for same_tracker in ("as generated", "4:3 image (sides cut off)", "depth x 2",
                         "key releases reported 50 ms early"):
        assert rows[same_tracker]["tracking_noisy_share"] == 0.0
    # without key data every hand is still scored (trimmed by its movement), none by key timing
    bare = rows["no key data (trimmed by the hands' movement)"]
    assert bare["n_unscored_takes"] == 0 and bare["n_healthy_takes"] == reference["n_healthy_takes"]
    assert bare["key_timing"]["n_healthy_takes"] == bare["key_timing"]["n_dystonic_takes"] == 0
    # key timing reads onsets only: a sensor that times releases otherwise changes nothing
    def key_timing_alone(row):
        return {k: v for k, v in row["key_timing"].items() if not k.startswith("either")}

    for releases in ("key releases reported 50 ms early", "key releases reported 50 ms late"):
        assert key_timing_alone(rows[releases]) == key_timing_alone(reference)
    result = subprocess.run(
        [sys.executable, "-m", "model_export", "setups", "--cohort", str(cohort),
         "--models", str(out), "--tasks", str(TASK)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| camera rolled 20 deg |" in result.stdout
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(next(cohort.glob("*.take.npz")), bare)
    result = subprocess.run(
        [sys.executable, "-m", "model_export", "setups", "--cohort", str(bare),
         "--models", str(out), "--tasks", str(TASK)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "no participants.tsv" in result.stderr and len(result.stderr.splitlines()) == 1


def test_training_can_start_from_trained_models_but_not_from_validation_people(trained,
                                                                              tmp_path):
    from model_export.cli import main
    from model_export.screening.cohort import split_participants

    cohort, out = trained
    card = json.loads((out / "model_card.json").read_text())
    warm = tmp_path / "warm"
    args = ["train", "--cohort", str(cohort), "--tasks", str(TASK), "--max-epochs", "1",
            "--width", "8", "--code-channels", "4", "--init-from", str(out)]
    assert main([*args, "--out", str(warm)]) == 0
    entry = json.loads((warm / "model_card.json").read_text())["tasks"][str(TASK)]
    assert entry["started_from"]["model_id"] == card["model_id"]
    assert entry["started_from"]["file"] == card["tasks"][str(TASK)]["float_file"]
    assert entry["validation_participants"] == card["tasks"][str(TASK)]["validation_participants"]
    # another seed holds out someone the starting model learnt from: refused, nothing written
    healthy = sorted(card["tasks"][str(TASK)]["train_participants"]
                     + card["tasks"][str(TASK)]["validation_participants"])
    seed = next(s for s in range(1, 100) if split_participants(
        healthy, np.random.default_rng(s + TASK))[1] != entry["validation_participants"])
    other = tmp_path / "other"
    result = subprocess.run([sys.executable, "-m", "model_export", *args, "--out", str(other),
                             "--seed", str(seed)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "whom this split holds out for validation" in result.stderr
    assert not (other / "model_card.json").exists()
    result = subprocess.run([sys.executable, "-m", "model_export", *args[:-1], str(tmp_path),
                             "--out", str(other)], capture_output=True, text=True)
    assert result.returncode == 2 and "no model_card.json to start from" in result.stderr


def test_repeated_splits_refuse_models_of_mixed_preprocessing(trained, tmp_path):
    """Repeated splits retrain every task one way; models trained two ways are named."""
    cohort, out = trained
    mixed = tmp_path / "mixed"
    shutil.copytree(out, mixed)
    card = json.loads((mixed / "model_card.json").read_text())
    card["tasks"]["9"] = dict(card["tasks"][str(TASK)], preprocessing="kinematics/1")
    (mixed / "model_card.json").write_text(json.dumps(card))
    result = subprocess.run(
        [sys.executable, "-m", "model_export", "evaluate", "--cohort", str(cohort),
         "--models", str(mixed), "--repeats", "1"], capture_output=True, text=True)
    assert result.returncode == 2
    assert f"these models use kinematics/1, {PREPROCESSING_VERSION}" in result.stderr


def test_evaluate_with_another_preprocessing_says_so(trained):
    """The same models scored with the paper's trimming by both hands' keys: the table says
    the takes were not preprocessed as the models were trained."""
    cohort, out = trained
    result = subprocess.run(
        [sys.executable, "-m", "model_export", "evaluate", "--cohort", str(cohort),
         "--models", str(out), "--no-float", "--preprocess-as", "kinematics/1"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "every take preprocessed as kinematics/1, not as the models were trained" \
        in result.stdout


def test_explanation_points_at_the_finger_and_moment():
    x = np.zeros((128, 21, 3), dtype=np.float32)
    recon = x.copy()
    recon[80:90, 6, 1] = 0.5  # index PIP wrong in steps 80..89
    ex = explain(x, recon, [1.0] * len(FINGER_GROUPS))
    assert ex.worst_finger == "index"
    start, end = ex.worst_window
    assert start * 127 <= 80 and end * 127 >= 89
    assert int(np.argmax(ex.per_landmark)) == 6


def test_explanation_names_the_finger_the_curl_score_rests_on_when_errors_are_close():
    """The index's whole error is a little larger, but the middle finger's fingertip curled
    (its curl/1 ratio far above healthy): the middle finger is named. Without the score's
    ratios, or with a wrist far off, the whole error decides."""
    from device.screening.statistic import CURL, finger_score_ratios

    x = np.zeros((128, 21, 3), dtype=np.float32)
    recon = x.copy()
    recon[40:60, 6, 0] = 0.30  # index PIP off sideways: no curl
    recon[40:60, 12, 1] = 0.25  # middle fingertip off along the hand: a curl
    ratios = finger_score_ratios(CURL, x, recon, [1e-3] * 5)
    assert max(ratios, key=ratios.get) == "middle"
    assert explain(x, recon, [1.0] * len(FINGER_GROUPS)).worst_finger == "index"
    named = explain(x, recon, [1.0] * len(FINGER_GROUPS), ratios)
    assert named.worst_finger == "middle"
    assert named.as_dict()["score_ratio"]["middle"] == pytest.approx(ratios["middle"], 1e-3)
    recon[:, 0, :] = 0.5  # the whole wrist off, for the whole passage
    assert explain(x, recon, [1.0] * len(FINGER_GROUPS), ratios).worst_finger == "wrist"
    assert finger_score_ratios("focal/2", x, recon, [1.0] * 6) is None
    assert finger_score_ratios(CURL, x, recon, None) is None
    ratios["index"] = float("nan")  # a ratio that is not finite names nothing
    assert explain(x, recon, [1.0] * len(FINGER_GROUPS), ratios).worst_finger == "wrist"
    recon[:, 0, :] = 0.0
    assert explain(x, recon, [1.0] * len(FINGER_GROUPS), ratios).worst_finger == "middle"


def test_models_dir_errors(tmp_path):
    with pytest.raises(models_mod.ModelError, match=r"no model_card\.json"):
        models_mod.load(tmp_path)
    (tmp_path / "model_card.json").write_text("{")
    with pytest.raises(models_mod.ModelError, match="not valid JSON"):
        models_mod.load(tmp_path)


def _broken(card: dict, damage) -> dict:
    card = json.loads(json.dumps(card))
    damage(card)
    return card


CARD_DAMAGE = [
    ("no format", lambda c: c.pop("format"), "format must be"),
    ("no provenance", lambda c: c.pop("provenance"), "no provenance.data"),
    ("no model id", lambda c: c.pop("model_id"), "no model_id"),
    ("task key not a number", lambda c: c["tasks"].update(four=c["tasks"].pop(str(TASK))),
     "task four cannot be read"),
    ("entry not an object", lambda c: c["tasks"].update({str(TASK): [1]}),
     f"task {TASK} cannot be read"),
    ("no threshold", lambda c: c["tasks"][str(TASK)].pop("threshold"),
     f"task {TASK} cannot be read (KeyError: 'threshold')"),
    ("threshold zero", lambda c: c["tasks"][str(TASK)].update(threshold=0.0),
     "threshold must be a positive number, got 0.0"),
    ("threshold NaN", lambda c: c["tasks"][str(TASK)].update(threshold=float("nan")),
     "threshold must be a positive number, got nan"),
]


@pytest.mark.parametrize(("case", "damage", "message"), CARD_DAMAGE,
                         ids=[c[0] for c in CARD_DAMAGE])
def test_a_damaged_card_is_refused_with_what_is_wrong(trained, tmp_path, case, damage, message):
    _, out = trained
    models = tmp_path / "models"
    shutil.copytree(out, models)
    card = json.loads((models / "model_card.json").read_text())
    (models / "model_card.json").write_text(json.dumps(_broken(card, damage)))
    with pytest.raises(models_mod.ModelError) as info:
        models_mod.load(models)
    assert message in str(info.value)


def test_a_card_that_is_not_an_object_is_refused(tmp_path):
    (tmp_path / "model_card.json").write_text("[1, 2]")
    with pytest.raises(models_mod.ModelError, match="must be a JSON object, got list"):
        models_mod.load(tmp_path)


def test_a_damaged_model_file_is_refused_when_loaded(trained, tmp_path):
    _, out = trained
    models = tmp_path / "models"
    shutil.copytree(out, models)
    (models / f"task{TASK:02d}.tflite").write_bytes(b"not a flatbuffer at all")
    with pytest.raises(models_mod.ModelError, match="is not a TFLite model"):
        models_mod.load(models)


def test_a_take_that_cannot_be_scored_gives_one_line_and_the_others_are_scored(
        trained, tmp_path, monkeypatch, capsys):
    """Whatever goes wrong inside the scoring of one file, the command says so in one line,
    exits 2, and still scores the other files; a score that is not a number never reaches
    the JSON."""
    from device.cli import main
    from device.commands import score as score_command

    cohort, out = trained
    first, second = sorted(cohort.glob("*.take.npz"))[:2]
    real = score_command.score_take

    def failing_on_first(take, models, path, settings=None):
        result = real(take, models, path, settings)
        if str(path) == str(first):
            next(iter(result.hands.values())).error = float("nan")
        return result

    monkeypatch.setattr(score_command, "score_take", failing_on_first)
    code = main(["score", str(first), str(second), "--models", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["file"].endswith(second.name)
    errors = [ln for ln in captured.err.splitlines() if "could not be scored" in ln]
    assert len(errors) == 1 and first.name in errors[0] and "ValueError" in errors[0]


def test_paper_baseline_representation_trains_and_scores(tmp_path, trained):
    """The paper's image-coordinate representation is a first-class baseline: its card says
    so and the box scores with it."""
    from model_export.cli import main

    cohort, _ = trained
    out = tmp_path / "paper"
    assert main(["train", "--cohort", str(cohort), "--out", str(out), "--tasks", str(TASK),
                 "--max-epochs", "1", "--width", "4", "--code-channels", "2",
                 "--preprocessing", "image/1", "--score", "mse/1"]) == 0
    card = json.loads((out / "model_card.json").read_text())
    assert card["tasks"][str(TASK)]["preprocessing"] == "image/1"
    assert card["tasks"][str(TASK)]["score"] == "mse/1"
    obj = score_take(make_take(task=TASK), models_mod.load(out), "x").as_contract()
    assert obj["hands"]["right"]["error"] > 0


def test_focal_score_finds_one_finger_that_the_mean_dilutes():
    from device.screening.statistic import hand_score

    x = np.zeros((128, 21, 3), dtype=np.float32)
    spread = x + 0.01  # a little error everywhere
    focal = x.copy()
    focal[40:56, 5:9, 1] = np.sqrt(1e-4 * 128 * 21 * 3 / (16 * 4))  # same MSE, one finger
    norm = [1e-3] * 6
    assert hand_score("mse/1", x, spread, norm) == pytest.approx(hand_score("mse/1", x, focal,
                                                                            norm), rel=0.01)
    assert hand_score("focal/1", x, focal, norm) > 5 * hand_score("focal/1", x, spread, norm)
    with pytest.raises(ValueError, match="unknown score"):
        hand_score("max", x, x, norm)


def test_smoothed_focal_score_keeps_a_sustained_curl_and_cancels_jitter():
    """focal/2 averages the signed residual over time first: frame-to-frame jitter of the
    same mean square as a finger held off its path for 1/8 of the passage scores far lower."""
    from device.screening.statistic import hand_score

    x = np.zeros((128, 21, 3))
    curl = x.copy()
    curl[40:56, 9:13, 1] = 0.1  # middle finger pulled one way for 16 steps
    jitter = x.copy()
    signs = np.where(np.arange(16) % 2 == 0, 1.0, -1.0)
    jitter[40:56, 9:13, 1] = 0.1 * signs[:, None]  # same squares, alternating sign
    norm = [1.0] * 6
    assert hand_score("focal/1", x, curl, norm) == pytest.approx(
        hand_score("focal/1", x, jitter, norm))
    assert hand_score("focal/2", x, curl, norm) > 20 * hand_score("focal/2", x, jitter, norm)


def test_curl_score_finds_a_fingertip_pulled_towards_the_wrist_and_ignores_the_rest():
    """curl/1 keeps only each fingertip's residual along the hand (y of the hand's frame)
    relative to its knuckle, smoothed: a ring fingertip held towards the wrist for a
    quarter of the passage is found and named, the same displacement across the hand, of
    the whole finger with its knuckle, or as frame-to-frame jitter is not."""
    from device.screening.statistic import CURL_FINGERS, curl_errors, hand_score

    x = np.zeros((128, 21, 3))
    steps = slice(50, 82)
    curled = x.copy()
    curled[steps, 16, 1] = 0.05  # ring fingertip towards the wrist
    across = x.copy()
    across[steps, 16, 0] = 0.05  # the same, across the hand
    whole = x.copy()
    whole[steps, 13:17, 1] = 0.05  # the whole finger with its knuckle: no curl
    jitter = x.copy()
    jitter[:, 16, 1] = 0.05 * np.where(np.arange(128) % 2 == 0, 1.0, -1.0)
    norm = [1e-4] * len(CURL_FINGERS)
    found = curl_errors(x, curled)
    assert CURL_FINGERS[int(np.argmax(found))] == "ring"
    # 0.05 squared over a quarter of the passage: 6.25e-4 before smoothing, a little less after
    assert 4.0 < hand_score("curl/1", x, curled, norm) < 6.25
    assert hand_score("curl/1", x, across, norm) == 0.0
    assert hand_score("curl/1", x, whole, norm) == pytest.approx(0.0, abs=1e-12)
    # jitter has four times the curl's sum of squares and scores a tenth (at the ends)
    assert np.sum((jitter - x) ** 2) > 3.9 * np.sum((curled - x) ** 2)
    assert hand_score("curl/1", x, jitter, norm) < 0.1 * hand_score("curl/1", x, curled, norm)
    # the thumb's curl is measured from its own knuckle (landmark 2), not from its base (1)
    thumb = x.copy()
    thumb[steps, 1:3, 1] = 0.05  # the whole thumb moved along the hand: no curl
    thumb[steps, 3:5, 1] = 0.05
    assert hand_score("curl/1", x, thumb, norm) == pytest.approx(0.0, abs=1e-12)
    thumb[steps, 1, 1] = 0.0  # only the base stays: the thumb is still not curled
    assert hand_score("curl/1", x, thumb, norm) == pytest.approx(0.0, abs=1e-12)


def test_a_card_whose_normalisers_do_not_fit_its_score_is_refused_when_loaded(tmp_path,
                                                                                trained):
    _, models = trained
    out = tmp_path / "models"
    shutil.copytree(models, out)
    card = json.loads((out / "model_card.json").read_text())
    entry = card["tasks"][str(TASK)]
    assert entry["score"] == "curl/1"  # train's default: five fingers' normalisers
    assert len(entry["finger_window_norm"]) == 5
    entry["score"] = "focal/2"  # six finger groups
    (out / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(models_mod.ModelError, match="focal/2 score needs 6 finger_window_norm"):
        models_mod.load(out)


def test_evaluate_repeated_splits(trained):
    """--repeats retrains on fresh 80/20 splits and reports mean and spread, judging as the
    models evaluated do (here with the trim search)."""
    from device.screening.trim_search import TrimSearch
    from model_export.screening.architecture import Architecture
    from model_export.screening.evaluate import evaluate_repeated, load_cohort
    from model_export.screening.train import TrainConfig

    cohort_dir, _ = trained
    result = evaluate_repeated(load_cohort(cohort_dir, [TASK]), [TASK], 2,
                               TrainConfig(Architecture(4, 2), max_epochs=1, augment_copies=1),
                               seed=5, score="focal/1", trim=TrimSearch())
    task = result["tasks"][str(TASK)]
    assert task["sensitivity"]["n"] == 2 and task["specificity"]["n"] == 2
    assert task["sensitivity"]["sd"] is not None and 0 <= task["auc"]["mean"] <= 1


def test_shipped_models_score_out_of_the_box():
    """The box's own models: all eleven tasks, labelled synthetic, scoring a take."""
    models = models_mod.load()
    assert sorted(models.tasks) == list(range(1, 12))
    assert models.trained_on == "synthetic" and not models.clinical_use
    obj = score_take(make_take(task=4), models, "x").as_contract()
    assert obj["hands"]["right"]["threshold"] == models.tasks[4].with_keys.value


def test_retraining_some_tasks_keeps_the_others_in_the_card(tmp_path, trained):
    """--keep-other-tasks: the card lists the retrained task and the kept one, each with the
    training and the data it was made with; retrained on another cohort, each task keeps
    its own provenance and the card's lists both."""
    import shutil

    from model_export.cli import main

    cohort, models = trained
    out = tmp_path / "models"
    shutil.copytree(models, out)
    card = json.loads((out / "model_card.json").read_text())
    kept = dict(card["tasks"][str(TASK)], file="task05.tflite")
    shutil.copy(out / card["tasks"][str(TASK)]["file"], out / "task05.tflite")
    card["tasks"]["5"] = kept
    (out / "model_card.json").write_text(json.dumps(card))
    assert main(["train", "--cohort", str(cohort), "--out", str(out), "--tasks", str(TASK),
                 "--max-epochs", "1", "--width", "4", "--code-channels", "2",
                 "--keep-other-tasks"]) == 0
    merged = json.loads((out / "model_card.json").read_text())
    assert sorted(merged["tasks"]) == [str(TASK), "5"]
    assert merged["tasks"]["5"]["training"]["max_epochs"] == 2  # as it was trained
    assert merged["tasks"][str(TASK)]["training"]["max_epochs"] == 1
    assert merged["tasks"]["5"]["trained"] == card["created"]
    assert merged["model_id"] != card["model_id"]
    assert sorted(models_mod.load(out).tasks) == [TASK, 5]
    assert merged["tasks"]["5"]["provenance"]["seeds"] == [3]
    other = write_cohort(tmp_path / "other", healthy=4, dystonic=0, task=TASK, seed=9)
    assert main(["train", "--cohort", str(other), "--out", str(out), "--tasks", str(TASK),
                 "--max-epochs", "1", "--width", "4", "--code-channels", "2",
                 "--int8-epochs", "0", "--keep-other-tasks"]) == 0
    mixed = json.loads((out / "model_card.json").read_text())
    assert mixed["tasks"][str(TASK)]["provenance"]["seeds"] == [9]
    assert mixed["tasks"][str(TASK)]["training"]["int8_fine_tuning"]["epochs"] == 0
    assert mixed["tasks"]["5"]["provenance"]["seeds"] == [3]
    assert mixed["provenance"]["seeds"] == [3, 9] and mixed["provenance"]["data"] == "synthetic"
    assert mixed["provenance"]["cohort"] == "cohort, other"
    assert not mixed["clinical_use"]


def test_merge_puts_some_tasks_from_another_directory_with_their_entries(tmp_path, trained):
    """merge: the task's model, float model and card entry (its own provenance) come over;
    the models already there stay; evaluation leaves out the training people only of the
    tasks trained on the cohort evaluated."""
    import shutil

    from model_export.cli import main

    cohort, models = trained
    into = tmp_path / "into"
    shutil.copytree(models, into)
    card = json.loads((into / "model_card.json").read_text())
    card["tasks"]["5"] = dict(card["tasks"][str(TASK)], file="task05.tflite")
    shutil.copy(into / card["tasks"][str(TASK)]["file"], into / "task05.tflite")
    (into / "model_card.json").write_text(json.dumps(card))
    other = write_cohort(tmp_path / "other", healthy=4, dystonic=0, task=TASK, seed=9)
    source = tmp_path / "source"
    assert main(["train", "--cohort", str(other), "--out", str(source), "--tasks", str(TASK),
                 "--max-epochs", "1", "--width", "4", "--code-channels", "2",
                 "--int8-epochs", "1"]) == 0
    assert main(["merge", "--from", str(source), "--into", str(into)]) == 0
    merged = json.loads((into / "model_card.json").read_text())
    src = json.loads((source / "model_card.json").read_text())
    assert merged["tasks"][str(TASK)]["provenance"]["seeds"] == [9]
    assert merged["tasks"][str(TASK)]["threshold"] == src["tasks"][str(TASK)]["threshold"]
    assert merged["tasks"]["5"]["provenance"]["seeds"] == [3]
    assert merged["provenance"]["seeds"] == [3, 9]
    assert (into / "task04.tflite").read_bytes() == (source / "task04.tflite").read_bytes()
    assert (into / "float" / "task04.keras").read_bytes() == \
        (source / "float" / "task04.keras").read_bytes()
    assert sorted(models_mod.load(into).tasks) == [TASK, 5]
    from model_export.screening.cohort import load
    from model_export.screening.evaluate import held_out

    assert held_out(load(cohort, {TASK, 5}), merged) == \
        "training participants excluded for task 5"
    assert main(["merge", "--from", str(source), "--into", str(source)]) == 2
    assert main(["merge", "--from", str(source), "--into", str(into), "--tasks", "7"]) == 2
    assert main(["merge", "--from", str(tmp_path), "--into", str(into)]) == 2


def test_recalibrate_judges_the_same_models_on_another_preprocessing(tmp_path, trained):
    """recalibrate: the int8 files stay byte for byte; the card names the new preprocessing,
    the thresholds come from the int8 model's own errors on the same validation people, and
    the box then prepares hands that way."""
    from device.kinematics import MOVEMENT_ONLY
    from device.kinematics.prepare import Settings, prepare
    from model_export.cli import main
    from model_export.screening.fit import int8_reconstructions, scores

    cohort, models = trained
    out = tmp_path / "models"
    shutil.copytree(models, out)
    before = json.loads((out / "model_card.json").read_text())
    int8_bytes = (out / before["tasks"][str(TASK)]["file"]).read_bytes()
    assert main(["recalibrate", "--cohort", str(cohort), "--models", str(out),
                 "--preprocessing", MOVEMENT_ONLY, "--no-trim-search"]) == 0
    after = json.loads((out / "model_card.json").read_text())
    entry, old = after["tasks"][str(TASK)], before["tasks"][str(TASK)]
    assert "trim_search" in old and "trim_search" not in entry  # each hand's key window only
    assert "without_keys" in old and "without_keys" not in entry
    assert models_mod.load(out).tasks[TASK].trim_search is None
    assert (out / entry["file"]).read_bytes() == int8_bytes
    assert entry["preprocessing"] == MOVEMENT_ONLY
    assert entry["recalibrated"]["from_preprocessing"] == PREPROCESSING_VERSION
    assert entry["recalibrated"]["threshold_before"] == old["threshold"]
    assert entry["recalibrated"]["trained_float_validation_error"] == old[
        "float_validation_error"]
    assert entry["validation_participants"] == old["validation_participants"]
    assert entry["threshold"] != old["threshold"]
    assert after["model_id"] != before["model_id"]
    settings = Settings(representation=MOVEMENT_ONLY)
    x_val = np.stack([h.data for f in sorted(cohort.glob("*.take.npz"))
                      if f.name.split("_")[0] in entry["validation_participants"]
                      for h in prepare(takefile.read(f), settings).hands.values()])
    errors = scores(entry["score"], x_val, int8_reconstructions(out / entry["file"], x_val),
                    np.array(entry["finger_window_norm"]))
    assert entry["threshold"] == pytest.approx(errors.mean() + 2 * errors.std(ddof=1))
    assert models_mod.load(out).tasks[TASK].preprocessing == MOVEMENT_ONLY
    # again, back: what the model was trained with stays in the record
    assert main(["recalibrate", "--cohort", str(cohort), "--models", str(out)]) == 0
    again = json.loads((out / "model_card.json").read_text())["tasks"][str(TASK)]
    assert again["preprocessing"] == PREPROCESSING_VERSION
    assert again["threshold"] == pytest.approx(old["threshold"])  # the search is back
    assert again["trim_search"] == old["trim_search"]
    assert again["tracking_noise"] == pytest.approx(old["tracking_noise"])  # the same people
    assert again["recalibrated"]["from_preprocessing"] == MOVEMENT_ONLY
    assert again["recalibrated"]["trained_preprocessing"] == PREPROCESSING_VERSION
    assert again["recalibrated"]["trained_threshold"] == old["threshold"]


def test_recalibrate_judges_the_same_models_by_another_score(tmp_path, trained):
    """recalibrate --score: the card's score, its normalisers and thresholds change, the int8
    file does not, the record says what the score was, and the box judges by the new one."""
    from model_export.cli import main

    cohort, models = trained
    out = tmp_path / "models"
    shutil.copytree(models, out)
    card_before = json.loads((out / "model_card.json").read_text())
    before = card_before["tasks"][str(TASK)]
    assert before["score"] == "curl/1"  # train's default
    assert main(["recalibrate", "--cohort", str(cohort), "--models", str(out),
                 "--score", "focal/2"]) == 0
    card = json.loads((out / "model_card.json").read_text())
    entry = card["tasks"][str(TASK)]
    assert card["model_id"] != card_before["model_id"]
    assert entry["score"] == "focal/2" and "focal/2" in entry["threshold_method"]
    assert "focal/2" in entry["without_keys"]["threshold_method"]
    assert entry["recalibrated"]["from_score"] == "curl/1"
    assert entry["recalibrated"]["trained_score"] == "curl/1"
    assert len(entry["finger_window_norm"]) == 6
    assert entry["threshold"] != before["threshold"]
    assert "trim_search" in entry
    assert (out / entry["file"]).read_bytes() == (models / before["file"]).read_bytes()
    loaded = models_mod.load(out).tasks[TASK]
    assert loaded.score == "focal/2"
    obj = score_take(make_take(task=TASK), models_mod.load(out), "x").as_contract()
    assert obj["hands"]["right"]["error"] > 0


def test_recalibrate_refuses_another_cohort_and_names_it(tmp_path, trained, capsys):
    from model_export.cli import main

    _, models = trained
    other = write_cohort(tmp_path / "other", healthy=4, dystonic=0, task=TASK, seed=9)
    assert main(["recalibrate", "--cohort", str(other), "--models", str(models)]) == 2
    assert f"not the cohort the task {TASK} model was trained on" in capsys.readouterr().err
    assert main(["recalibrate", "--cohort", str(other), "--models", str(tmp_path)]) == 2
    assert "not a readable model directory" in capsys.readouterr().err


def test_a_noisier_tracker_is_reported_against_the_healthy_hands_the_model_learnt_from(
        trained, tmp_path):
    """The card's norm is the 99th percentile of the training and validation hands' tracking
    noise, which the box measures again on the same takes; none of them is above the limit,
    and every one is once 3 px of jitter is added. The verdict itself is the model's."""
    cohort, out = trained
    entry = json.loads((out / "model_card.json").read_text())["tasks"][str(TASK)]
    people = {*entry["train_participants"], *entry["validation_participants"]}
    models = models_mod.load(out)
    rng = np.random.default_rng(5)
    measured = []
    for path in sorted(cohort.glob("*.take.npz")):
        take = takefile.read(path)
        if take.meta["participant"] not in people:
            continue
        as_is = score_take(take, models)
        jitter = rng.normal(0.0, 3.0, take.landmarks.shape) / [*take.image_size, take.image_size[0]]
        noisy = score_take(replace(take, landmarks=(take.landmarks + jitter).astype(np.float32)),
                           models)
        for hand in ("left", "right"):
            measured.append(as_is.hands[hand].tracking.noise)
            assert not as_is.hands[hand].tracking.above_limit
            assert noisy.hands[hand].tracking.above_limit
            detail = noisy.as_contract()["details"][hand]["tracking_noise"]
            assert detail["above_limit"] and detail["value"] > detail["limit"]
    norm = entry["tracking_noise"]
    assert norm["n_hands"] == len(measured) >= 20
    assert norm["healthy_p99"] == pytest.approx(np.percentile(measured, 99))
    assert norm["limit"] == pytest.approx(1.25 * norm["healthy_p99"])
    take = takefile.read(sorted(cohort.glob("H*.take.npz"))[0])
    jitter = rng.normal(0.0, 3.0, take.landmarks.shape) / [*take.image_size, take.image_size[0]]
    takefile.write(tmp_path / "noisy.take.npz",
                   replace(take, landmarks=(take.landmarks + jitter).astype(np.float32)))
    result = run_score(tmp_path / "noisy.take.npz", "--models", out)
    assert result.returncode == 0, result.stderr
    assert "right hand's tracking was noisier than in the healthy takes" in result.stdout
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    card = json.loads((broken / "model_card.json").read_text())
    card["tasks"][str(TASK)]["tracking_noise"]["measure"] = "other/9"
    (broken / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(models_mod.ModelError, match="tracking_noise cannot be read"):
        models_mod.load(broken)


def test_frames_of_the_other_hand_are_left_out_and_said(trained):
    cohort, out = trained
    models = models_mod.load(out)
    take = takefile.read(sorted(cohort.glob("H*.take.npz"))[0])
    swapped, lost = take.landmarks.copy(), take.landmarks.copy()
    swapped[60:63] = take.landmarks[60:63, ::-1]
    lost[60:63] = np.nan
    result = score_take(replace(take, landmarks=swapped), models)
    as_lost = score_take(replace(take, landmarks=lost), models)
    details = result.as_contract()["details"]
    for hand in ("left", "right"):
        assert details[hand]["other_hand_frames"] == 3
        assert result.hands[hand].error == pytest.approx(as_lost.hands[hand].error, rel=1e-9)
    assert "other_hand_frames" not in score_take(take, models).as_contract()["details"]["left"]


def test_frames_that_put_the_whole_hand_elsewhere_are_left_out_and_said(trained):
    """The set-up `setups` measures it with: each hand a palm's length off for 3 frames."""
    from model_export.screening.setups import hand_displaced

    cohort, out = trained
    models = models_mod.load(out)
    take = takefile.read(sorted(cohort.glob("H*.take.npz"))[0])
    moved = hand_displaced(3)(take)
    changed = np.any(moved.landmarks != take.landmarks, axis=(2, 3))  # (frames, hands)
    lost = take.landmarks.copy()
    lost[moved.landmarks != take.landmarks] = np.nan
    result = score_take(moved, models)
    as_lost = score_take(replace(take, landmarks=lost), models)
    details = result.as_contract()["details"]
    for hand in ("left", "right"):
        assert details[hand]["displaced_frames"] == 3
        assert result.hands[hand].error == pytest.approx(as_lost.hands[hand].error, rel=1e-9)
    assert list(changed.sum(axis=0)) == [3, 3]  # three frames of each hand
    assert "displaced_frames" not in score_take(take, models).as_contract()["details"]["left"]


def test_the_curl_score_is_refused_for_the_papers_image_coordinates(tmp_path, trained, capsys):
    """curl/1 reads the hand frame's y axis, which image/1 hands do not have: train and
    recalibrate refuse the pair before writing anything, and the box refuses such a card."""
    from model_export.cli import main

    cohort, models = trained
    out = tmp_path / "paper"
    assert main(["train", "--cohort", str(cohort), "--out", str(out), "--tasks", str(TASK),
                 "--max-epochs", "1", "--preprocessing", "image/1"]) == 2
    assert "curl/1 score needs hands in the hand's own frame" in capsys.readouterr().err
    assert not out.exists()
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    card_bytes = (copy / "model_card.json").read_bytes()
    assert main(["recalibrate", "--cohort", str(cohort), "--models", str(copy),
                 "--preprocessing", "image/1"]) == 2
    assert "image/1" in capsys.readouterr().err
    assert (copy / "model_card.json").read_bytes() == card_bytes
    card = json.loads(card_bytes)
    card["tasks"][str(TASK)]["preprocessing"] = "image/1"
    (copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(models_mod.ModelError, match="hand's own frame"):
        models_mod.load(copy)
