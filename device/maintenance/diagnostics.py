"""A diagnostics bundle for support: versions, configuration (secrets removed), self-test,
store summary, disk, unclean stops and recent logs. Holds no patient data: no recordings,
no database, no pseudonyms."""

from __future__ import annotations

import io
import json
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from device import __version__
from device.atomic import atomic_open
from device.config import Config
from device.maintenance import shutdowns, storage
from device.store import db

SECRET_NAME = re.compile(r"(secret|password|passphrase|token|psk)", re.IGNORECASE)
JOURNAL_UNITS = ("dystonia-box.service", "dystonia-box-reset.service",
                 "dystonia-box-backup.service", "dystonia-box-cleanup.service")
COMMAND_TIMEOUT_S = 120.0


def redacted_config(cfg: Config) -> str:
    """The effective configuration as TOML, any value whose key names a secret replaced."""
    lines = []
    for line in cfg.as_toml().splitlines():
        name, sep, _ = line.partition(" = ")
        if sep and not line.startswith("#") and SECRET_NAME.search(name):
            line = f'{name} = "<removed>"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def versions() -> str:
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    os_release = Path("/etc/os-release")
    lines = [f"dystonia-box {__version__}", f"python {sys.version.split()[0]}",
             f"platform {platform.platform()}", f"machine {platform.machine()}"]
    model = Path("/proc/device-tree/model")
    if model.exists():
        lines.append(f"hardware {model.read_text(errors='replace').strip(chr(0))}")
    if os_release.exists():
        lines += ["", os_release.read_text(errors="replace").strip()]
    return "\n".join([*lines, "", *packages]) + "\n"


def store_summary(data_dir: Path) -> str:
    path = data_dir / db.DB_FILE
    if not path.exists():
        return f"no database at {path}\n"
    conn = db.connect(path)
    try:
        counts = {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("clinician", "patient", "session", "take", "result")}
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM take GROUP BY status"))
        summary = {"schema_version": db.schema_version(conn), "integrity_ok": db.integrity_ok(conn),
                   "rows": counts, "takes_by_status": statuses}
    finally:
        conn.close()
    return json.dumps(summary, indent=1) + "\n"


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"$ {' '.join(argv)}\nfailed: {exc}\n"
    return f"$ {' '.join(argv)}\nexit {done.returncode}\n{done.stdout}{done.stderr}"


def journal() -> str:
    if shutil.which("journalctl") is None:
        return "journalctl is not available on this machine\n"
    units = [arg for unit in JOURNAL_UNITS for arg in ("-u", unit)]
    return _run(["journalctl", "--no-pager", "-o", "short-iso", "--since", "-3 days",
                 "-n", "5000", *units])


def collect(cfg: Config, data_dir: Path, selftest: Callable[[], str],
            include_journal: bool = True) -> dict[str, str]:
    """Every part of the bundle, by file name."""
    disk = storage.disk_state(data_dir, cfg["storage"]) if data_dir.exists() else None
    unclean = shutdowns.unclean_shutdowns(data_dir)
    parts = {
        "versions.txt": versions(),
        "config.toml": redacted_config(cfg),
        "store.json": store_summary(data_dir),
        "health.json": json.dumps({
            "disk": disk.message if disk else f"{data_dir} does not exist",
            "disk_warning": disk.warning if disk else None,
            "unclean_shutdowns": unclean.count, "last_unclean_shutdown": unclean.last,
        }, indent=1) + "\n",
        "selftest.txt": selftest(),
    }
    recovery_log = data_dir / "recovery.log"
    if recovery_log.exists():
        parts["recovery.log"] = recovery_log.read_text(errors="replace")
    if include_journal:
        parts["journal.txt"] = journal()
    return parts


def write_bundle(parts: dict[str, str], out: Path) -> Path:
    folder = out.name.removesuffix(".tar.gz")
    with atomic_open(out, mode=0o600) as handle, tarfile.open(fileobj=handle,
                                                              mode="w:gz") as tar:
        for name, text in parts.items():
            blob = text.encode()
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mtime, info.mode = len(blob), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(blob))
    return out
