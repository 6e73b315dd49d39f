"""Take files beside the database.

Order of writing: the file first (atomically: temporary file, fsync, rename), then its row.
So a row never points at a missing or partial file. A crash between the two leaves a whole,
valid file without a row; ``reconcile`` (run at start-up) registers it. Leftover temporary
files of an interrupted write are removed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from device import takefile
from device.digest import sha256_of
from device.store.transactions import transaction

log = logging.getLogger(__name__)
RECORDINGS = "recordings"


def take_path(data_dir: Path, session_id: int, take: takefile.Take) -> Path:
    stamp = time.time_ns()
    name = (f"t{take.task:02d}_{take.meta['dynamics']}_{take.meta['tempo_mode']}_{stamp}"
            ".take.npz")
    return data_dir / RECORDINGS / f"session-{session_id:06d}" / name


def _insert(conn: sqlite3.Connection, data_dir: Path, session_id: int, path: Path,
            take: takefile.Take) -> int:
    cursor = conn.execute(
        "INSERT INTO take (session_id, task, dynamics, tempo_mode, file, sha256, recorded) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, take.task, take.meta["dynamics"], take.meta["tempo_mode"],
         str(path.relative_to(data_dir)), sha256_of(path), path.stat().st_mtime),
    )
    return int(cursor.lastrowid)


def store_take(conn: sqlite3.Connection, data_dir: Path, session_id: int,
               take: takefile.Take,
               then: Callable[[sqlite3.Connection, int], None] | None = None) -> int:
    """Write the take file, then register it. Returns the take's id.

    ``then(conn, take_id)`` runs inside the registering transaction (e.g. to mark the raw
    recording the take came from as done), so both changes are committed or neither."""
    if conn.execute("SELECT 1 FROM session WHERE id = ?", (session_id,)).fetchone() is None:
        raise ValueError(f"session {session_id} does not exist")
    take.meta = {**take.meta, "session_id": session_id}
    path = takefile.write(take_path(data_dir, session_id, take), take)
    with transaction(conn):
        take_id = _insert(conn, data_dir, session_id, path, take)
        if then is not None:
            then(conn, take_id)
    return take_id


def reconcile(conn: sqlite3.Connection, data_dir: Path) -> list[str]:
    """Register complete take files that have no row; remove partial temporary files.
    Returns what was done, one line per file."""
    done: list[str] = []
    root = data_dir / RECORDINGS
    if not root.is_dir():
        return done
    for part in root.rglob(".*.part"):
        part.unlink(missing_ok=True)
        done.append(f"removed unfinished write {part.relative_to(data_dir)}")
    known = {row[0] for row in conn.execute("SELECT file FROM take")}
    for path in sorted(root.rglob("*.take.npz")):
        rel = str(path.relative_to(data_dir))
        if rel in known:
            continue
        try:
            take = takefile.read(path)
            session_id = int(take.meta["session_id"])
        except (takefile.TakeFileError, KeyError, ValueError) as exc:
            done.append(f"left unregistered {rel}: {exc}")
            continue
        with transaction(conn):
            take_id = _insert(conn, data_dir, session_id, path, take)
            if "raw_recording_id" in take.meta:  # analysed from it; it must not run again
                conn.execute("UPDATE raw_recording SET status = 'done', progress = 1, "
                             "take_id = ? WHERE id = ?", (take_id, take.meta["raw_recording_id"]))
        done.append(f"registered {rel}")
    for line in done:
        log.warning("recordings: %s", line)
    return done
