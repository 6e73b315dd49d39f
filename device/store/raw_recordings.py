"""Camera recordings waiting to become takes: their files and their rows.

As with take files, the files come first and the row after: ``store_raw`` moves the
recorder's complete files next to the session's takes (a rename on the same file system,
then fsync of the directory) and only then inserts the row. A row moves
waiting -> analysing -> done (with the take's id) or failed (with the reason); the files
are kept in every case. ``recover`` puts rows a crash left in 'analysing' back to waiting.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from device.atomic import fsync_dir
from device.session.recorder import RawRecording
from device.session.video_file import PARTIAL_SUFFIX
from device.store.recordings import RECORDINGS
from device.store.transactions import transaction

RAW = "raw"


def spool_dir(data_dir: Path) -> Path:
    """Where the camera recorder writes a recording before it belongs to a session."""
    return data_dir / RECORDINGS / RAW


def raw_dir(data_dir: Path, session_id: int) -> Path:
    return spool_dir(data_dir) / f"session-{session_id:06d}"


def _move_into(path: Path, directory: Path) -> Path:
    target = directory / path.name
    if path.resolve() == target.resolve():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(path, target)
    except OSError:  # another file system: copy (to a temporary name), then remove
        partial = directory / f".{path.name}.part"
        shutil.copyfile(path, partial)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
        path.unlink()
    return target


def store_raw(conn: sqlite3.Connection, data_dir: Path, session_id: int,
              raw: RawRecording) -> int:
    """Move the recording's files to the session's folder, then register them. Returns the
    row's id."""
    if conn.execute("SELECT 1 FROM session WHERE id = ?", (session_id,)).fetchone() is None:
        raise ValueError(f"session {session_id} does not exist")
    directory = raw_dir(data_dir, session_id)
    video, times, keys = (_move_into(path, directory) for path in raw.files)
    fsync_dir(directory)
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO raw_recording (session_id, task, dynamics, tempo_mode, participant, "
            "video, times, keys, keys_source, keys_overflowed, frames, dropped_frames, "
            "recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, raw.task, raw.dynamics, raw.tempo_mode, raw.participant,
             *(str(p.relative_to(data_dir)) for p in (video, times, keys)), raw.keys_source,
             int(raw.keys_overflowed), raw.frames, raw.dropped_frames, raw.recorded))
    return int(cursor.lastrowid)


def claim_next(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The oldest waiting recording, now marked analysing; None when nothing waits."""
    with transaction(conn):
        row = conn.execute("SELECT * FROM raw_recording WHERE status = 'waiting' "
                           "ORDER BY id LIMIT 1").fetchone()
        if row is not None:
            conn.execute("UPDATE raw_recording SET status = 'analysing', progress = 0, "
                         "error = '' WHERE id = ?", (row["id"],))
    return row


def set_progress(conn: sqlite3.Connection, raw_id: int, fraction: float) -> None:
    with transaction(conn):
        conn.execute("UPDATE raw_recording SET progress = ? WHERE id = ?",
                     (min(1.0, max(0.0, fraction)), raw_id))


def mark_done(conn: sqlite3.Connection, raw_id: int, take_id: int) -> None:
    """Inside the transaction that registers the take, so the two never disagree."""
    conn.execute("UPDATE raw_recording SET status = 'done', progress = 1, take_id = ? "
                 "WHERE id = ?", (take_id, raw_id))


def mark_failed(conn: sqlite3.Connection, raw_id: int, message: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE raw_recording SET status = 'failed', error = ? WHERE id = ?",
                     (message, raw_id))


def recover(conn: sqlite3.Connection) -> int:
    """Recordings a crash left half-analysed are queued again. Returns how many."""
    with transaction(conn):
        cursor = conn.execute("UPDATE raw_recording SET status = 'waiting', progress = 0 "
                              "WHERE status = 'analysing'")
    return cursor.rowcount


def remove_partial_videos(data_dir: Path) -> list[Path]:
    """Delete videos a crash left half-written (never a complete file). Returns them."""
    root = spool_dir(data_dir)
    removed = sorted(root.rglob(f".*{PARTIAL_SUFFIX}")) if root.is_dir() else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def pending(conn: sqlite3.Connection, session_id: int) -> list[sqlite3.Row]:
    """The session's recordings that are not (yet) takes: waiting, analysing or failed."""
    return conn.execute("SELECT * FROM raw_recording WHERE session_id = ? AND status != 'done' "
                        "ORDER BY id", (session_id,)).fetchall()
