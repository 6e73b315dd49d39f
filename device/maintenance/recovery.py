"""Recovering a locked-out box without losing data: the physical reset.

Holding the index response button (BCM 5) while the box powers on, for ``HOLD_S`` seconds,
issues a new one-time code (printed on the console and in the journal, and logged in
``recovery.log``). With it, the page's /setup form creates a new account or sets a new
password for an existing one. The code is valid for ``VALID_S`` and for one use; nothing
else changes, no data is touched.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from device.atomic import atomic_open

log = logging.getLogger(__name__)
RECOVERY_FILE = "recovery_code.json"
LOG_FILE = "recovery.log"
HOLD_S = 5.0
VALID_S = 24 * 3600.0


def new_code() -> str:
    """Eight hex digits as XXXX-XXXX, the same shape as the first-start code."""
    raw = secrets.token_hex(4).upper()
    return f"{raw[:4]}-{raw[4:]}"


def button_held(button: Any, hold_s: float = HOLD_S) -> bool:
    """True if ``button`` (a gpiozero Button) is pressed now and stays pressed ``hold_s``."""
    return bool(button.is_pressed) and not button.wait_for_release(timeout=hold_s)


def issue_code(data_dir: Path, reason: str) -> str:
    """Make a recovery code, keep it owner-readable in the data directory, and log it."""
    code = new_code()
    now = time.time()
    record = {"code": code, "issued": now, "expires": now + VALID_S, "reason": reason}
    with atomic_open(data_dir / RECOVERY_FILE, mode=0o600) as handle:
        handle.write(json.dumps(record).encode())
    _log(data_dir, f"recovery code issued ({reason}); valid until "
                   f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(now + VALID_S))}")
    return code


def pending_code(data_dir: Path, now: float | None = None) -> str | None:
    """The recovery code waiting to be used, or None (none issued, used, or expired)."""
    try:
        record = json.loads((data_dir / RECOVERY_FILE).read_text(encoding="utf-8"))
        code, expires = str(record["code"]), float(record["expires"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    if (time.time() if now is None else now) > expires:
        consume(data_dir, "expired unused")
        return None
    return code


def consume(data_dir: Path, outcome: str) -> None:
    """The code was used (or expired): remove it and log what happened."""
    path = data_dir / RECOVERY_FILE
    if path.exists():
        path.unlink()
        _log(data_dir, f"recovery code {outcome}")


def _log(data_dir: Path, line: str) -> None:
    log.warning("%s", line)
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOG_FILE).open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {line}\n")
