"""Where the box keeps its files, and whether this machine is a Raspberry Pi."""

from __future__ import annotations

import os
from pathlib import Path

BOX_CONFIG = Path("/etc/dystonia-box/config.toml")
BOX_DATA_DIR = Path("/var/lib/dystonia-box")
_MODEL_FILE = Path("/proc/device-tree/model")


def is_raspberry_pi(model_file: Path = _MODEL_FILE) -> bool:
    try:
        return "Raspberry Pi" in model_file.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False


def default_config_path() -> Path:
    """The box's system file on a Pi; the user's own file elsewhere."""
    if is_raspberry_pi():
        return BOX_CONFIG
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "dystonia-box" / "config.toml"


def default_data_dir() -> Path:
    if is_raspberry_pi():
        return BOX_DATA_DIR
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "dystonia-box"
