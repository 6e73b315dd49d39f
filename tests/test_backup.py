"""Backups: a restore into an empty box brings back every session byte for byte; a damaged
bundle is refused before anything changes; a box with data is never overwritten unless
forced, and then its data is moved aside, not deleted."""

import io
import json
import sqlite3
import tarfile

import pytest

from device import cli
from device.digest import sha256_of
from device.maintenance import backup
from device.store import db, recordings, records
from device.store.transactions import transaction
from device.web.secrets import secret_key
from tests.helpers import make_take

CONFIG = '[box]\nname = "box-7"\nsimulate = "sim"\n[force]\nnewtons_per_count = ' \
         '[0.001, 0.002, 0.003, 0.004, 0.005]\n'


def make_box(data_dir, sessions=2, takes=3):
    """A real store: a clinician, patients, sessions with takes and results, a report file."""
    conn = db.connect(data_dir / db.DB_FILE)
    records.add_clinician(conn, "dr-a", "argon2-hash")
    for s in range(sessions):
        patient = records.add_patient(conn, f"P-{s:03d}", handedness="right")
        session = records.start_session(conn, patient, "quick")
        for t in range(takes):
            take_id = recordings.store_take(conn, data_dir, session, make_take(task=t + 1,
                                                                               t0=5.0 + s))
            with transaction(conn):
                conn.execute("INSERT INTO result (session_id, take_id, kind, data_json, "
                             "created) VALUES (?, ?, 'screening', ?, 1.0)",
                             (session, take_id, json.dumps({"abnormal": bool(t % 2)})))
    conn.close()
    (data_dir / "reports").mkdir()
    (data_dir / "reports" / "session-000001.pdf").write_bytes(b"%PDF-1.4 report")
    secret_key(data_dir)
    return data_dir


def database_dump(data_dir):
    conn = sqlite3.connect(data_dir / db.DB_FILE)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def files_of(data_dir):
    return {p.relative_to(data_dir).as_posix(): p.read_bytes()
            for p in backup.data_files(data_dir)}


@pytest.fixture
def box(tmp_path):
    config_file = tmp_path / "etc" / "config.toml"
    config_file.parent.mkdir()
    config_file.write_text(CONFIG)
    data = make_box(tmp_path / "data")
    return data, config_file


def run(*argv):
    return cli.main([str(a) for a in argv])


def test_restore_into_an_empty_box_brings_back_every_session_byte_for_byte(box, tmp_path,
                                                                          capsys):
    data, config_file = box
    (tmp_path / "stick").mkdir()
    assert run("--config", config_file, "--data-dir", data, "backup", "--out",
               tmp_path / "stick") == 0
    bundle = next((tmp_path / "stick").glob("dystonia-backup-box-7-*.tar"))
    assert capsys.readouterr().out.strip().endswith(bundle.name)

    new_data, new_config = tmp_path / "new-box", tmp_path / "new-etc" / "config.toml"
    assert run("--data-dir", new_data, "restore", bundle, "--no-config") == 0
    assert database_dump(new_data) == database_dump(data)
    before, after = files_of(data), files_of(new_data)
    takes = [name for name in before if name.endswith(".take.npz")]
    assert len(takes) == 6 and after == before  # every recording, byte for byte
    conn = db.connect(new_data / db.DB_FILE)
    for row in conn.execute("SELECT file, sha256 FROM take"):
        assert sha256_of(new_data / row["file"]) == row["sha256"]
    assert db.integrity_ok(conn)
    conn.close()
    assert not (new_data / "secret_key").exists()  # secrets are made on each box
    assert not new_config.exists()

    other = tmp_path / "third-box"
    assert backup.restore(bundle, other, new_config).config_written == new_config
    assert new_config.read_text() == CONFIG  # calibration travels with the backup


def test_the_manifest_lists_every_file_with_its_sha256(box, tmp_path):
    data, config_file = box
    bundle = backup.create(data, tmp_path / "b.tar", config_file, "box-7")
    with tarfile.open(bundle) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = set(tar.getnames()) - {"manifest.json"}
    listed = {f["path"] for f in manifest["files"]}
    assert manifest["format"] == "dystonia-backup/1"
    assert listed == names
    assert {"data/box.sqlite3", "config/config.toml", "data/reports/session-000001.pdf"} \
        <= listed
    assert not any("secret_key" in n or "backups/" in n for n in listed)
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])


def rewrite(bundle, out, change):
    """Copy ``bundle`` to ``out`` letting ``change(name, data)`` alter or drop members."""
    with tarfile.open(bundle) as src, tarfile.open(out, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


def test_damaged_bundles_are_refused_and_the_box_is_untouched(box, tmp_path, capsys):
    data, config_file = box
    bundle = backup.create(data, tmp_path / "b.tar", config_file, "box-7")
    take = next(n for n in files_of(data) if n.endswith(".take.npz"))

    def flip(name, blob):
        if name == f"data/{take}":
            return blob[:100] + bytes([blob[100] ^ 0x01]) + blob[101:]
        return blob

    cases = {
        "flipped": (rewrite(bundle, tmp_path / "flip.tar", flip), "is damaged"),
        "missing": (rewrite(bundle, tmp_path / "miss.tar",
                            lambda n, b: None if n == f"data/{take}" else b), "missing"),
        "no manifest": (rewrite(bundle, tmp_path / "nomani.tar",
                                lambda n, b: None if n == "manifest.json" else b),
                        "no manifest.json"),
    }
    truncated = tmp_path / "short.tar"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    cases["truncated"] = (truncated, "")
    for label, (damaged, message) in cases.items():
        target = tmp_path / f"empty-{label.replace(' ', '-')}"
        assert run("--data-dir", target, "restore", damaged, "--no-config") == 2, label
        err = capsys.readouterr().err
        assert "restore refused" in err and message in err, (label, err)
        assert not target.exists() or not any(p for p in target.iterdir()
                                              if not p.name.startswith(".")), label
        assert not any(target.glob(".restore-*")), label


def test_a_box_with_data_is_only_replaced_with_force_and_nothing_is_lost(box, tmp_path,
                                                                         capsys):
    data, config_file = box
    bundle = backup.create(data, tmp_path / "b.tar", config_file, "box-7")
    other = make_box(tmp_path / "other", sessions=1, takes=1)
    other_dump, other_files = database_dump(other), files_of(other)
    assert run("--data-dir", other, "restore", bundle, "--no-config") == 2
    assert "already holds data" in capsys.readouterr().err
    assert database_dump(other) == other_dump

    assert run("--data-dir", other, "restore", bundle, "--no-config", "--force") == 0
    assert database_dump(other) == database_dump(data)
    aside = next(other.glob(".before-restore-*"))
    assert files_of(aside) == other_files  # the earlier data, kept whole
    assert (aside / db.DB_FILE).exists()


def test_timer_backups_go_to_the_backups_folder_and_are_pruned(box, tmp_path):
    data, config_file = box
    folder = data / backup.BACKUPS_DIR
    folder.mkdir()
    for i in range(9):
        old = folder / f"dystonia-backup-box-7-2026010{i}-000000.tar"
        old.write_bytes(b"old")
    assert run("--config", config_file, "--data-dir", data, "backup") == 0
    kept = sorted(folder.glob("dystonia-backup-*.tar"))
    assert len(kept) == 7  # storage.backup_keep
    newest = max(kept, key=lambda p: p.stat().st_mtime)
    assert backup.verify(newest)["box"] == "box-7"
    assert not any("backups/" in f["path"] for f in backup.verify(newest)["files"])


def test_backup_of_a_folder_without_a_box_is_refused(tmp_path, capsys):
    assert run("--data-dir", tmp_path / "nothing", "backup", "--out", tmp_path / "x.tar") == 2
    assert "nothing to back up" in capsys.readouterr().err
