"""Key timing, the second measure: keys aligned to the score, a late finger found, healthy
norms and threshold for the card, and the result in `score`'s JSON."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from device import takefile
from device.commands.score import describe
from device.protocol import load as load_protocol
from device.screening import models as models_mod
from device.screening.key_timing import (
    KeyTimingNorm,
    KeyTimingUnavailableError,
    align,
    finger_lateness,
    hand_lateness,
    judge,
    worst_finger,
)
from device.screening.score import score_take
from model_export.screening.cohort import Cohort, HandSample, Participant
from model_export.screening.key_norms import (
    FINGER_HABIT_SD,
    key_timing_entry,
    person_habits,
    with_finger_habits,
)
from model_export.screening.metrics import TakeRecord, summarise
from tests.conftest import TASK
from tests.helpers import make_take

PROTOCOL = load_protocol()
PIVOT = PROTOCOL.mirror_pivot / 2


def score_keys(task: int, rng: np.random.Generator, ioi: float = 0.12, start: float = 10.2,
               jitter: float = 0.004, late: dict[str, tuple[int, float]] | None = None
               ) -> np.ndarray:
    """Both hands playing ``task``'s score at a steady pulse; ``late``: hand -> (digit,
    seconds) that digit's notes come late by."""
    late = late or {}
    rows = []
    for e, event in enumerate(PROTOCOL.task(task).played()):
        for hand, notes in (("right", event.right), ("left", event.left)):
            for note, finger in zip(notes, event.fingers, strict=True):
                onset = start + e * ioi + rng.normal(0.0, jitter)
                digit, delay = late.get(hand, (-1, 0.0))
                if finger - 1 == digit:
                    onset += delay
                rows.append((note, onset, onset + 0.6 * ioi, 0.5))
    keys = np.array(rows)
    return keys[np.argsort(keys[:, 1])]


def test_align_takes_a_chords_notes_in_any_order():
    rng = np.random.default_rng(1)
    keys = score_keys(7, rng)
    for i in range(0, len(keys) - 1, 2):  # each third's two keys swapped in time
        keys[[i, i + 1], 0] = keys[[i + 1, i], 0]
    notes = align(keys, PROTOCOL.task(7), "right", PIVOT)
    assert len(notes.onset) == notes.expected
    fingers = [f - 1 for event in PROTOCOL.task(7).played() for f in event.fingers]
    assert sorted(notes.digit.tolist()) == sorted(fingers)


def test_align_skips_wrong_extra_and_missed_notes():
    rng = np.random.default_rng(2)
    keys = score_keys(1, rng)
    right = keys[keys[:, 0] >= PIVOT]
    truth = {float(o): f - 1 for o, f in zip(
        right[:, 1], [f for event in PROTOCOL.task(1).played() for f in event.fingers],
        strict=True)}
    missed = right[5]
    wrong = right[10].copy()
    wrong[0] = 61  # C sharp: not in the C major scale
    wrong[1] += 0.01
    again = right[20].copy()
    again[1] += 0.02  # the same key struck twice
    keys = np.vstack([k for k in keys if k[1] != missed[1]] + [wrong, again])
    notes = align(keys, PROTOCOL.task(1), "right", PIVOT)
    assert len(notes.onset) == notes.expected - 1
    assert missed[1] not in notes.onset and wrong[1] not in notes.onset
    for onset, digit in zip(notes.onset, notes.digit, strict=True):
        assert truth.get(float(onset), digit) == digit


def test_a_late_finger_stands_out_and_the_others_do_not():
    rng = np.random.default_rng(3)
    keys = score_keys(1, rng, late={"right": (1, 0.02)})  # right index 20 ms late
    right = finger_lateness(align(keys, PROTOCOL.task(1), "right", PIVOT))
    left = finger_lateness(align(keys, PROTOCOL.task(1), "left", PIVOT))
    assert np.nanargmax(right) == 1
    # index: about (20 ms less the hand's mean shift) x sqrt(its 9 notes)
    assert 0.035 < right[1] < 0.06
    assert np.nanmax(np.delete(right, 1)) < 0.01  # the others come early beside it
    assert np.nanmax(np.abs(left)) < 0.015


def test_key_timing_says_why_it_cannot_judge():
    rng = np.random.default_rng(4)
    with pytest.raises(KeyTimingUnavailableError, match="no key data"):
        hand_lateness(np.zeros((0, 4)), PROTOCOL.task(1), "right", PIVOT)
    with pytest.raises(KeyTimingUnavailableError, match=r"follow only \d+ of the 29 notes"):
        hand_lateness(score_keys(4, rng), PROTOCOL.task(1), "right", PIVOT)
    keys = score_keys(1, rng)
    with pytest.raises(KeyTimingUnavailableError, match="no keys on this hand's side"):
        hand_lateness(keys[keys[:, 0] > PIVOT], PROTOCOL.task(1), "left", PIVOT)
    stuck = keys.copy()
    stuck[:, 1] = 10.0  # a sensor that stamps every key with one time
    with pytest.raises(KeyTimingUnavailableError, match="do not advance"):
        hand_lateness(stuck, PROTOCOL.task(1), "right", PIVOT)
    norm = KeyTimingNorm(np.array([0.0, np.nan, np.nan, 0.0, 0.0]),
                         np.array([0.01, np.nan, np.nan, 0.01, 0.01]), threshold=2.0)
    with pytest.raises(KeyTimingUnavailableError, match="none of the fingers played"):
        judge(score_keys(5, rng), PROTOCOL.task(5), "right", PIVOT, norm)  # index and middle


@pytest.mark.parametrize(("change", "problem"), [
    ({"finger_mean": [0.0, 0.0, 0.0, 0.0]}, "need 5 values"),
    ({"finger_sd": [0.01, 0.0, 0.01, 0.01, 0.01]}, "positive SD"),
    ({"finger_sd": [0.01, None, 0.01, 0.01, 0.01]}, "null for both"),
    ({"threshold": float("nan")}, "finite"),
    ({"method": "key-lateness/1"}, "unknown key timing method"),
])
def test_a_malformed_norm_is_refused_by_name(change, problem):
    entry = {"method": "key-lateness/2", "finger_mean": [0.0] * 5,
             "finger_sd": [0.01] * 5, "threshold": 2.2} | change
    with pytest.raises(ValueError, match=problem):
        KeyTimingNorm.from_card(entry)


def keyed_cohort(root, healthy: int, task: int = TASK, takes: int = 2,
                 source: str = "synthetic") -> Cohort:
    """Healthy people whose takes carry keys that follow ``task``'s score."""
    rng = np.random.default_rng(5)
    participants, samples = {}, {task: []}
    for i in range(healthy):
        pid = f"H{i:03d}"
        participants[pid] = Participant(pid, "healthy", "none", "none", 0.0)
        for k in range(takes):
            take = make_take(task=task)
            take.keys = score_keys(task, rng, jitter=rng.uniform(0.003, 0.006))
            take.meta |= {"participant": pid, "source": source}
            path = root / f"{pid}_t{task:02d}_{k}.take.npz"
            takefile.write(path, take)
            samples[task] += [HandSample(str(path), pid, task, hand, np.zeros((1,)))
                              for hand in takefile.HANDS]
    return Cohort(root, participants, samples)


@pytest.mark.parametrize("source", ["camera", "synthetic"])
def test_norms_and_threshold_for_the_card(tmp_path, source):
    cohort = keyed_cohort(tmp_path, healthy=12, source=source)
    people = sorted(cohort.participants)
    entry = key_timing_entry(cohort, TASK, people[:8], people[8:])["key_timing"]
    # task 4's ring finger never plays, its little finger twice a take: no norm for them
    assert entry["finger_mean"][3:] == [None, None] and entry["finger_sd"][3:] == [None, None]
    assert entry["n_train_hands"] == 32 and entry["n_validation_hands"] == 16
    norm = KeyTimingNorm.from_card(entry)
    worst = []
    for pid in people[8:]:
        for k in range(2):
            take = takefile.read(tmp_path / f"{pid}_t{TASK:02d}_{k}.take.npz")
            if source == "synthetic":  # the generator's even fingers get a person's habits
                take = with_finger_habits(take, person_habits(pid, FINGER_HABIT_SD))
            for hand in takefile.HANDS:
                z = norm.z(hand_lateness(take.keys, PROTOCOL.task(TASK), hand, PIVOT))
                worst.append(worst_finger(z)[0])
    assert entry["threshold"] == pytest.approx(np.mean(worst) + 2 * np.std(worst, ddof=1))
    # too few hands with key data in either part: no norm rather than a guess
    assert key_timing_entry(cohort, TASK, people[:2], people[2:]) == {}  # 8 training hands
    assert key_timing_entry(cohort, TASK, people[:8], people[8:10]) == {}  # 8 validation


def test_synthetic_norms_allow_for_finger_habits_recorded_ones_have_their_own(tmp_path):
    """A pianist whose index finger is 8 ms late in everything is flagged by norms taken
    from the generator's even fingers, and not by norms that allow for habits."""
    entries = {}
    for source in ("camera", "synthetic"):
        cohort = keyed_cohort(tmp_path / source, healthy=16, source=source)
        people = sorted(cohort.participants)
        entries[source] = key_timing_entry(cohort, TASK, people[:10], people[10:])["key_timing"]
    even, habits = (np.array(entries[s]["finger_sd"][:3]) for s in ("camera", "synthetic"))
    assert np.all(habits > 1.5 * even)
    keys = score_keys(TASK, np.random.default_rng(12), jitter=0.004, late={"right": (1, 0.008)})
    verdict = {s: judge(keys, PROTOCOL.task(TASK), "right", PIVOT,
                        KeyTimingNorm.from_card(entries[s])).late for s in entries}
    assert verdict == {"camera": True, "synthetic": False}
    assert entries["synthetic"]["synthetic_finger_habit_sd"] == FINGER_HABIT_SD
    assert entries["synthetic"]["n_takes_given_habits"] == 32
    assert "synthetic_finger_habit_sd" not in entries["camera"]
    assert entries["synthetic"]["n_train_people"] == 10


def test_finger_habits_leave_keys_that_follow_no_score_alone():
    take = make_take(task=1)
    take.keys = score_keys(4, np.random.default_rng(13))  # another task's notes
    assert align(take.keys, PROTOCOL.task(1), "right", PIVOT).followed < 0.8
    moved = with_finger_habits(take, np.full((2, 5), 0.01))
    assert np.array_equal(moved.keys, take.keys[np.argsort(take.keys[:, 1], kind="stable")])


def test_score_reports_key_timing_beside_the_autoencoder(tmp_path, trained):
    (tmp_path / "cohort").mkdir()
    cohort = keyed_cohort(tmp_path / "cohort", healthy=12)
    people = sorted(cohort.participants)
    models_dir = tmp_path / "models"
    shutil.copytree(trained[1], models_dir)
    card_path = models_dir / models_mod.CARD_FILE
    card = json.loads(card_path.read_text())
    card["tasks"][str(TASK)] |= key_timing_entry(cohort, TASK, people[:8], people[8:])
    card_path.write_text(json.dumps(card))
    models = models_mod.load(models_dir)
    assert models.tasks[TASK].key_timing is not None

    take = make_take(task=TASK)
    take.keys = score_keys(TASK, np.random.default_rng(6), late={"right": (1, 0.03)})
    scored = score_take(take, models, "late.take.npz")
    assert "  right key timing: latest finger index, z " in describe(scored)
    assert describe(scored).split("right key timing")[1].strip().endswith("-> LATE")
    result = scored.as_contract()
    assert result["key_timing"]["right"]["abnormal"] is True
    assert result["key_timing"]["right"]["finger"] == "index"
    assert result["key_timing"]["left"]["abnormal"] is False
    assert set(result["hands"]["right"]) == {"error", "threshold", "abnormal"}  # contract 2

    take.keys = np.zeros((0, 4))
    scored = score_take(take, models, "nokeys.take.npz")
    assert "  left key timing: not judged: no key data in the take" in describe(scored)
    result = scored.as_contract()
    assert result["key_timing"]["left"] == {"method": "key-lateness/2", "abnormal": None,
                                            "reason": "no key data in the take"}
    assert result["hands"]["left"] is not None  # the autoencoder still judges the hand

    card["tasks"][str(TASK)]["key_timing"]["method"] = "key-lateness/0"
    card_path.write_text(json.dumps(card))
    with pytest.raises(models_mod.ModelError, match="key_timing cannot be read"):
        models_mod.load(models_dir)


def test_judge_with_a_norm_names_the_late_finger():
    rng = np.random.default_rng(7)
    norm = KeyTimingNorm(np.zeros(5), np.full(5, 0.01), threshold=2.5)
    keys = score_keys(1, rng, late={"left": (2, 0.03)})
    left = judge(keys, PROTOCOL.task(1), "left", PIVOT, norm)
    assert left.late and left.finger == "middle"
    assert not judge(keys, PROTOCOL.task(1), "right", PIVOT, norm).late


def test_evaluation_counts_key_timing_and_either_measure():
    def record(group, ratio, margin):
        return TakeRecord("f", 1, "p", group, 0.5 if group == "dystonic" else 0.0,
                          "right" if group == "dystonic" else "none",
                          {"left": ratio, "right": ratio}, {"left": margin, "right": None})

    records = [record("healthy", 0.5, -1.0), record("healthy", 0.5, 0.5),
               record("dystonic", 2.0, -1.0), record("dystonic", 0.5, 1.0),
               record("dystonic", 0.5, None)]
    keys = summarise(records)["key_timing"]
    assert keys["specificity"] == 0.5 and keys["sensitivity"] == 0.5
    assert keys["n_dystonic_takes"] == 2
    assert keys["either_specificity"] == 0.5 and keys["either_sensitivity"] == pytest.approx(2 / 3)
    # both judged patients are of severity 0.5 (moderate): one of the two found
    assert keys["by_severity"]["moderate"] == {"n": 2, "sensitivity": 0.5}
    assert keys["by_severity"]["mild"] == {"n": 0, "sensitivity": None}


def test_key_set_ups_change_the_keys_as_said_and_key_timing_copes_with_slips():
    from model_export.screening.setups import key_jitter, keys_timed_otherwise, slips

    take = make_take(task=1)
    take.keys = score_keys(1, np.random.default_rng(8), late={"right": (1, 0.03)})
    slipped = slips(take)
    for side in (slipped.keys[:, 0] < PIVOT, slipped.keys[:, 0] > PIVOT):
        assert side.sum() == 29  # one note of the score gone, one wrong note struck
    assert len(set(map(tuple, slipped.keys)) - set(map(tuple, take.keys))) == 2
    assert np.all(np.diff(slipped.keys[:, 1]) >= 0)
    norm = KeyTimingNorm(np.zeros(5), np.full(5, 0.01), threshold=2.5)
    late = judge(slipped.keys, PROTOCOL.task(1), "right", PIVOT, norm)
    assert late.late and late.finger == "index"
    assert not judge(slipped.keys, PROTOCOL.task(1), "left", PIVOT, norm).late

    spaced = make_take(task=1)
    spaced.keys = np.array([[60 + i, 10.0 + i, 10.5 + i, 0.5] for i in range(400)])
    shaken = key_jitter(0.005)(spaced)  # keys 1 s apart: none changes places
    moved = shaken.keys[:, 1] - spaced.keys[:, 1]
    assert 0.0045 < np.std(moved) < 0.0055
    assert np.allclose(shaken.keys[:, 2] - shaken.keys[:, 1], 0.5)  # releases go with them
    assert key_jitter(0.005)(spaced).keys.tolist() == shaken.keys.tolist()  # reproducible
    timed = keys_timed_otherwise(-0.03, 0.05)(spaced)  # another key sensor
    assert np.allclose(timed.keys[:, 1] - spaced.keys[:, 1], -0.03)
    assert np.allclose(timed.keys[:, 2] - spaced.keys[:, 2], 0.05)
    assert timed.keys[:, 0].tolist() == spaced.keys[:, 0].tolist()


def _moved_per_note(task: int, before: np.ndarray, after: np.ndarray
                    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per hand: the digit of each note of the score matched, and how far its key moved."""
    out = {}
    for hand in takefile.HANDS:
        was, now = (align(keys, PROTOCOL.task(task), hand, PIVOT) for keys in (before, after))
        onset_now = {(e, n): t for e, n, t in zip(now.event, now.note, now.onset, strict=True)}
        assert len(onset_now) == len(was.onset)  # every note still matched, to the same event
        moved = [onset_now[(e, n)] - t for e, n, t in zip(was.event, was.note, was.onset,
                                                             strict=True)]
        out[hand] = (was.digit, np.array(moved))
    return out


@pytest.mark.parametrize("task", [1, 9])  # single notes; a five-note chord
def test_uneven_fingers_set_up_moves_each_finger_by_the_pianists_own_amount(task):
    from model_export.screening.setups import _take_rng, finger_habits

    take = make_take(task=task)
    take.keys = score_keys(task, np.random.default_rng(10))
    changed = finger_habits(0.003)(take)
    assert changed.keys.shape == take.keys.shape and np.all(np.diff(changed.keys[:, 1]) >= 0)
    habits = _take_rng(take, "fingers 0.003").normal(0.0, 0.003, (2, 5))
    assert np.ptp(habits) > 0.002 and not np.allclose(habits[0], habits[1])
    mine = _moved_per_note(task, take.keys, changed.keys)
    for h, (digit, moved) in enumerate(mine.values()):
        assert np.allclose(moved, habits[h, digit], rtol=0.0, atol=1e-9)
    # another take of the same pianist: the same habits; another pianist: their own
    other = make_take(task=task)
    other.keys = score_keys(task, np.random.default_rng(11))
    moved_other = _moved_per_note(task, other.keys, finger_habits(0.003)(other).keys)
    for h, (digit, moved) in enumerate(moved_other.values()):
        assert np.allclose(moved, habits[h, digit], rtol=0.0, atol=1e-9)
    stranger = make_take(task=task)
    stranger.meta["participant"] = "P002"
    stranger.keys = take.keys
    moved_stranger = _moved_per_note(task, take.keys, finger_habits(0.003)(stranger).keys)
    assert not np.allclose(moved_stranger["right"][1], mine["right"][1], rtol=0.0, atol=1e-4)


def test_a_note_far_off_the_pulse_is_left_out_not_counted():
    from device.screening.key_timing import onset_residuals

    rng = np.random.default_rng(9)
    keys = score_keys(1, rng, jitter=0.002)
    right = np.flatnonzero(keys[:, 0] > PIVOT)
    clean = finger_lateness(align(keys, PROTOCOL.task(1), "right", PIVOT))
    keys[right[12], 1:3] -= 0.08  # struck two thirds of a beat early (0.12 s)
    notes = align(keys, PROTOCOL.task(1), "right", PIVOT)
    residual = onset_residuals(notes)
    off = np.flatnonzero(notes.onset == keys[right[12], 1])
    assert np.isnan(residual[off]).all() and np.isfinite(np.delete(residual, off)[5:-5]).all()
    assert np.nanmax(np.abs(np.delete(residual, off))) < 0.01  # the neighbours' pulse kept
    # the early note would have moved its finger by about -0.04 s
    assert np.allclose(finger_lateness(notes), clean, atol=0.002, equal_nan=True)


def test_keys_that_do_not_play_the_tasks_passage_are_said_so(trained):
    """Task 4's passage filed under task 4: nothing said. Task 1's passage, or task 4's with
    only half its notes, filed under task 4: the hand keeps its verdict and the box says that
    it may not apply. A hand with no keys on its side is not judged either way."""
    _, models_dir = trained
    models = models_mod.load(models_dir)
    rng = np.random.default_rng(2)
    take = make_take(task=TASK)
    take.keys = score_keys(TASK, rng)
    own = score_take(take, models)
    for hand in ("left", "right"):
        assert own.hands[hand].passage.as_the_task and own.hands[hand].findings(hand) == []
        assert own.as_contract()["details"][hand]["passage"]["as_the_task"] is True
    take.keys = score_keys(1, rng)
    other = score_take(take, models)
    passage = other.as_contract()["details"]["right"]["passage"]
    assert passage["as_the_task"] is False and passage["notes_expected"] == 26
    assert other.hands["right"].abnormal is not None  # the verdict stays
    assert (f"right: The right hand's keys follow only {passage['notes_followed']} of the 26 "
            f"notes task {TASK} gives it: if another passage was played") in describe(other)
    keys = score_keys(TASK, rng)
    half = keys[keys[:, 1] < np.median(keys[:, 1])]
    assert not score_take(replace(take, keys=half), models).hands["right"].passage.as_the_task
    right_only = keys[keys[:, 0] > PIVOT]
    alone = score_take(replace(take, keys=right_only), models)
    assert alone.hands["left"].passage is None and alone.hands["right"].passage.as_the_task
    assert "passage" not in alone.as_contract()["details"]["left"]


def test_a_take_without_key_data_is_said_to_be_judged_from_the_hands_movement(trained):
    """No key sensor: the playing is found from the hands' movement, which the models did not
    learn. Each hand keeps its verdict, and the details, the text output and the findings say
    how it was judged; the take's checks do not ask for it to be recorded again (where a
    key sensor is configured the checks already ask for its keys)."""
    from device.screening.findings import motion_trim_sentence
    from device.session.quality import with_findings

    _, models_dir = trained
    models = models_mod.load(models_dir)
    take = make_take(task=TASK)
    take.keys = score_keys(TASK, np.random.default_rng(3))
    keyed = score_take(take, models)
    bare = score_take(replace(take, keys=np.zeros((0, 4))), models)
    unsearched = models_mod.load(models_dir)  # a card without a search judges such hands
    unsearched.tasks[TASK].trim_search = None  # against the threshold set with keys
    plain = score_take(replace(take, keys=np.zeros((0, 4))), unsearched)
    for hand in ("left", "right"):
        details = keyed.as_contract()["details"][hand]
        assert (details["trimmed_by"], details["threshold_from"]) == ("keys", "keys")
        assert not any("movement alone" in f for f in keyed.hands[hand].findings(hand))
        details = bare.as_contract()["details"][hand]
        assert (details["trimmed_by"], details["threshold_from"]) == ("motion", "motion")
        assert bare.hands[hand].findings(hand) == [motion_trim_sentence(hand, "motion")]
        assert "find fewer dystonic takes" in motion_trim_sentence(hand, "motion")
        assert bare.hands[hand].abnormal is not None  # the verdict stays
        assert bare.hands[hand].threshold == models.tasks[TASK].without_keys.value
        assert plain.hands[hand].threshold == models.tasks[TASK].with_keys.value
        assert plain.hands[hand].findings(hand) == [motion_trim_sentence(hand, "keys")]
        assert "set on hands with key data" in motion_trim_sentence(hand, "keys")
    assert ("right: The right hand's playing was found from the hands' movement alone"
            in describe(bare))
    stored = json.dumps({"ok": True, "problems": []})
    assert with_findings(stored, bare) == stored
