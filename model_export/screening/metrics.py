"""The paper's protocol and what it lacks: sensitivity, specificity, ROC AUC, by severity."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm, rankdata

from device.screening.explain import FINGER_GROUPS

SEVERITY_BINS = (("mild", 0.0, 1 / 3), ("moderate", 1 / 3, 2 / 3), ("marked", 2 / 3, 1.01))
CONFIDENCE = 0.95
BOOTSTRAP_DRAWS = 1000


def _largest(per_hand: dict[str, float | None]) -> float | None:
    """The take's value: the larger of its hands' (None when neither hand was judged)."""
    judged = [v for v in per_hand.values() if v is not None]
    return max(judged) if judged else None


@dataclass
class TakeRecord:
    """One scored take: per hand the error over the threshold (None: not scored)."""

    file: str
    task: int
    participant: str
    group: str  # healthy / dystonic
    severity: float
    affected_hand: str
    ratio: dict[str, float | None]  # hand -> error / threshold
    # hand -> key timing score - its threshold (device.screening.key_timing); None: not judged
    key_margin: dict[str, float | None] = field(default_factory=dict)
    # hand -> the finger the explanation names (device.screening.explain)
    named: dict[str, str] = field(default_factory=dict)
    # what the participant's pattern names (pattern_parts), empty when it names none
    pattern: frozenset[str] = frozenset()

    @property
    def score(self) -> float | None:
        return _largest(self.ratio)

    @property
    def abnormal(self) -> bool | None:
        score = self.score
        return None if score is None else score > 1.0

    @property
    def key_score(self) -> float | None:
        return _largest(self.key_margin)

    @property
    def either_abnormal(self) -> bool | None:
        """Abnormal by the autoencoder or by the key timing."""
        flags = [f for f in (self.abnormal, None if self.key_score is None
                             else self.key_score > 0.0) if f is not None]
        return any(flags) if flags else None


def pattern_parts(pattern: str) -> frozenset[str]:
    """The finger groups of device.screening.explain a participant's pattern names, read
    from its words ("index+middle", "Middle finger and wrist flexion"). Only those singular
    words count: "pinky", "D2" or plurals name nothing, and such a participant is left out
    of explanation_hits rather than guessed."""
    words = set(re.findall(r"[a-z]+", pattern.lower()))
    return frozenset(name for name in FINGER_GROUPS if name in words)


def explanation_hits(dystonic: list[TakeRecord]) -> dict[str, Any]:
    """How often the explanation names a part of the patient's pattern, over the affected
    hands judged abnormal whose pattern names one."""
    hits = [r.named[r.affected_hand] in r.pattern for r in dystonic
            if r.pattern and r.affected_hand in r.named
            and (r.ratio.get(r.affected_hand) or 0.0) > 1.0]
    return {"hands": len(hits), "share": share(hits)}


def share(flags: list[bool]) -> float | None:
    return float(np.mean(flags)) if flags else None


def participant_interval(records: list[TakeRecord], flag: Callable[[TakeRecord], bool]
                         ) -> list[float] | None:
    """The CONFIDENCE interval of the share of ``records`` that ``flag`` marks, [low, high].

    A participant's takes of a task are alike (one hand, one habit, one severity), so they
    are not independent trials: sixteen patients with four takes each are not 64 patients.
    The interval is Wilson's score interval on the effective number of takes, the takes'
    count divided by their design effect, which the spread of the participants' own shares
    gives (the ratio estimator's variance over participants). It counts as many trials as
    there are participants at least, and as takes at most; when every take agrees, the
    spread says nothing about clustering and the participants are counted.
    """
    by_person: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        by_person[record.participant].append(bool(flag(record)))
    if not by_person:
        return None
    hits = np.array([sum(v) for v in by_person.values()], dtype=float)
    takes = np.array([len(v) for v in by_person.values()], dtype=float)
    people, total = len(takes), float(takes.sum())
    p = float(hits.sum() / total)
    n_eff = float(people)
    if 0.0 < p < 1.0 and people > 1:
        variance = people / (people - 1) * float(np.sum((hits - p * takes) ** 2)) / total ** 2
        n_eff = float(np.clip(p * (1 - p) / variance, people, total)) if variance > 0 \
            else total
    z = float(norm.ppf(0.5 + CONFIDENCE / 2))
    centre = (p + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * np.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff ** 2))
    return [float(max(centre - half, 0.0)), float(min(centre + half, 1.0))]


def roc_auc(healthy: list[float], dystonic: list[float]) -> float | None:
    """Probability that a dystonic take scores above a healthy one (Mann-Whitney U / n1 n2)."""
    if not healthy or not dystonic:
        return None
    return _ranks_auc(np.asarray(healthy, dtype=float), np.asarray(dystonic, dtype=float))


def _ranks_auc(healthy: np.ndarray, dystonic: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half, from the ranks of both groups together."""
    ranks = rankdata(np.concatenate([healthy, dystonic]))
    n_h, n_d = len(healthy), len(dystonic)
    return float((ranks[n_h:].sum() - n_d * (n_d + 1) / 2) / (n_h * n_d))


def auc_interval(healthy: list[TakeRecord], dystonic: list[TakeRecord],
                 value: Callable[[TakeRecord], float | None] = lambda r: r.score,
                 draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> list[float] | None:
    """The CONFIDENCE interval of the ROC AUC of ``value`` over participants: both groups'
    participants are drawn again with replacement, each with all of their takes (a
    participant's takes go together, as in participant_interval), and the percentiles of the
    draws' AUCs are kept. The seed is fixed, so the same takes give the same interval."""
    def by_person(records: list[TakeRecord]) -> list[np.ndarray]:
        scores: dict[str, list[float]] = defaultdict(list)
        for record in records:
            if (v := value(record)) is not None:
                scores[record.participant].append(v)
        return [np.array(v) for v in scores.values()]

    h_people, d_people = by_person(healthy), by_person(dystonic)
    if len(h_people) < 2 or len(d_people) < 2:
        return None
    rng = np.random.default_rng(seed)
    aucs = [_ranks_auc(
        np.concatenate([h_people[i] for i in rng.integers(0, len(h_people), len(h_people))]),
        np.concatenate([d_people[i] for i in rng.integers(0, len(d_people), len(d_people))]))
        for _ in range(draws)]
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return [float(low), float(high)]


def summarise(records: list[TakeRecord]) -> dict:
    healthy = [r for r in records if r.group == "healthy" and r.score is not None]
    dystonic = [r for r in records if r.group == "dystonic" and r.score is not None]
    out: dict = {
        "n_healthy_takes": len(healthy),
        "n_dystonic_takes": len(dystonic),
        "n_unscored_takes": sum(r.score is None for r in records),
        "specificity": share([not r.abnormal for r in healthy]),
        "sensitivity": share([bool(r.abnormal) for r in dystonic]),
        "specificity_interval": participant_interval(healthy, lambda r: not r.abnormal),
        "sensitivity_interval": participant_interval(dystonic, lambda r: bool(r.abnormal)),
        "auc": roc_auc([r.score for r in healthy], [r.score for r in dystonic]),
        "auc_interval": auc_interval(healthy, dystonic),
    }
    # The paper's unit may be one hand's performance (its input is one hand): per hand too.
    healthy_hands = [v for r in healthy for v in r.ratio.values() if v is not None]
    out["specificity_hands"] = share([v <= 1.0 for v in healthy_hands])
    affected = [r.ratio.get(r.affected_hand) for r in dystonic]
    out["sensitivity_affected_hand"] = share([a > 1.0 for a in affected if a is not None])
    # a patient's other hand should pass as a healthy one does
    other = [v for r in dystonic for hand, v in r.ratio.items()
             if hand != r.affected_hand and v is not None]
    out["specificity_unaffected_hand"] = share([v <= 1.0 for v in other])
    out["by_severity"] = by_severity(dystonic, lambda r: bool(r.abnormal))
    out["severity_found"] = detection_severity(dystonic, lambda r: bool(r.abnormal))
    out["explanation_in_pattern"] = explanation_hits(dystonic)
    out["key_timing"] = _key_timing_summary(records)
    return out


def by_severity(dystonic: list[TakeRecord], found: Callable[[TakeRecord], bool]) -> dict:
    """Sensitivity per severity bin: the share of each bin's takes that ``found`` flags."""
    out = {}
    for name, low, high in SEVERITY_BINS:
        chosen = [r for r in dystonic if low <= r.severity < high]
        out[name] = {"n": len(chosen), "sensitivity": share([found(r) for r in chosen])}
    return out


def detection_severity(dystonic: list[TakeRecord], found: Callable[[TakeRecord], bool],
                       levels: tuple[float, ...] = (0.5, 0.9)) -> dict[str, float | None]:
    """The severity from which ``found`` flags each share in ``levels`` of the takes, from a
    logistic fit of found against severity: where a measure stands, in one number, whatever
    mix of severities a cohort happens to draw. None where the fit does not rise with
    severity, or the level lies outside the cohort's severities."""
    x = np.array([r.severity for r in dystonic], dtype=float)
    y = np.array([bool(found(r)) for r in dystonic], dtype=float)
    out: dict[str, float | None] = {f"{round(100 * level)}": None for level in levels}
    if len(x) < 2 or y.min() == y.max() or x.min() == x.max():
        return out

    def loss(params: np.ndarray) -> float:
        z = params[0] + params[1] * x
        return float(np.sum(np.logaddexp(0.0, z) - y * z))

    a, b = minimize(loss, np.zeros(2), method="BFGS").x
    if not b > 0:
        return out
    for level in levels:
        at = (np.log(level / (1 - level)) - a) / b
        if x.min() <= at <= x.max():
            out[f"{round(100 * level)}"] = float(at)
    return out


def _key_timing_summary(records: list[TakeRecord]) -> dict:
    """The second measure alone, and either measure abnormal, on the same takes."""
    healthy = [r for r in records if r.group == "healthy" and r.key_score is not None]
    dystonic = [r for r in records if r.group == "dystonic" and r.key_score is not None]
    either_h = [r for r in records if r.group == "healthy" and r.either_abnormal is not None]
    either_d = [r for r in records if r.group == "dystonic" and r.either_abnormal is not None]
    return {
        "n_healthy_takes": len(healthy), "n_dystonic_takes": len(dystonic),
        "specificity": share([r.key_score <= 0.0 for r in healthy]),
        "sensitivity": share([r.key_score > 0.0 for r in dystonic]),
        "auc": roc_auc([r.key_score for r in healthy], [r.key_score for r in dystonic]),
        "auc_interval": auc_interval(healthy, dystonic, lambda r: r.key_score),
        "either_specificity": share([not r.either_abnormal for r in either_h]),
        "either_sensitivity": share([bool(r.either_abnormal) for r in either_d]),
        "by_severity": by_severity(dystonic, lambda r: r.key_score > 0.0),
        "severity_found": detection_severity(dystonic, lambda r: r.key_score > 0.0),
    }


def mean_sd(values: list[float | None]) -> dict:
    kept = [v for v in values if v is not None]
    if not kept:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": float(np.mean(kept)),
            "sd": float(np.std(kept, ddof=1)) if len(kept) > 1 else 0.0, "n": len(kept)}
