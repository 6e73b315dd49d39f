"""Scoring a take: each hand prepared, reconstructed by its task's autoencoder, judged."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from device.kinematics.errors import TakeUnusableError
from device.kinematics.prepare import DEFAULT_SETTINGS, Settings, prepare
from device.kinematics.trim import TRIMMED_BY_KEYS, hand_keys
from device.protocol import load as load_protocol
from device.screening.explain import Explanation, explain
from device.screening.findings import hand_findings
from device.screening.key_timing import (
    METHOD,
    AlignedNotes,
    KeyTimingNorm,
    KeyTimingScore,
    KeyTimingUnavailableError,
    align,
    judge,
)
from device.screening.models import ModelSet
from device.screening.passage import PassageCheck
from device.screening.statistic import finger_score_ratios, hand_score
from device.screening.tracking_norm import TrackingCheck
from device.screening.trim_search import judge_hand
from device.takefile import HANDS, Take


@dataclass
class HandScore:
    error: float  # the model's reconstruction-error score (device.screening.statistic)
    threshold: float  # mean + 2 SD of the score on healthy validation hands (int8 model),
    # judged as this hand was: with key data, or without it (TaskModel.threshold_for)
    mse: float  # mean squared reconstruction error (the source study's score)
    abnormal: bool
    severity: float  # error / threshold: above 1 is abnormal
    z: float  # (error - healthy mean) / healthy SD
    explanation: Explanation
    window_s: tuple[float, float] | None = None  # the playing this hand was judged on
    end_moved_s: float | None = None  # how far the trim search moved its end; None: no search
    start_moved_s: float | None = None  # without key data: how far it moved its start
    tracking: TrackingCheck | None = None  # the hand's tracking noise against the healthy's
    other_hand_frames: int = 0  # frames left out: they held the other hand (a label swap)
    displaced_frames: int = 0  # frames left out: the whole hand briefly put somewhere else
    passage: PassageCheck | None = None  # how much of the task's passage the keys follow
    trimmed_by: str = TRIMMED_BY_KEYS  # or TRIMMED_BY_MOTION: the take had no key data
    threshold_from: str = TRIMMED_BY_KEYS  # the validation hands' trimming that set `threshold`

    def as_contract(self) -> dict[str, Any]:
        return {"error": self.error, "threshold": self.threshold, "abnormal": self.abnormal}

    def findings(self, hand: str) -> list[str]:
        return hand_findings(hand, self.tracking, self.passage, self.trimmed_by,
                             self.threshold_from)


@dataclass
class TakeScore:
    file: str
    task: int
    hands: dict[str, HandScore | None]
    reasons: dict[str, str] = field(default_factory=dict)
    model_id: str = ""
    trained_on: str = ""
    window_s: tuple[float, float] | None = None
    score_kind: str = ""
    # the second measure, from the keys (device.screening.key_timing); str: why not judged
    key_timing: dict[str, KeyTimingScore | str] = field(default_factory=dict)

    @property
    def key_margins(self) -> dict[str, float | None]:
        """Per hand the key timing score less its threshold; None where not judged."""
        return {hand: (k.score - k.threshold if isinstance(k, KeyTimingScore) else None)
                for hand, k in self.key_timing.items()}

    @property
    def abnormal(self) -> bool | None:
        """Any scored hand abnormal; None when no hand could be scored."""
        scored = [h for h in self.hands.values() if h is not None]
        return any(h.abnormal for h in scored) if scored else None

    def as_contract(self) -> dict[str, Any]:
        """The JSON object of contract 2 (``dystonia-box score --json``), plus details."""
        out: dict[str, Any] = {
            "file": self.file,
            "task": self.task,
            "hands": {name: (h.as_contract() if h else None) for name, h in self.hands.items()},
            "abnormal": self.abnormal,
            "model": {"id": self.model_id, "trained_on": self.trained_on,
                      "score": self.score_kind},
        }
        if self.reasons:
            out["reason"] = "; ".join(f"{hand} hand: {why}" for hand, why in self.reasons.items())
            out["reasons"] = dict(self.reasons)
        out["details"] = {
            name: {"severity": round(h.severity, 4), "z": round(h.z, 3), "mse": h.mse,
                   "explanation": h.explanation.as_dict(h.window_s or self.window_s),
                   **({"window_s": list(h.window_s)} if h.window_s else {}),
                   **({"window_end_moved_s": round(h.end_moved_s, 4)}
                      if h.end_moved_s is not None else {}),
                   **({"window_start_moved_s": round(h.start_moved_s, 4)}
                      if h.start_moved_s is not None else {}),
                   **({"tracking_noise": h.tracking.as_dict()} if h.tracking else {}),
                   **({"other_hand_frames": h.other_hand_frames} if h.other_hand_frames else {}),
                   **({"displaced_frames": h.displaced_frames} if h.displaced_frames else {}),
                   **({"passage": h.passage.as_dict()} if h.passage else {}),
                   "trimmed_by": h.trimmed_by, "threshold_from": h.threshold_from}
            for name, h in self.hands.items() if h is not None
        }
        if self.window_s:
            out["details"]["window_s"] = list(self.window_s)
        if self.key_timing:
            out["key_timing"] = {
                hand: (k.as_dict() if isinstance(k, KeyTimingScore)
                       else {"method": METHOD, "abnormal": None, "reason": k})
                for hand, k in self.key_timing.items()}
        return out


def aligned_hands(take: Take) -> dict[str, AlignedNotes]:
    """Each hand's keys matched to its task's score; a hand without keys on its side of the
    keyboard (or a take without key data) is left out."""
    protocol = load_protocol()
    task, pivot = protocol.task(take.task), protocol.mirror_pivot / 2
    return {hand: align(take.keys, task, hand, pivot) for hand in HANDS
            if hand_keys(take.keys, hand, pivot).shape[0]}


def judge_key_timing(take: Take, norm: KeyTimingNorm,
                     aligned: dict[str, AlignedNotes] | None = None
                     ) -> dict[str, KeyTimingScore | str]:
    """Each hand's key timing, or why it cannot be judged; independent of the video.
    ``aligned``: the hands' keys already matched to the score (``aligned_hands``)."""
    protocol = load_protocol()
    task = protocol.task(take.task)
    out: dict[str, KeyTimingScore | str] = {}
    for hand in HANDS:
        try:
            out[hand] = judge(take.keys, task, hand, protocol.mirror_pivot / 2, norm,
                              (aligned or {}).get(hand))
        except KeyTimingUnavailableError as exc:
            out[hand] = str(exc)
    return out


def score_take(take: Take, models: ModelSet, file: str | Path = "",
               settings: Settings = DEFAULT_SETTINGS) -> TakeScore:
    """Score both hands; a hand that cannot be scored is None with its reason."""
    result = TakeScore(file=str(file), task=take.task, hands=dict.fromkeys(HANDS),
                       model_id=models.id, trained_on=models.trained_on)
    model = models.tasks.get(take.task)
    if model is None:
        have = ", ".join(str(n) for n in sorted(models.tasks))
        for hand in HANDS:
            result.reasons[hand] = (f"no model for task {take.task} in {models.root} "
                                    f"(models for tasks {have})")
        return result
    aligned = aligned_hands(take)
    if model.key_timing is not None:
        result.key_timing = judge_key_timing(take, model.key_timing, aligned)
    as_trained = replace(settings, representation=model.preprocessing)
    try:
        prepared = prepare(take, as_trained)
    except TakeUnusableError as exc:
        for hand in HANDS:
            result.reasons[hand] = str(exc)
        return result
    result.window_s = prepared.window
    result.score_kind = model.score
    runner = model.run()

    def judge(batch: np.ndarray) -> np.ndarray:
        return np.array([hand_score(model.score, x, runner(x), model.finger_norm)
                         for x in batch])

    for name, hand in prepared.hands.items():
        if hand.data is None:
            result.reasons[name] = hand.reason or "could not be prepared"
            continue
        judged = judge_hand(take, name, prepared, as_trained, model.trim_search, judge)
        data, window, moved = judged.data, judged.window, judged.end_moved_s
        reconstruction = runner(data)
        error = hand_score(model.score, data, reconstruction, model.finger_norm)
        threshold = model.threshold_for(prepared.trimmed_by)
        result.hands[name] = HandScore(
            error=error,
            threshold=threshold.value,
            mse=float(np.mean((reconstruction - data) ** 2)),
            abnormal=error > threshold.value,
            severity=error / threshold.value,
            z=(error - threshold.validation_mean) / max(threshold.validation_sd, 1e-12),
            explanation=explain(data, reconstruction, model.finger_error_mean,
                                finger_score_ratios(model.score, data, reconstruction,
                                                    model.finger_norm)),
            window_s=window,
            end_moved_s=moved,
            start_moved_s=judged.start_moved_s,
            tracking=(TrackingCheck(hand.tracking_noise, model.tracking_norm.limit)
                      if model.tracking_norm and hand.tracking_noise is not None else None),
            other_hand_frames=hand.n_other_hand,
            displaced_frames=hand.n_displaced,
            passage=PassageCheck.of(take.task, aligned[name]) if name in aligned else None,
            trimmed_by=prepared.trimmed_by,
            threshold_from=threshold.set_on,
        )
    return result
