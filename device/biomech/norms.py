"""Healthy norms, z-scores, and the paper's left/right asymmetry.

Asymmetry of a measure: the Euclidean norm of z_L - z_R over the five fingers, each hand's
values as z-scores against the healthy norms.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from device.biomech.measure import Measure
from device.protocol import FINGER_NAMES

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "norms.toml"
FORMAT = "dystonia-norms/1"


class NormsError(ValueError):
    """A norms file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Norm:
    measure: str
    unit: str
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    source: str

    def z(self, finger: str, value: float) -> float:
        i = FINGER_NAMES.index(finger)
        return (value - self.mean[i]) / self.sd[i]


@dataclass(frozen=True)
class Norms:
    version: str
    provenance: str
    clinical_use: bool
    measures: dict[str, Norm]

    def z(self, m: Measure) -> float | None:
        """z-score of a measure, or ``None`` when it has no value or no norm."""
        norm = self.measures.get(m.measure)
        if norm is None or not m.ok:
            return None
        return norm.z(m.finger, float(m.value))


@dataclass(frozen=True)
class Asymmetry:
    measure: str
    value: float | None
    z_left: tuple[float | None, ...]
    z_right: tuple[float | None, ...]
    note: str = ""


def load(path: Path | None = None) -> Norms:
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise NormsError(f"{path}: cannot read norms ({exc})") from exc
    if data.get("format") != FORMAT:
        raise NormsError(f"{path}: format must be {FORMAT!r}")
    for key in ("version", "provenance", "clinical_use", "measures"):
        if key not in data:
            raise NormsError(f"{path}: missing {key}")
    measures = {}
    for name, entry in data["measures"].items():
        mean, sd = entry.get("mean"), entry.get("sd")
        if not (isinstance(mean, list) and isinstance(sd, list) and len(mean) == len(sd) == 5):
            raise NormsError(f"{path}: measures.{name} needs mean and sd with 5 numbers each")
        if not all(isinstance(s, int | float) and s > 0 for s in sd):
            raise NormsError(f"{path}: measures.{name}.sd must be positive numbers")
        if "source" not in entry or "unit" not in entry:
            raise NormsError(f"{path}: measures.{name} needs its unit and source")
        measures[name] = Norm(name, entry["unit"], tuple(map(float, mean)),
                              tuple(map(float, sd)), entry["source"])
    return Norms(str(data["version"]), str(data["provenance"]), bool(data["clinical_use"]),
                 measures)


def asymmetry(norms: Norms, measure: str, left: list[Measure],
              right: list[Measure]) -> Asymmetry:
    """||z_L - z_R|| over the five fingers; ``None`` (with the reason) if a finger is missing."""
    def z_by_finger(measures: list[Measure]) -> tuple[float | None, ...]:
        found = {m.finger: norms.z(m) for m in measures if m.measure == measure}
        return tuple(found.get(f) for f in FINGER_NAMES)

    if measure not in norms.measures:
        raise NormsError(f"no norm for {measure}")
    z_left, z_right = z_by_finger(left), z_by_finger(right)
    missing = [f"{hand} {finger}" for hand, zs in (("left", z_left), ("right", z_right))
               for finger, z in zip(FINGER_NAMES, zs, strict=True) if z is None]
    if missing:
        return Asymmetry(measure, None, z_left, z_right,
                         note=f"no value for {', '.join(missing)}")
    value = math.sqrt(sum((a - b) ** 2 for a, b in zip(z_left, z_right, strict=True)))
    return Asymmetry(measure, value, z_left, z_right)
