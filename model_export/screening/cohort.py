"""A cohort directory: take files plus an optional participants.tsv (contract 2).

Every take is prepared with the box's own preprocessing (device.kinematics.prepare), so
training sees exactly what scoring will see.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device import takefile
from device.kinematics.errors import TakeUnusableError
from device.kinematics.prepare import DEFAULT_SETTINGS, Settings, prepare

log = logging.getLogger(__name__)
PARTICIPANTS_FILE = "participants.tsv"
TAKE_GLOB = "*.take.npz"


class CohortError(ValueError):
    """The cohort directory cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class Participant:
    id: str
    group: str  # healthy or dystonic
    affected_hand: str  # left, right or none
    pattern: str
    severity: float


@dataclass
class HandSample:
    """One hand of one take, prepared: what the autoencoder sees."""

    file: str
    participant: str
    task: int
    hand: str
    data: np.ndarray  # (128, 21, 3) float32
    tracking_noise: float | None = None  # device/kinematics/tracking_noise.py


@dataclass
class Cohort:
    root: Path
    participants: dict[str, Participant]
    samples: dict[int, list[HandSample]]  # by task
    settings: Settings = DEFAULT_SETTINGS  # how the hands were prepared
    takes: dict[str, dict] = field(default_factory=dict)  # file -> meta
    skipped: list[str] = field(default_factory=list)  # hands/takes that could not be used

    def group_of(self, participant: str) -> str:
        found = self.participants.get(participant)
        return found.group if found else "healthy"


def read_participants(path: Path) -> dict[str, Participant]:
    out: dict[str, Participant] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        need = {"participant", "group", "affected_hand", "pattern", "severity"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise CohortError(f"{path}: needs columns {', '.join(sorted(need))}")
        for line, row in enumerate(reader, start=2):
            if row["group"] not in ("healthy", "dystonic"):
                raise CohortError(f"{path}:{line}: group must be healthy or dystonic")
            if row["affected_hand"] not in ("left", "right", "none"):
                raise CohortError(f"{path}:{line}: affected_hand must be left, right or none")
            try:
                severity = float(row["severity"])
            except ValueError:
                raise CohortError(f"{path}:{line}: severity is not a number") from None
            out[row["participant"]] = Participant(
                row["participant"], row["group"], row["affected_hand"], row["pattern"], severity
            )
    return out


def participant_of(path: Path) -> str:
    """Take file names start with the participant's id and an underscore (contract 2)."""
    return path.name.split("_", 1)[0]


def load(root: Path, tasks: set[int] | None = None,
         settings: Settings = DEFAULT_SETTINGS) -> Cohort:
    root = Path(root)
    if not root.is_dir():
        raise CohortError(f"{root}: cohort directory not found")
    files = sorted(root.rglob(TAKE_GLOB))
    if not files:
        raise CohortError(f"{root}: no take files ({TAKE_GLOB})")
    tsv = root / PARTICIPANTS_FILE
    participants = read_participants(tsv) if tsv.exists() else {}
    samples: dict[int, list[HandSample]] = defaultdict(list)
    cohort = Cohort(root, participants, samples, settings)
    for path in files:
        take = takefile.read(path)
        if tasks and take.task not in tasks:
            continue
        pid = take.meta.get("participant") or participant_of(path)
        if participants and pid not in participants:
            raise CohortError(f"{path}: participant {pid} is not in {tsv}")
        cohort.takes[str(path)] = take.meta
        try:
            prepared = prepare(take, settings)
        except TakeUnusableError as exc:
            cohort.skipped.append(f"{path.name}: {exc}")
            continue
        for hand in prepared.hands.values():
            if hand.data is None:
                cohort.skipped.append(f"{path.name} {hand.hand}: {hand.reason}")
                continue
            samples[take.task].append(HandSample(str(path), pid, take.task, hand.hand, hand.data,
                                                 hand.tracking_noise))
    if cohort.skipped:
        log.info("%d takes or hands could not be used", len(cohort.skipped))
    return cohort


def split_participants(ids: list[str], rng: np.random.Generator,
                       validation_share: float = 0.2) -> tuple[list[str], list[str]]:
    """Random split by participant, so no person is in both parts."""
    ids = sorted(set(ids))
    if len(ids) < 2:
        raise CohortError(f"need at least 2 healthy participants to split, have {len(ids)}")
    order = rng.permutation(len(ids))
    n_val = max(1, round(validation_share * len(ids)))
    val = sorted(ids[i] for i in order[:n_val])
    train = sorted(ids[i] for i in order[n_val:])
    return train, val
