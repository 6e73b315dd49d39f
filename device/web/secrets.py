"""Secrets made on the box itself, never shipped: the web app's signing key."""

from __future__ import annotations

import secrets
from pathlib import Path

from device.atomic import atomic_open

SECRET_KEY_FILE = "secret_key"


def secret_key(data_dir: Path) -> bytes:
    """The key in ``data_dir``; made (32 random bytes, owner-only) on first use."""
    path = data_dir / SECRET_KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    with atomic_open(path, mode=0o600) as handle:
        handle.write(key)
    return key
