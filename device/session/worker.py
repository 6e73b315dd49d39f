"""Background processing: camera recordings are analysed into takes, and takes are scored,
off the request thread.

A take moves recorded -> processing -> scored (or failed). The result and the new status
are written in one transaction, so a crash leaves a take either unprocessed or complete.
A camera recording moves waiting -> analysing -> done (its take stored, then scored as any
take) or failed (``device.session.analysis``). Waiting takes are scored before the next
recording is analysed: scoring takes seconds, analysis minutes. At start, takes left in
'processing' and recordings left in 'analysing' by a crash are queued again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

from device import takefile
from device.kinematics.prepare import DEFAULT_SETTINGS, Settings
from device.screening.models import ModelSet
from device.screening.score import score_take
from device.session.analysis import DEFAULT_ANALYSIS, AnalysisSettings, analyse_one
from device.session.quality import with_findings
from device.store import db, raw_recordings
from device.store.transactions import transaction

log = logging.getLogger(__name__)


def register_models(conn: sqlite3.Connection, models: ModelSet) -> None:
    conn.execute("INSERT OR IGNORE INTO model_version (id, trained_on, card_json, first_used) "
                 "VALUES (?, ?, ?, ?)",
                 (models.id, models.trained_on, json.dumps(models.card), time.time()))


def recover(conn: sqlite3.Connection) -> int:
    """Takes a crash left half-processed go back to the queue. Returns how many."""
    with transaction(conn):
        cursor = conn.execute("UPDATE take SET status = 'recorded' WHERE status = 'processing'")
    return cursor.rowcount


def process_one(conn: sqlite3.Connection, data_dir: Path, models: ModelSet,
                settings: Settings = DEFAULT_SETTINGS) -> int | None:
    """Score the oldest recorded take. Returns its id, or None when nothing waits."""
    with transaction(conn):
        row = conn.execute("SELECT id, session_id, file FROM take WHERE status = 'recorded' "
                           "ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        conn.execute("UPDATE take SET status = 'processing' WHERE id = ?", (row["id"],))
    score = None
    try:
        take = takefile.read(data_dir / row["file"])
        score = score_take(take, models, row["file"], settings)
        result, kind, status = score.as_contract(), "screening", "scored"
    except (takefile.TakeFileError, OSError, RuntimeError, ValueError) as exc:
        log.exception("take %s could not be processed", row["id"])
        result, kind, status = {"error": str(exc)}, "error", "failed"
    with transaction(conn):
        register_models(conn, models)
        if score is not None:  # the checks as stored now, not as when the take was picked up
            stored = conn.execute("SELECT quality_json FROM take WHERE id = ?",
                                  (row["id"],)).fetchone()[0]
            if (merged := with_findings(stored, score)) != stored:
                conn.execute("UPDATE take SET quality_json = ? WHERE id = ?",
                             (merged, row["id"]))
        conn.execute("DELETE FROM result WHERE take_id = ?", (row["id"],))
        conn.execute(
            "INSERT INTO result (session_id, take_id, kind, model_id, data_json, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (row["session_id"], row["id"], kind, models.id, json.dumps(result), time.time()))
        conn.execute("UPDATE take SET status = ? WHERE id = ?", (status, row["id"]))
    return int(row["id"])


def process_all(conn: sqlite3.Connection, data_dir: Path, models: ModelSet,
                settings: Settings = DEFAULT_SETTINGS) -> int:
    done = 0
    while process_one(conn, data_dir, models, settings) is not None:
        done += 1
    return done


class Worker(threading.Thread):
    """Polls the store for recorded takes and scores them, one at a time."""

    def __init__(self, data_dir: Path, models: ModelSet, settings: Settings = DEFAULT_SETTINGS,
                 poll_s: float = 0.5, analysis: AnalysisSettings = DEFAULT_ANALYSIS) -> None:
        super().__init__(name="processing-worker", daemon=True)
        self.data_dir, self.models, self.settings, self.poll_s = data_dir, models, settings, poll_s
        self.analysis = analysis
        self._halt = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        conn = db.connect(self.data_dir / db.DB_FILE)
        try:
            if (n := recover(conn)):
                log.warning("%d takes interrupted during processing are queued again", n)
            if (n := raw_recordings.recover(conn)):
                log.warning("%d recordings interrupted during analysis are queued again", n)
            for path in raw_recordings.remove_partial_videos(self.data_dir):
                log.warning("removed the unfinished video %s", path)
            while not self._halt.is_set():
                if process_one(conn, self.data_dir, self.models, self.settings) is None \
                        and analyse_one(conn, self.data_dir, self.analysis) is None:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
        finally:
            conn.close()
