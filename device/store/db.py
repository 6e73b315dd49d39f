"""Opening the database: WAL mode, full synchronous commits, foreign keys, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from device.store.schema import MIGRATIONS
from device.store.transactions import transaction

DB_FILE = "box.sqlite3"


class StoreError(RuntimeError):
    """The database cannot be opened or is newer than this software."""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``.

    WAL lets the web page read while the recorder writes; ``synchronous=FULL`` makes every
    committed transaction survive a power cut, which is what "a completed take is never
    lost" needs on an SD card.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise StoreError(f"{path}: cannot switch to WAL journal mode (got {mode})")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn, path)
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path | str = "database") -> int:
    """Apply the missing migrations, each in its own transaction. Returns the version."""
    version = schema_version(conn)
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path}: database schema version {version} is newer than this software "
            f"({len(MIGRATIONS)}); update the box before using this data"
        )
    for number in range(version, len(MIGRATIONS)):
        with transaction(conn):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number + 1}")
    return schema_version(conn)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    out, current = [], []
    for line in script.splitlines():
        current.append(line)
        candidate = "\n".join(current)
        if sqlite3.complete_statement(candidate):
            if candidate.strip():
                out.append(candidate.strip())
            current = []
    if "\n".join(current).strip():
        raise StoreError("migration ends with an incomplete statement")
    return out


def integrity_ok(conn: sqlite3.Connection) -> bool:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    return [r[0] for r in rows] == ["ok"] and not fk
