"""The status page: disk and shutdown warnings on every page, and a backup download."""

from __future__ import annotations

from device import config
from device.auth.passwords import hash_password
from device.maintenance import backup
from device.maintenance.shutdowns import mark_started
from device.session.simulated import SimulatedRecorder
from device.store import db, records
from device.web.app import create_app
from tests.test_web import PASSWORD, csrf, sign_in


def make_app(tmp_path, storage=None):
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password(PASSWORD))
    records.add_patient(conn, "P-1")
    conn.close()
    cfg = config.from_mapping({"storage": storage or {}})
    app = create_app(cfg, tmp_path, SimulatedRecorder("healthy", 1), testing=True)
    client = app.test_client()
    sign_in(client)
    return client


def test_status_page_and_no_warning_on_a_healthy_box(tmp_path):
    client = make_app(tmp_path, {"warn_free_fraction": 0.0, "warn_free_mb": 0})
    page = client.get("/status").get_data(as_text=True)
    assert "GB free of" in page and "Unclean shutdowns" in page
    assert "running out of space" not in client.get("/").get_data(as_text=True)


def test_full_disk_and_unclean_shutdown_are_said_on_every_page(tmp_path):
    mark_started(tmp_path)
    assert mark_started(tmp_path)  # started again without a clean stop
    client = make_app(tmp_path, {"warn_free_fraction": 0.9, "warn_free_mb": 10**7})
    for path in ("/", "/patients/1", "/status"):
        page = client.get(path).get_data(as_text=True)
        assert "running out of space" in page, path
        assert "switched off without shutting down 1 time(s)" in page, path


def test_backup_download_is_a_verified_bundle(tmp_path):
    client = make_app(tmp_path)
    response = client.post("/status/backup", data={"csrf_token": csrf(client, "/status")})
    assert response.status_code == 200
    bundle = tmp_path / "download.tar"
    bundle.write_bytes(response.data)
    manifest = backup.verify(bundle)
    assert any(entry["path"].endswith(db.DB_FILE) for entry in manifest["files"])
    assert client.post("/status/backup").status_code == 400  # no CSRF token
    assert not list(tmp_path.glob(".backup-*"))
