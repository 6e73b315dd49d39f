import subprocess
import sys

from device.auth.passwords import hash_password, needs_rehash, verify
from device.store import db


def run(data_dir, name, stdin):
    return subprocess.run([sys.executable, "-m", "device", "--data-dir", str(data_dir),
                           "user", "add", name], input=stdin, capture_output=True, text=True)


def test_hash_and_verify():
    h = hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert verify(h, "correct horse battery")
    assert not verify(h, "correct horse batterY")
    assert not verify("not a hash", "x")
    assert not needs_rehash(h)


def test_user_add_from_stdin(tmp_path):
    result = run(tmp_path, "dr-smith", "a long enough secret\n")
    assert result.returncode == 0, result.stderr
    conn = db.connect(tmp_path / db.DB_FILE)
    row = conn.execute("SELECT password_hash FROM clinician WHERE name = 'dr-smith'").fetchone()
    assert verify(row[0], "a long enough secret")
    again = run(tmp_path, "dr-smith", "another long secret\n")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_user_add_refuses_short_password(tmp_path):
    result = run(tmp_path, "dr-x", "short\n")
    assert result.returncode == 2
    assert "at least 10 characters" in result.stderr
