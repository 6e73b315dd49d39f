"""The pinned MediaPipe wheel: download with pip, check its SHA-256, take the hand models out.

mediapipe 0.10.18 is the last release whose wheels carry the palm detector and hand
landmark models as plain files. Either cp311 wheel will do: the models in both are the same.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from device.store.recordings import sha256_of

VERSION = "0.10.18"


@dataclass(frozen=True)
class PinnedWheel:
    filename: str
    platforms: tuple[str, ...]  # pip --platform tags that select it
    sha256: str


# The hashes also stand in provisioning/requirements/mediapipe.txt.
WHEELS = {
    "x86_64": PinnedWheel(
        f"mediapipe-{VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
        "12db0f7b1cc18e2e3f604f6e95020b82c214c470d7d94ff32eeb8f8729a45ec3"),
    "aarch64": PinnedWheel(
        f"mediapipe-{VERSION}-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        ("manylinux_2_17_aarch64", "manylinux2014_aarch64"),
        "a251c9abde6d75534adcdc814e1d7853fa04774558600e29af51a7600eaa5b65"),
}

# model name -> path inside the wheel
MODELS = {
    "palm_detection_lite": "mediapipe/modules/palm_detection/palm_detection_lite.tflite",
    "palm_detection_full": "mediapipe/modules/palm_detection/palm_detection_full.tflite",
    "hand_landmark_lite": "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite",
    "hand_landmark_full": "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
}


class WheelError(RuntimeError):
    """The wheel could not be downloaded, or is not the pinned one."""


def check_wheel(path: Path, wheel: PinnedWheel) -> None:
    """Raise WheelError unless ``path`` has the pinned SHA-256."""
    actual = sha256_of(path)
    if actual != wheel.sha256:
        raise WheelError(f"{path}: SHA-256 {actual} is not the pinned {wheel.sha256}; "
                         "delete it and download again")


def fetch_wheel(cache: Path, arch: str = "x86_64") -> Path:
    """The checked wheel in ``cache``, downloaded from PyPI by pip when not there yet."""
    if arch not in WHEELS:
        raise WheelError(f"no pinned wheel for architecture {arch!r} (have {sorted(WHEELS)})")
    wheel = WHEELS[arch]
    path = cache / wheel.filename
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        platforms = [arg for tag in wheel.platforms for arg in ("--platform", tag)]
        command = [sys.executable, "-m", "pip", "download", f"mediapipe=={VERSION}",
                   "--no-deps", "--only-binary=:all:", *platforms, "--python-version", "3.11",
                   "--quiet", "-d", str(cache)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not path.exists():
            raise WheelError(f"pip could not download {wheel.filename}:\n{result.stderr.strip()}")
    check_wheel(path, wheel)
    return path


def extract_models(wheel_path: Path, target: Path, suffix: str = "") -> dict[str, Path]:
    """Write the four hand models of the wheel into ``target`` as NAME{suffix}.tflite."""
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    with zipfile.ZipFile(wheel_path) as archive:
        members = set(archive.namelist())
        for name, member in MODELS.items():
            if member not in members:
                raise WheelError(f"{wheel_path.name} has no {member}")
            path = target / f"{name}{suffix}.tflite"
            path.write_bytes(archive.read(member))
            written[name] = path
    return written
