import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from device import takefile
from device.digest import sha256_of
from device.store import db, recordings, records
from device.store.schema import MIGRATIONS
from tests.helpers import make_take


@pytest.fixture
def store(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    yield conn, tmp_path
    conn.close()


def test_wal_foreign_keys_and_version(store):
    conn, _ = store
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.schema_version(conn) == len(MIGRATIONS)
    assert db.integrity_ok(conn)


def test_migrations_run_once(tmp_path):
    path = tmp_path / db.DB_FILE
    db.connect(path).close()
    conn = db.connect(path)  # second open: nothing to do, no error
    assert db.schema_version(conn) == len(MIGRATIONS)


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / db.DB_FILE
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(db.StoreError, match="newer than this software"):
        db.connect(path)


def test_records_and_their_errors(store):
    conn, _ = store
    pid = records.add_patient(conn, "P-017", year_of_birth=1980, sex="female",
                              handedness="right", affected_side="right")
    with pytest.raises(ValueError, match="already exists"):
        records.add_patient(conn, "P-017")
    with pytest.raises(ValueError, match="invalid value"):
        records.add_patient(conn, "P-018", sex="x")
    with pytest.raises(ValueError, match="unknown patient field"):
        records.add_patient(conn, "P-019", shoe_size=42)
    with pytest.raises(ValueError, match="patient 999 does not exist"):
        records.start_session(conn, 999, "quick")
    sid = records.start_session(conn, pid, "quick")
    assert sid > 0
    records.add_clinician(conn, "dr-a", "hash")
    with pytest.raises(ValueError, match="already exists"):
        records.add_clinician(conn, "dr-a", "hash")


def test_store_take_writes_file_then_row(store):
    conn, data = store
    sid = records.start_session(conn, records.add_patient(conn, "P1"), "quick")
    take_id = recordings.store_take(conn, data, sid, make_take(task=4))
    row = conn.execute("SELECT * FROM take WHERE id = ?", (take_id,)).fetchone()
    path = data / row["file"]
    assert takefile.read(path).meta["session_id"] == sid
    assert sha256_of(path) == row["sha256"]
    assert (row["task"], row["dynamics"], row["tempo_mode"]) == (4, "pp", "fixed")
    with pytest.raises(ValueError, match="session 99 does not exist"):
        recordings.store_take(conn, data, 99, make_take())


def test_reconcile_registers_orphans_and_removes_partials(store):
    conn, data = store
    sid = records.start_session(conn, records.add_patient(conn, "P1"), "full")
    take = make_take(task=7)
    take.meta["session_id"] = sid
    orphan = takefile.write(recordings.take_path(data, sid, take), take)
    partial = orphan.parent / f".{orphan.name}.abc.part"
    partial.write_bytes(b"half")
    done = recordings.reconcile(conn, data)
    assert any("registered" in line for line in done)
    assert not partial.exists()
    assert conn.execute("SELECT COUNT(*) FROM take").fetchone()[0] == 1
    assert recordings.reconcile(conn, data) == []


WRITER = """
import sys, itertools
from pathlib import Path
from device.store import db, records, recordings
from tests.helpers import make_take
data = Path(sys.argv[1])
conn = db.connect(data / db.DB_FILE)
recordings.reconcile(conn, data)
sid = int(sys.argv[2])
print("ready", flush=True)
for i in itertools.count():
    recordings.store_take(conn, data, sid, make_take(task=1 + i % 11))
"""


def test_killing_the_writer_50_times_loses_no_completed_take(tmp_path):
    """SIGKILL at random moments while takes are being stored: afterwards every row's file
    exists, is whole and matches its checksum, every whole file has a row, and the database
    passes its integrity check."""
    conn = db.connect(tmp_path / db.DB_FILE)
    sid = records.start_session(conn, records.add_patient(conn, "P1"), "full")
    conn.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    import random

    rng = random.Random(7)
    for _ in range(50):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(sid)],
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
    conn = db.connect(tmp_path / db.DB_FILE)
    recordings.reconcile(conn, tmp_path)
    assert db.integrity_ok(conn)
    rows = conn.execute("SELECT file, sha256 FROM take").fetchall()
    assert rows, "no take was completed in 50 runs"
    for row in rows:
        path = tmp_path / row["file"]
        takefile.read(path)
        assert sha256_of(path) == row["sha256"]
    files = {str(p.relative_to(tmp_path)) for p in (tmp_path / "recordings").rglob("*.take.npz")}
    assert files == {row["file"] for row in rows}
    assert not list((tmp_path / "recordings").rglob("*.part"))
