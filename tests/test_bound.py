"""``python -m model_export bound``: a classifier trained with the labels, judged on a fresh
cohort (model_export.screening.bound)."""

import json

import pytest

from tests.fake_cohort import write_cohort

pytest.importorskip("tensorflow")
TASK = 4


def test_a_classifier_trained_with_the_labels_finds_the_curl_on_a_fresh_cohort(tmp_path,
                                                                                 capsys):
    from model_export.cli import main

    learn = write_cohort(tmp_path / "learn", healthy=8, dystonic=8, task=TASK, seed=21)
    fresh = write_cohort(tmp_path / "fresh", healthy=6, dystonic=6, task=TASK, seed=22)
    code = main(["bound", "--train-cohort", str(learn), "--cohort", str(fresh),
                 "--tasks", str(TASK), "--max-epochs", "40", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    points = result["tasks"][str(TASK)]["operating_points"]
    assert [p["target_specificity"] for p in points] == [0.95, 0.88]
    for point in points:
        assert point["n_healthy_takes"] == 12 and point["n_dystonic_takes"] == 12
        # the threshold sits at that share of the fresh cohort's healthy takes
        assert point["specificity"] >= point["target_specificity"] - 1e-9
        # the fake patients' right index finger curls far beyond the healthy spread
        assert point["auc"] > 0.9
        assert point["sensitivity"] >= 0.75
        assert point["sensitivity_affected_hand"] >= point["sensitivity"] - 0.25


def test_a_training_cohort_without_patients_is_refused_with_a_clear_message(tmp_path, capsys):
    from model_export.cli import main

    healthy_only = write_cohort(tmp_path / "healthy", healthy=4, dystonic=0, task=TASK, seed=23)
    fresh = write_cohort(tmp_path / "fresh", healthy=2, dystonic=2, task=TASK, seed=24)
    code = main(["bound", "--train-cohort", str(healthy_only), "--cohort", str(fresh),
                 "--tasks", str(TASK), "--max-epochs", "1"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bound: ") and "dystonic" in err and "\n" not in err


def test_the_table_gives_each_task_at_the_papers_specificities():
    from model_export.screening.bound import table

    point = {"target_specificity": 0.95, "specificity": 0.953, "sensitivity": 0.875,
             "sensitivity_interval": [0.8, 0.93],
             "auc": 0.959, "auc_interval": [0.93, 0.98],
             "by_severity": {"mild": {"sensitivity": 0.62}, "moderate": {"sensitivity": 0.97},
                             "marked": {"sensitivity": 1.0}}}
    text = table({4: {"operating_points": [point]}})
    assert "| 4 | 95 / 95 % | 88 % (80-93) | 0.96 (0.93-0.98) | 62 % / 97 % / 100 % |" in text
