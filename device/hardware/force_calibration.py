"""Force-cell calibration: the factor from a known mass, saving it in the config file, and
the technician's step-by-step run over the five cells.

The file is edited in place as text, so the technician's comments and every other key stay
as they were; the result is checked against the schema and written atomically.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from device import atomic
from device.config import ConfigError, from_mapping
from device.hardware.nau7802 import STANDARD_GRAVITY, bridge_counts_per_newton
from device.protocol import FINGER_NAMES

if TYPE_CHECKING:
    from device.hardware.force import ForceCells

#: A known mass must move the reading by at least this many counts (about 0.05 N on a
#: 10 kg TAL220) to give a factor worth keeping.
MIN_CALIBRATION_COUNTS = 1000.0

_SECTION = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*newtons_per_count\s*=")


def calibration_factor(known_mass_kg: float, zero_counts: float, loaded_counts: float) -> float:
    """Newtons per count: the known mass's weight over the change it made in the reading."""
    change = loaded_counts - zero_counts
    if change == 0:
        raise ValueError("the known mass did not change the reading")
    return known_mass_kg * STANDARD_GRAVITY / change


def _format(values: Sequence[float]) -> str:
    return "newtons_per_count = [" + ", ".join(repr(float(v)) for v in values) + "]"


def updated_toml(text: str, values: Sequence[float]) -> str:
    """`text` with `[force] newtons_per_count` set to `values`, everything else unchanged."""
    lines = text.splitlines()
    section: str | None = None
    force_header: int | None = None
    for number, line in enumerate(lines):
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip()
            if section == "force":
                force_header = number
            continue
        if section == "force" and _KEY.match(line):
            end = number
            while "]" not in lines[end].split("#", 1)[0]:  # an array written over lines
                end += 1
                if end == len(lines):
                    raise ConfigError("force.newtons_per_count: the array is not closed")
            lines[number:end + 1] = [_format(values)]
            return "\n".join(lines) + "\n"
    if force_header is None:
        tail = ["", "[force]"] if lines and lines[-1].strip() else ["[force]"]
        lines += [*tail, _format(values)]
    else:
        lines.insert(force_header + 1, _format(values))
    return "\n".join(lines) + "\n"


def write_newtons_per_count(path: Path, values: Sequence[float]) -> None:
    """Set `force.newtons_per_count` in the config file at `path` (created when missing)."""
    if len(values) != len(FINGER_NAMES):
        raise ValueError(f"newtons_per_count needs {len(FINGER_NAMES)} numbers (thumb to "
                         f"little), got {list(values)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"newtons_per_count must be finite numbers, got {list(values)}")
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new_text = updated_toml(text, values)
    try:
        parsed = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: cannot set force.newtons_per_count here "
                          f"(the file would not be valid TOML: {error})") from None
    written = from_mapping(parsed, path)["force"]["newtons_per_count"]
    if [float(v) for v in written] != [float(v) for v in values]:
        raise ConfigError(f"{path}: force.newtons_per_count is set in a way this tool cannot "
                          "edit (a dotted key or inline table?); set it by hand")
    atomic.write_bytes(path, new_text.encode("utf-8"))


def guided_calibration(
    cells: ForceCells,
    config_path: Path,
    known_mass_kg: float,
    *,
    ask: Callable[[str], object] = input,
    say: Callable[[str], object] = print,
    settle_s: float = 1.0,
    duration_s: float = 1.0,
) -> list[float]:
    """Walk a technician through calibrating all five cells with one known mass.

    Tare with the cells empty, then the mass on each cell in turn; the factors are written
    to `config_path` at the end (so an interrupted run changes nothing) and returned.
    """
    ask("Take everything off the five force cells, then press Enter.")
    cells.tare()
    factors = []
    nominal = 1.0 / bridge_counts_per_newton()
    for finger in FINGER_NAMES:
        ask(f"Stand the {known_mass_kg:g} kg weight on the middle of the {finger} cell, "
            "let go, then press Enter.")
        factor = cells.calibrate(finger, known_mass_kg, duration_s=duration_s, settle_s=settle_s)
        factors.append(factor)
        say(f"{finger}: {factor:.4e} N per count ({factor / nominal:.2f} x the nominal "
            "10 kg TAL220)")
        if not 0.5 < abs(factor / nominal) < 2.0:
            say(f"  the {finger} cell is far from the nominal sensitivity: check that it is a "
                "10 kg cell and that the weight stood only on it")
        ask(f"Take the weight off the {finger} cell, then press Enter.")
    write_newtons_per_count(config_path, factors)
    say(f"Saved force.newtons_per_count in {config_path}.")
    return factors
