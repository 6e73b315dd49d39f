import pytest

from model_export.screening.metrics import (
    TakeRecord,
    auc_interval,
    detection_severity,
    participant_interval,
    pattern_parts,
    roc_auc,
    summarise,
)


def rec(group, ratio_left, ratio_right, severity=0.0, affected="none"):
    return TakeRecord("f", 4, "p", group, severity, affected,
                      {"left": ratio_left, "right": ratio_right})


def test_summary_counts_by_hand_and_take():
    records = [
        rec("healthy", 0.5, 0.7), rec("healthy", 1.2, 0.3), rec("healthy", 0.9, None),
        rec("healthy", None, None),
        rec("dystonic", 0.4, 1.5, 0.8, "right"), rec("dystonic", 0.8, 0.9, 0.1, "right"),
        rec("dystonic", 2.0, 0.5, 0.5, "right"),
    ]
    s = summarise(records)
    assert s["n_healthy_takes"] == 3 and s["n_unscored_takes"] == 1
    assert s["specificity"] == pytest.approx(2 / 3)
    assert s["sensitivity"] == pytest.approx(2 / 3)
    assert s["sensitivity_affected_hand"] == pytest.approx(1 / 3)
    assert s["specificity_hands"] == pytest.approx(4 / 5)
    assert s["specificity_unaffected_hand"] == pytest.approx(2 / 3)  # left 0.4, 0.8 pass; 2.0 not
    assert s["by_severity"]["mild"] == {"n": 1, "sensitivity": 0.0}
    assert s["by_severity"]["marked"] == {"n": 1, "sensitivity": 1.0}


def test_the_explanation_is_checked_against_the_pattern_on_affected_hands_found():
    assert pattern_parts("middle+wrist") == {"middle", "wrist"}
    assert pattern_parts("Thumb and index finger flexion") == {"thumb", "index"}
    assert pattern_parts("writer's cramp") == frozenset()

    def found(named, pattern, ratio=1.5, affected="right"):
        return TakeRecord("f", 4, "p", "dystonic", 0.5, affected, {"left": 0.5, "right": ratio},
                          named={"left": "thumb", "right": named},
                          pattern=pattern_parts(pattern))

    records = [found("index", "index+middle"), found("middle", "index+middle"),
               found("ring", "index+middle"), found("wrist", "middle+wrist"),
               found("index", "index", ratio=0.9),  # not found: not counted
               found("thumb", "index", affected="left"),  # left hand not found
               found("index", "unknown pattern")]  # names no finger: not counted
    assert summarise(records)["explanation_in_pattern"] == {"hands": 4, "share": 0.75}


def test_auc_known_values():
    assert roc_auc([1, 2, 3], [4, 5]) == 1.0
    assert roc_auc([4, 5], [1, 2, 3]) == 0.0
    assert roc_auc([1, 2], [1, 2]) == 0.5
    assert roc_auc([], [1]) is None


def takes_of(outcomes: dict[str, list[bool]]) -> list[TakeRecord]:
    """Dystonic takes, per participant the verdicts (True: found abnormal)."""
    return [TakeRecord("f", 4, pid, "dystonic", 0.5, "right",
                       {"left": 0.5, "right": 2.0 if found else 0.5})
            for pid, verdicts in outcomes.items() for found in verdicts]


def test_the_interval_is_wilsons_when_every_participant_gives_one_take():
    records = takes_of({f"P{i}": [i < 8] for i in range(10)})
    low, high = participant_interval(records, lambda r: bool(r.abnormal))
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # Wilson, 8 of 10


def test_takes_that_go_together_count_as_fewer_trials():
    """Four patients, four takes each: when each patient's takes agree the 16 takes carry
    what 4 trials carry; when they vary as much within a patient as between patients, all
    16 count."""
    found = lambda r: bool(r.abnormal)  # noqa: E731
    clustered = participant_interval(takes_of(
        {"A": [True] * 4, "B": [True] * 4, "C": [False] * 4, "D": [False] * 4}), found)
    mixed = participant_interval(takes_of({p: [True, True, False, False] for p in "ABCD"}),
                                 found)
    four = participant_interval(takes_of({"A": [True], "B": [True], "C": [False],
                                          "D": [False]}), found)
    sixteen = participant_interval(takes_of({str(i): [i < 8] for i in range(16)}), found)
    assert clustered == pytest.approx(four)
    assert mixed == pytest.approx(sixteen)
    assert clustered[1] - clustered[0] > 1.5 * (mixed[1] - mixed[0])
    # every take found: the patients are counted, and the interval still reaches below 100 %
    all_found = participant_interval(takes_of({p: [True] * 4 for p in "ABCD"}), found)
    assert all_found == pytest.approx([4 / (4 + 1.959964 ** 2), 1.0], abs=1e-6)
    assert participant_interval([], found) is None


def test_the_summary_gives_both_intervals_around_its_shares():
    records = [
        *takes_of({"A": [True, True], "B": [True, False]}),
        TakeRecord("f", 4, "H1", "healthy", 0.0, "none", {"left": 0.5, "right": 0.5}),
        TakeRecord("f", 4, "H2", "healthy", 0.0, "none", {"left": 1.5, "right": 0.5})]
    s = summarise(records)
    for key in ("sensitivity", "specificity"):
        low, high = s[f"{key}_interval"]
        assert low <= s[key] <= high


def test_the_severity_from_which_takes_are_found_comes_from_a_logistic_fit():
    import numpy as np

    rng = np.random.default_rng(5)
    severity = rng.uniform(0.05, 1.0, 4000)
    # found with probability 1 / (1 + exp(-(s - 0.4) / 0.05)): half at 0.4, 90 % at 0.51
    found = rng.random(4000) < 1 / (1 + np.exp(-(severity - 0.4) / 0.05))
    records = [TakeRecord("f", 4, f"P{i}", "dystonic", float(s), "right",
                          {"right": 2.0 if f else 0.5}) for i, (s, f) in enumerate(
                              zip(severity, found, strict=True))]
    at = detection_severity(records, lambda r: bool(r.abnormal))
    assert at["50"] == pytest.approx(0.4, abs=0.01)
    assert at["90"] == pytest.approx(0.4 + 0.05 * np.log(9), abs=0.015)
    # nothing to fit, or found less often the more severe: no figure
    every = [TakeRecord("f", 4, "P", "dystonic", s, "right", {"right": 2.0}) for s in (0.1, 0.9)]
    assert detection_severity(every, lambda r: bool(r.abnormal)) == {"50": None, "90": None}
    backwards = [TakeRecord("f", 4, "P", "dystonic", s, "right", {"right": 2.0 if s < 0.5 else 0.5})
                 for s in np.linspace(0.05, 1.0, 40)]
    assert detection_severity(backwards, lambda r: bool(r.abnormal)) == {"50": None, "90": None}


def test_the_auc_interval_draws_participants_with_all_their_takes():
    import numpy as np

    rng = np.random.default_rng(8)

    def group(name, n_people, takes, shift, spread_between):
        out = []
        for i in range(n_people):
            own = rng.normal(shift, spread_between)  # a participant's own level
            out += [TakeRecord("f", 4, f"{name}{i}", name, 0.5, "right",
                               {"right": float(np.exp(own + rng.normal(0, 0.1)))})
                    for _ in range(takes)]
        return out

    healthy, dystonic = group("healthy", 16, 4, 0.0, 0.5), group("dystonic", 16, 4, 0.6, 0.5)
    low, high = auc_interval(healthy, dystonic)
    point = roc_auc([r.score for r in healthy], [r.score for r in dystonic])
    assert low < point < high
    assert auc_interval(healthy, dystonic) == [low, high]  # a fixed seed
    # as many takes from four times as many people, one take each: a narrower interval
    h1, d1 = group("healthy", 64, 1, 0.0, 0.5), group("dystonic", 64, 1, 0.6, 0.5)
    low1, high1 = auc_interval(h1, d1)
    assert high1 - low1 < 0.75 * (high - low)
    assert auc_interval(healthy[:4], dystonic) is None  # one healthy participant
    summary = summarise(healthy + dystonic)
    assert summary["auc_interval"] == [low, high]
