"""Fixtures shared by several test modules."""

import pytest

from tests.fake_cohort import write_cohort

TASK = 4


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A cohort, and models trained on it for two epochs (the tiny configuration)."""
    from model_export.cli import main

    root = tmp_path_factory.mktemp("screening")
    cohort = write_cohort(root / "cohort", healthy=6, dystonic=3, task=TASK, seed=3)
    out = root / "models"
    code = main(["train", "--cohort", str(cohort), "--out", str(out), "--tasks", str(TASK),
                 "--max-epochs", "2", "--width", "8", "--code-channels", "4"])
    assert code == 0
    return cohort, out


