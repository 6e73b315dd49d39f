"""Backups of a box's data: one tar file with a manifest of SHA-256 sums.

A bundle (format ``dystonia-backup/1``) holds ``manifest.json``, the database under
``data/box.sqlite3`` (copied with SQLite's online backup API, so a running box gives a
consistent copy), every other file of the data directory under ``data/`` (recordings,
reports), and the configuration file under ``config/config.toml``. Left out: the web
app's signing key and one-time codes (secrets made on each box), the start marker, earlier
backups and hidden working directories.

Restoring checks every file against the manifest before anything on the box changes, and
refuses a box that already holds data unless forced; then the old contents are moved aside
(``.before-restore-<time>/`` in the data directory), never deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from device import __version__, config
from device.atomic import atomic_open, fsync_dir
from device.digest import sha256_of
from device.maintenance import recovery, shutdowns
from device.store import db
from device.web.secrets import SECRET_KEY_FILE

FORMAT = "dystonia-backup/1"
MANIFEST = "manifest.json"
BACKUPS_DIR = "backups"
CONFIG_MEMBER = "config/config.toml"
# Never copied: secrets made on each box, run-time state, the live database files.
EXCLUDED = {SECRET_KEY_FILE, recovery.RECOVERY_FILE, shutdowns.MARKER_FILE, BACKUPS_DIR,
            db.DB_FILE, f"{db.DB_FILE}-wal", f"{db.DB_FILE}-shm", f"{db.DB_FILE}-journal"}


class BackupError(RuntimeError):
    """A bundle cannot be made or restored; the message says which file and why."""


@dataclass(frozen=True)
class RestoreResult:
    files: int
    moved_aside: Path | None
    config_written: Path | None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_files(data_dir: Path) -> Iterator[Path]:
    """The files of ``data_dir`` a backup carries besides the database, sorted."""
    for entry in sorted(data_dir.iterdir()):
        if entry.name in EXCLUDED or entry.name.startswith("."):
            continue
        if entry.is_file() and not entry.is_symlink():
            yield entry
        elif entry.is_dir() and not entry.is_symlink():
            yield from (p for p in sorted(entry.rglob("*"))
                        if p.is_file() and not p.is_symlink() and not p.name.startswith("."))


def _database_copy(data_dir: Path, work: Path) -> Path:
    """A consistent single-file copy of the live database (SQLite's online backup API)."""
    copy = work / db.DB_FILE
    source = db.connect(data_dir / db.DB_FILE)
    try:
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # self-contained, no -wal beside it
        finally:
            target.close()
    finally:
        source.close()
    return copy


def create(data_dir: Path, out: Path, config_file: Path | None, box_name: str) -> Path:
    """Write a bundle of ``data_dir`` (and ``config_file`` if given) to ``out``."""
    data_dir = Path(data_dir)
    if not (data_dir / db.DB_FILE).exists():
        raise BackupError(f"{data_dir}: no box database here ({db.DB_FILE}); nothing to back up")
    entries: list[tuple[str, Path]] = []
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=data_dir) as tmp:
        entries.append((f"data/{db.DB_FILE}", _database_copy(data_dir, Path(tmp))))
        for path in data_files(data_dir):
            entries.append((f"data/{path.relative_to(data_dir).as_posix()}", path))
        if config_file is not None and config_file.is_file():
            entries.append((CONFIG_MEMBER, config_file))
        files = [{"path": name, "size": path.stat().st_size, "sha256": sha256_of(path)}
                 for name, path in entries]
        manifest = {"format": FORMAT, "created": time.time(), "box": box_name,
                    "software": __version__, "files": files}
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out, mode=0o600) as handle, tarfile.open(fileobj=handle,
                                                                  mode="w") as tar:
            blob = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(blob), int(manifest["created"]), 0o600
            tar.addfile(info, io.BytesIO(blob))
            for name, path in entries:
                tar.add(path, arcname=name, recursive=False)
    return out


def default_name(box_name: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"dystonia-backup-{box_name}-{stamp}.tar"


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` bundles in ``directory``; returns what went."""
    bundles = sorted(directory.glob("dystonia-backup-*.tar"), key=lambda p: p.stat().st_mtime)
    gone = bundles[:-keep] if keep > 0 else bundles
    for path in gone:
        path.unlink()
    return gone


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"unsafe path {name!r} in the bundle")
    return path


def read_manifest(tar: tarfile.TarFile, bundle: Path) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.loads(handle.read() if handle else b"")
    except KeyError:
        raise BackupError(f"{bundle}: no {MANIFEST}; not a box backup") from None
    except ValueError as exc:
        raise BackupError(f"{bundle}: {MANIFEST} is damaged ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{bundle}: format is {manifest.get('format')!r}, expected {FORMAT}"
                          if isinstance(manifest, dict) else f"{bundle}: bad {MANIFEST}")
    return manifest


def verify(bundle: Path, extract_to: Path | None = None) -> dict:
    """Check every file of ``bundle`` against its manifest (optionally writing them out
    under ``extract_to``). Returns the manifest; raises BackupError naming the problem."""
    try:
        with tarfile.open(bundle, mode="r:") as tar:
            return _verify_open(tar, bundle, extract_to)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{bundle}: the bundle is damaged or unreadable ({exc})") from None


def _verify_open(tar: tarfile.TarFile, bundle: Path, extract_to: Path | None) -> dict:
    manifest = read_manifest(tar, bundle)
    expected = {f["path"]: f for f in manifest.get("files", [])}
    if f"data/{db.DB_FILE}" not in expected:
        raise BackupError(f"{bundle}: the manifest lists no database")
    seen: set[str] = set()
    for member in tar:
        if member.name == MANIFEST:
            continue
        rel = _safe_member(member.name)
        if member.name not in expected:
            raise BackupError(f"{bundle}: {member.name} is not in the manifest")
        if not member.isfile():
            raise BackupError(f"{bundle}: {member.name} is not a regular file")
        _check_member(tar, member, expected[member.name], bundle,
                      extract_to / rel if extract_to else None)
        seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"{bundle}: {len(missing)} files of the manifest are missing, "
                          f"first {missing[0]}")
    return manifest


def _check_member(tar: tarfile.TarFile, member: tarfile.TarInfo, entry: dict, bundle: Path,
                  target: Path | None) -> None:
    handle = tar.extractfile(member)
    if handle is None:
        raise BackupError(f"{bundle}: cannot read {member.name}")
    digest, size = hashlib.sha256(), 0
    out = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("wb")
    try:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
            if out is not None:
                out.write(block)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    if size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
        raise BackupError(f"{bundle}: {member.name} is damaged (SHA-256 or size differs from "
                          "the manifest)")


def box_has_data(data_dir: Path) -> bool:
    """True if the box holds anything a restore would replace: accounts, patients, sessions
    or takes in the database, or any recording or report file."""
    if (data_dir / db.DB_FILE).exists():
        conn = sqlite3.connect(f"file:{data_dir / db.DB_FILE}?mode=ro", uri=True)
        try:
            for table in ("clinician", "patient", "session", "take"):
                try:
                    if conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]:
                        return True
                except sqlite3.OperationalError:
                    continue
        finally:
            conn.close()
    return data_dir.is_dir() and next(data_files(data_dir), None) is not None


def restore(bundle: Path, data_dir: Path, config_file: Path | None,
            force: bool = False) -> RestoreResult:
    """Bring ``bundle`` back into ``data_dir`` (and its configuration to ``config_file``)."""
    data_dir = Path(data_dir)
    if shutdowns.running_pid(data_dir) is not None:
        raise BackupError(f"{data_dir}: the box is running (pid "
                          f"{shutdowns.running_pid(data_dir)}); stop it first "
                          "(systemctl stop dystonia-box)")
    if not force and box_has_data(data_dir):
        raise BackupError(f"{data_dir}: this box already holds data; restoring would replace "
                          "it (use --force: the current data is moved aside, not deleted)")
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    staging = data_dir / f".restore-{stamp}"
    try:
        manifest = verify(bundle, extract_to=staging)
        new_config = staging / CONFIG_MEMBER
        if new_config.exists() and config_file is not None:
            config.load(new_config)  # refuse a configuration this software cannot use
        _give_to_owner_of(data_dir, staging)
        aside = _move_aside(data_dir, stamp)
        for entry in sorted((staging / "data").iterdir()):
            os.replace(entry, data_dir / entry.name)
        fsync_dir(data_dir)
        written = None
        if new_config.exists() and config_file is not None:
            written = _install_config(new_config, config_file, stamp)
    except config.ConfigError as exc:
        raise BackupError(f"{bundle}: its configuration cannot be used here: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(len(manifest["files"]), aside, written)


def _give_to_owner_of(data_dir: Path, tree: Path) -> None:
    """Restored files belong to whoever owns the data directory (the service's user), also
    when a technician restores as root."""
    owner = data_dir.stat()
    if os.geteuid() != 0 or owner.st_uid == 0:
        return
    for path in [tree, *tree.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)


def _move_aside(data_dir: Path, stamp: str) -> Path | None:
    """Move the box's current contents (except secrets and hidden dirs) out of the way."""
    entries = [e for e in data_dir.iterdir()
               if not e.name.startswith(".") and e.name not in (SECRET_KEY_FILE, BACKUPS_DIR)]
    if not entries:
        return None
    aside = data_dir / f".before-restore-{stamp}"
    aside.mkdir()
    for entry in entries:
        os.replace(entry, aside / entry.name)
    return aside


def _install_config(new: Path, target: Path, stamp: str) -> Path:
    if target.exists():
        if target.read_bytes() == new.read_bytes():
            return target
        shutil.copy2(target, target.with_name(f"{target.name}.before-restore-{stamp}"))
    with atomic_open(target, mode=0o644) as handle:
        handle.write(new.read_bytes())
    return target
