"""Turning a camera recording into a take, in the background worker.

The hands' landmarks are found in the recorded video (``device.vision.analyze``) with the
frame times and key events the recorder kept, both moved to 0 at the first frame as take
files have them. The quality checks the wizard runs on a simulated take run here, once the
landmarks exist, and are stored with the take. Progress goes to the row at most every
``progress_every_s``; a failure leaves the row 'failed' with the reason and keeps the files.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device import protocol
from device.hardware.keys import OVERFLOW_ADVICE, NoKeys
from device.session.quality import QualityCheck, check_take
from device.store import raw_recordings
from device.store.recordings import store_take
from device.vision.analyze import DEFAULT_VARIANT, AnalyzeError, analyze_video
from device.vision.models import DEFAULT_LANDMARK_PRECISION, DEFAULT_PALM_PRECISION

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisSettings:
    models_dir: Path | None = None  # None: the landmark models installed with the box
    variant: str = DEFAULT_VARIANT
    palm_precision: str = DEFAULT_PALM_PRECISION
    landmark_precision: str = DEFAULT_LANDMARK_PRECISION
    progress_every_s: float = 0.5


DEFAULT_ANALYSIS = AnalysisSettings()

def from_first_frame(times: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame times and key events with 0 at the first frame; notes begun before it dropped."""
    origin = float(times[0])
    keys = keys.reshape(-1, 4).copy()
    keys[:, 1:3] -= origin
    return times - origin, keys[keys[:, 1] >= 0]


def analyse_one(conn: sqlite3.Connection, data_dir: Path,
                settings: AnalysisSettings = DEFAULT_ANALYSIS) -> int | None:
    """Analyse the oldest waiting recording into a stored take. Returns the recording's id,
    or None when nothing waits."""
    row = raw_recordings.claim_next(conn)
    if row is None:
        return None
    raw_id = int(row["id"])
    last = time.monotonic()

    def progress(done: int, expected: int) -> None:
        nonlocal last
        if expected > 0 and time.monotonic() - last >= settings.progress_every_s:
            raw_recordings.set_progress(conn, raw_id, done / expected)
            last = time.monotonic()

    try:
        times, keys = from_first_frame(np.load(data_dir / row["times"]),
                                       np.load(data_dir / row["keys"]))
        take = analyze_video(
            data_dir / row["video"], settings.models_dir, row["task"], progress=progress,
            participant=row["participant"], tempo_mode=row["tempo_mode"],
            dynamics=row["dynamics"], variant=settings.variant,
            palm_precision=settings.palm_precision,
            landmark_precision=settings.landmark_precision, key_array=keys, frame_times=times)
    except (AnalyzeError, OSError, RuntimeError, ValueError) as exc:
        log.warning("recording %s could not be analysed: %s", raw_id, exc)
        raw_recordings.mark_failed(conn, raw_id, str(exc))
        return raw_id
    take.meta = {**take.meta, "raw_recording_id": raw_id, "video": row["video"]}
    quality = check_take(take, protocol.load().task(row["task"]),
                         keys_expected=row["keys_source"] != NoKeys.name)
    problems = ([OVERFLOW_ADVICE] if row["keys_overflowed"] else []) + quality.problems
    store_checks = QualityCheck(ok=not problems, problems=problems).stored_with_take()

    def register(conn: sqlite3.Connection, take_id: int) -> None:
        store_checks(conn, take_id)
        raw_recordings.mark_done(conn, raw_id, take_id)

    store_take(conn, data_dir, int(row["session_id"]), take, then=register)
    return raw_id
