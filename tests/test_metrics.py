import pytest

from model_export.screening.metrics import TakeRecord, roc_auc, summarise


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


def test_auc_known_values():
    assert roc_auc([1, 2, 3], [4, 5]) == 1.0
    assert roc_auc([4, 5], [1, 2, 3]) == 0.0
    assert roc_auc([1, 2], [1, 2]) == 0.5
    assert roc_auc([], [1]) is None
