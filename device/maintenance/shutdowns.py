"""Counting unclean shutdowns: a marker file written at start and removed at a clean stop.

Finding the marker at the next start means the box lost power, was killed, or crashed.
The count and the time of the latest one live in a small JSON file beside the data, for the
status page (:func:`unclean_shutdowns`) and the diagnostics bundle.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from device.atomic import write_bytes

MARKER_FILE = "running.marker"
COUNT_FILE = "unclean_shutdowns.json"


@dataclass(frozen=True)
class UncleanShutdowns:
    count: int
    last: float | None  # when the unclean stop was found (epoch seconds), None if never


def unclean_shutdowns(data_dir: Path) -> UncleanShutdowns:
    """How many times the box found it had not stopped cleanly."""
    try:
        data = json.loads((data_dir / COUNT_FILE).read_text(encoding="utf-8"))
        return UncleanShutdowns(int(data["count"]), data.get("last"))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return UncleanShutdowns(0, None)


def mark_started(data_dir: Path) -> bool:
    """Write the marker; returns True (and counts it) if the previous run did not stop cleanly."""
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / MARKER_FILE
    unclean = marker.exists()
    if unclean:
        before = unclean_shutdowns(data_dir)
        record = {"count": before.count + 1, "last": time.time()}
        write_bytes(data_dir / COUNT_FILE, json.dumps(record).encode())
    write_bytes(marker, json.dumps({"pid": os.getpid(), "started": time.time()}).encode())
    return unclean


def mark_stopped(data_dir: Path) -> None:
    (data_dir / MARKER_FILE).unlink(missing_ok=True)


def running_pid(data_dir: Path) -> int | None:
    """The pid of a ``dystonia-box serve`` still running on ``data_dir``, if any."""
    try:
        pid = int(json.loads((data_dir / MARKER_FILE).read_text(encoding="utf-8"))["pid"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError, KeyError, TypeError, ProcessLookupError):
        return None
    return pid if b"serve" in cmdline and pid != os.getpid() else None
