"""Realistic report inputs built by hand: contract dicts shaped like TakeScore.as_contract()."""

from __future__ import annotations

import numpy as np

from device.reports.model import (
    CardSummary,
    EarlierSession,
    SessionReport,
    TakeResult,
)
from device.screening.explain import FINGER_GROUPS, WINDOW

HEALTHY_FINGER = [0.014, 0.13, 0.26, 0.53, 0.31, 0.11]  # healthy error per finger, per step
MEAN, SD = 0.0215, 0.0012
THRESHOLD = MEAN + 2 * SD
DAY = 86400.0
STARTED = 1_795_000_000.0  # 2026-11-18


def card(clinical_use: bool = False, tasks: tuple[int, ...] = tuple(range(1, 12))) \
        -> CardSummary:
    return CardSummary.from_card({
        "model_id": "ae-20261125-test", "clinical_use": clinical_use,
        "label": "Trained on synthetic data: not for clinical use." if not clinical_use else "",
        "provenance": {"data": "synthetic" if not clinical_use else "recorded"},
        "tasks": {str(n): {"threshold": THRESHOLD, "validation_error_mean": MEAN,
                           "validation_error_sd": SD} for n in tasks},
    })


def hand_contract(rng: np.random.Generator, error: float, finger: str | None = None,
                  at: int = 0, window_s: tuple[float, float] = (2.0, 14.0)) -> dict:
    """Finger x time error for one hand; ``finger`` gets a burst of 16 steps from ``at``."""
    rows = np.array(HEALTHY_FINGER)[:, None] * rng.gamma(4.0, 0.25, (6, 128))
    if finger is not None:
        rows[list(FINGER_GROUPS).index(finger), at:at + WINDOW] *= 12.0
    rows *= error / MEAN
    ratio = rows.mean(axis=1) / np.array(HEALTHY_FINGER)
    worst = int(np.argmax(ratio))
    sums = np.convolve(rows[worst], np.ones(WINDOW), mode="valid")
    start = int(np.argmax(sums))
    fraction = [start / 127, min(start + WINDOW - 1, 127) / 127]
    span = window_s[1] - window_s[0]
    return {
        "severity": error / THRESHOLD, "z": (error - MEAN) / SD,
        "explanation": {
            "finger_time": {n: [float(v) for v in row] for n, row in zip(FINGER_GROUPS, rows,
                                                                          strict=True)},
            "finger_ratio": {n: float(r) for n, r in zip(FINGER_GROUPS, ratio, strict=True)},
            "worst_finger": list(FINGER_GROUPS)[worst],
            "worst_window_fraction": fraction,
            "worst_window_s": [window_s[0] + f * span for f in fraction],
        },
    }


def take_score(rng: np.random.Generator, task: int, left: float | None, right: float | None,
               finger: str | None = None, at: int = 80) -> dict:
    """A scored take: error per hand (None: not scorable); ``finger`` deviates in the right."""
    hands, details, reasons = {}, {"window_s": [2.0, 14.0]}, {}
    for name, error in (("left", left), ("right", right)):
        if error is None:
            hands[name] = None
            reasons[name] = "hand not found in 62% of frames"
            continue
        hands[name] = {"error": error, "threshold": THRESHOLD, "abnormal": error > THRESHOLD}
        details[name] = hand_contract(rng, error, finger if name == "right" else None, at)
    scored = [h for h in hands.values() if h]
    # key timing: the right hand's deviating finger also strikes late; the left is even
    key_timing = {"left": {"method": "key-lateness/2", "score": 0.4, "threshold": 2.2,
                           "abnormal": False, "finger": "thumb", "finger_z": {"thumb": 0.4}},
                  "right": {"method": "key-lateness/2", "score": 3.1, "threshold": 2.2,
                            "abnormal": True, "finger": finger, "finger_z": {finger: 3.1}}
                  if finger else {"method": "key-lateness/2", "abnormal": None,
                                  "reason": "no key data in the take"}}
    out = {"file": f"t{task:02d}.take.npz", "task": task, "hands": hands,
           "abnormal": any(h["abnormal"] for h in scored) if scored else None,
           "model": {"id": "ae-20261125-test", "trained_on": "synthetic"}, "details": details,
           "key_timing": key_timing}
    if reasons:
        out["reasons"] = reasons
        out["reason"] = "; ".join(f"{h} hand: {r}" for h, r in reasons.items())
    return out


def session(clinical_use: bool = False, earlier: bool = True) -> SessionReport:
    """Four tasks x pp/ff: the right middle finger deviates in task 4; one hand unscorable."""
    rng = np.random.default_rng(3)
    takes = []
    take_id = 0
    for task in (1, 3, 4, 7):
        for dynamics in ("pp", "ff"):
            take_id += 1
            right = 0.0214 + 0.0003 * rng.standard_normal()
            finger = None
            if task == 4:
                right, finger = (0.060, "middle") if dynamics == "ff" else (0.031, "middle")
            left = None if (task == 7 and dynamics == "pp") else 0.0212
            takes.append(TakeResult(
                take_id=take_id, task=task, dynamics=dynamics, tempo_mode="fixed",
                file=f"recordings/session-000002/t{task:02d}_{dynamics}_fixed.take.npz",
                recorded=STARTED + take_id * 60, status="scored",
                score=take_score(rng, task, left, right, finger, at=90)))
    takes.append(TakeResult(take_id=take_id + 1, task=9, dynamics="pp", tempo_mode="fastest",
                            file="recordings/session-000002/t09_pp_fastest.take.npz",
                            recorded=STARTED + 900, status="failed", score=None))
    visits = [EarlierSession(1, STARTED - 60 * DAY, {1: 0.8, 3: 0.9, 4: 1.3, 7: 0.85}),
              EarlierSession(0, STARTED - 120 * DAY, {1: 0.75, 4: 1.1})] if earlier else []
    return SessionReport(box_name="clinic-box-1", patient_pseudonym="P-0042",
                         year_of_birth=1994, session_id=2, started=STARTED, protocol="full",
                         clinician="dr.bauer", takes=takes, card=card(clinical_use),
                         earlier=visits)

