"""Killing the processing worker at random moments, 50 times, loses nothing: every take ends
scored exactly once and the database stays consistent."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from device.store import db, recordings, records
from tests.helpers import make_take

WORKER = """
import sys
from pathlib import Path
from device.screening import models
from device.session import worker
from device.store import db
data = Path(sys.argv[1])
conn = db.connect(data / db.DB_FILE)
worker.recover(conn)
print("ready", flush=True)
worker.process_all(conn, data, models.load(Path(sys.argv[2])))
print("done", flush=True)
"""


def test_killing_the_worker_50_times(tmp_path, trained):
    _, model_dir = trained
    conn = db.connect(tmp_path / db.DB_FILE)
    sid = records.start_session(conn, records.add_patient(conn, "P1"), "full")
    for i in range(30):
        recordings.store_take(conn, tmp_path, sid, make_take(task=4 if i % 3 else 1))
    conn.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rng = random.Random(3)
    finished = False
    for _ in range(50):
        child = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(model_dir)],
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
    final = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path), str(model_dir)],
                           capture_output=True, env=env, timeout=120)
    finished = final.stdout.strip().endswith(b"done")
    assert finished, final.stderr[-2000:]
    conn = db.connect(tmp_path / db.DB_FILE)
    assert db.integrity_ok(conn)
    statuses = [r[0] for r in conn.execute("SELECT status FROM take")]
    assert statuses == ["scored"] * 30
    per_take = conn.execute("SELECT take_id, COUNT(*) FROM result GROUP BY take_id").fetchall()
    assert len(per_take) == 30 and all(n == 1 for _, n in per_take)
