"""Fixtures shared by several test modules."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.fake_cohort import write_cohort

TASK = 4
LANDMARK_CACHE = Path.home() / ".cache" / "dystonia-box" / "landmark-models"
ROOT = Path(__file__).resolve().parents[1]
BUILDER = ROOT / "model_export" / "landmarks"
VISION = ROOT / "device" / "vision"
BUILDER_USES = ("anchors.py", "detection.py", "roi.py", "models.py")


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


@pytest.fixture(scope="session")
def landmark_models_dir() -> Path:
    """What ``python -m model_export landmarks`` writes, from its ``build`` API in a small
    configuration: frame pairs from a tenth of the video (with the annotated photos) for
    calibration and evaluation, 3 timed runs per variant.

    Built once and kept in ~/.cache/dystonia-box/landmark-models/<key>, the key a hash of
    the settings, the pinned wheel and the builder's code (with the box's geometry it cuts
    inputs with), so later sessions reuse it until one of them changes. The build goes to a
    temporary folder first: an interrupted one is never taken for a finished one.
    """
    from model_export.commands.landmarks import DEFAULT_CACHE, SHARED_DATA
    from model_export.landmarks import build, wheel

    video, photos = SHARED_DATA / "piano_right_hand.mp4", SHARED_DATA / "hands"
    if not video.is_file():
        pytest.skip(f"real data not at {SHARED_DATA}")
    code = [*sorted(BUILDER.glob("*.py")), *(VISION / name for name in BUILDER_USES)]
    options = {"every": 10, "repeats": 3, "arch": "x86_64", "photos": True,
               "wheel": wheel.WHEELS["x86_64"].sha256,
               "code": hashlib.sha256(b"".join(path.read_bytes() for path in code)).hexdigest()}
    key = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]
    out = LANDMARK_CACHE / key
    if (out / build.CARD).is_file():
        return out
    LANDMARK_CACHE.mkdir(parents=True, exist_ok=True)
    partial = LANDMARK_CACHE / f"{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    build.build(build.Settings(out=partial, cache=DEFAULT_CACHE, video=video, photos=photos,
                               every=10, repeats=3, arch="x86_64"))
    if not (out / build.CARD).is_file():
        shutil.rmtree(out, ignore_errors=True)
        partial.rename(out)
    return out
