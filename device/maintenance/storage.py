"""Storage limits: how full the data disk is, and the retention of raw video.

Landmark take files are the record and are always kept. A raw recording's video (in
``recordings/raw/``, see ``device/store/raw_recordings.py``) is only needed until its take is
analysed and scored; it is deleted ``storage.keep_video_days`` after that.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class DiskState:
    total_bytes: int
    free_bytes: int
    warning: bool
    message: str

    @property
    def free_fraction(self) -> float:
        return self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def disk_state(data_dir: Path, storage: Mapping[str, Any]) -> DiskState:
    """Free space of the disk holding ``data_dir``, with a warning below the configured
    share (``storage.warn_free_fraction``) or amount (``storage.warn_free_mb``)."""
    usage = shutil.disk_usage(data_dir)
    fraction = usage.free / usage.total if usage.total else 0.0
    low = fraction < storage["warn_free_fraction"] or usage.free < storage["warn_free_mb"] * MIB
    text = (f"{usage.free / 1e9:.1f} GB free of {usage.total / 1e9:.1f} GB "
            f"({100 * fraction:.0f} %)")
    if low:
        text += ": the box is running out of space; make a backup to a USB stick and ask a " \
                "technician to remove old sessions or lower storage.keep_video_days"
    return DiskState(usage.total, usage.free, low, text)


def expired_videos(conn: sqlite3.Connection, data_dir: Path, keep_days: int,
                   now: float | None = None) -> list[Path]:
    """Raw videos analysed into a take that is scored, older than ``keep_days``."""
    limit = (time.time() if now is None else now) - keep_days * 86400.0
    out = []
    for (video_file,) in conn.execute(
            "SELECT r.video FROM raw_recording r JOIN take t ON t.id = r.take_id "
            "WHERE r.status = 'done' AND t.status = 'scored' ORDER BY r.id"):
        video = data_dir / video_file
        if video.exists() and video.stat().st_mtime <= limit:
            out.append(video)
    return out


def remove_expired_videos(conn: sqlite3.Connection, data_dir: Path, keep_days: int,
                          now: float | None = None) -> tuple[list[Path], int]:
    """Delete expired raw video; returns the files removed and the bytes freed."""
    removed, freed = [], 0
    for video in expired_videos(conn, data_dir, keep_days, now):
        size = video.stat().st_size
        video.unlink()
        removed.append(video)
        freed += size
    return removed, freed
