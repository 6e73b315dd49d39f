"""Healthy norms of the key timing measure (device/screening/key_timing.py) for a card
entry: finger lateness mean and SD from the training people's hands, the threshold from the
validation people's, the same split as the task's autoencoder.

The generator's healthy fingers are perfectly even: every note is off its pulse by
independent noise alone. Real players have habits, each finger of a hand a little early or
late in all they play (a pianist's deviations from an even scale are a stable fingerprint
that follows the fingers: van Vugt, Jabusch and Altenmüller, Front Psychol 2013), and norms
without them flag such players (the set-up "uneven
fingers" in setups.py shows by how much). So on synthetic takes each person's fingers get
habits drawn here, FINGER_HABIT_SD apart, before the norms are taken; recorded takes already
have their players' own.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from device import takefile
from device.protocol import FINGER_NAMES
from device.protocol import load as load_protocol
from device.screening.key_timing import (
    METHOD,
    MIN_FOLLOWED,
    KeyTimingNorm,
    KeyTimingUnavailableError,
    align,
    hand_lateness,
    worst_finger,
)
from device.takefile import Take
from model_export.screening.cohort import Cohort

log = logging.getLogger(__name__)
MIN_HANDS = 10  # healthy hands with key data each part needs for a norm
FINGER_HABIT_SD = 0.004  # seconds: SD of each synthetic person's per-finger lead or lag


def with_finger_habits(take: Take, offsets: np.ndarray) -> Take:
    """The take with each hand's keys moved by their finger's offset (``offsets``: hand x
    digit, seconds, hands in takefile.HANDS order). A key's finger is the one the score
    gives the note it is matched to; keys matched to no note, and the keys of a hand that
    does not follow the score (fewer than MIN_FOLLOWED of its notes found), stay."""
    protocol = load_protocol()
    task, pivot = protocol.task(take.task), protocol.mirror_pivot / 2
    shift: dict[tuple[int, float], float] = {}
    for offset, hand in zip(offsets, takefile.HANDS, strict=True):
        notes = align(take.keys, task, hand, pivot)
        if notes.followed < MIN_FOLLOWED:
            continue
        shift.update(zip(zip(notes.note.tolist(), notes.onset.tolist(), strict=True),
                         offset[notes.digit].tolist(), strict=True))
    keys = take.keys.copy()
    keys[:, 1:3] += np.array([shift.get((int(note), onset), 0.0)
                              for note, onset in take.keys[:, :2].tolist()]).reshape(-1, 1)
    return replace(take, keys=keys[np.argsort(keys[:, 1], kind="stable")])


def person_habits(participant: str, sd: float, salt: str = " finger habits") -> np.ndarray:
    """(hands, fingers) seconds: one person's finger habits, the same in all their takes
    (another ``salt``, other draws for the same person)."""
    seed = zlib.crc32(f"{participant}{salt}".encode())
    return np.random.default_rng(seed).normal(0.0, sd, (len(takefile.HANDS), len(FINGER_NAMES)))


def lateness_of(cohort: Cohort, task: int, people: list[str]) -> tuple[np.ndarray, int]:
    """(hands, 5): finger lateness of every hand of ``people``'s takes of ``task`` that the
    keys can judge; and how many of the takes were synthetic and given finger habits."""
    protocol = load_protocol()
    pivot = protocol.mirror_pivot / 2
    chosen = set(people)
    files = sorted({s.file for s in cohort.samples.get(task, []) if s.participant in chosen})
    rows, with_habits = [], 0
    for file in files:
        take = takefile.read(Path(file))
        if take.meta.get("source") == "synthetic" and take.keys.shape[0]:
            take = with_finger_habits(take, person_habits(str(take.meta.get("participant")),
                                                          FINGER_HABIT_SD))
            with_habits += 1
        for hand in takefile.HANDS:
            try:
                rows.append(hand_lateness(take.keys, protocol.task(task), hand, pivot))
            except KeyTimingUnavailableError as exc:
                log.debug("%s %s hand: %s", file, hand, exc)
    return np.array(rows).reshape(-1, 5), with_habits


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def key_timing_entry(cohort: Cohort, task: int, train_ids: list[str], val_ids: list[str]
                     ) -> dict[str, Any]:
    """``{"key_timing": {...}}`` for the card entry, or ``{}`` when the cohort has too few
    healthy hands with key data (the box then reports key timing as unavailable)."""
    (train, train_habits), (val, val_habits) = (lateness_of(cohort, task, train_ids),
                                                lateness_of(cohort, task, val_ids))
    if len(train) < MIN_HANDS or len(val) < MIN_HANDS:
        log.warning("task %d: key timing not normed (%d training and %d validation hands with "
                    "key data; %d each needed)", task, len(train), len(val), MIN_HANDS)
        return {}
    counts = np.isfinite(train).sum(axis=0)
    mean, sd = np.full(train.shape[1], np.nan), np.full(train.shape[1], np.nan)
    for d in range(train.shape[1]):
        spread = np.nanstd(train[:, d], ddof=1) if counts[d] >= MIN_HANDS else 0.0
        if spread > 0:  # a finger without spread among healthy hands gets no norm
            mean[d], sd[d] = np.nanmean(train[:, d]), spread
    norm = KeyTimingNorm(mean, sd, threshold=0.0)
    scores = []
    for row in val:
        z = norm.z(row)
        if np.isfinite(z).any():
            scores.append(worst_finger(z)[0])
    if len(scores) < MIN_HANDS:
        log.warning("task %d: key timing not normed (%d validation hands with a normed "
                    "finger; %d needed)", task, len(scores), MIN_HANDS)
        return {}
    scores_arr = np.array(scores)
    v_mean, v_sd = float(scores_arr.mean()), float(scores_arr.std(ddof=1))
    habits = ({"synthetic_finger_habit_sd": FINGER_HABIT_SD,
               "n_takes_given_habits": train_habits + val_habits}
              if train_habits + val_habits else {})
    return {"key_timing": {
        "method": METHOD,
        "finger_mean": _nan_to_none(mean),
        "finger_sd": _nan_to_none(sd),
        "threshold": v_mean + 2.0 * v_sd,
        "threshold_method": f"mean + 2 SD of the worst finger's lateness z on the {len(scores)} "
                            "held-out healthy validation hands with key data",
        "validation_mean": v_mean,
        "validation_sd": v_sd,
        "n_train_hands": len(train),
        "n_validation_hands": len(scores),
        "n_train_people": len(set(train_ids)),
        "n_validation_people": len(set(val_ids)),
    } | habits}
