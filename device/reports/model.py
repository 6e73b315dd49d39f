"""What a report is made of: plain data, built from the store by ``load.py`` or by hand in tests.

Every presentation module (charts, summary, PDF, export) takes these types and nothing else,
so none of them needs a database or a model file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from device.kinematics.trim import TRIMMED_BY_KEYS, TRIMMED_BY_MOTION
from device.screening.findings import hand_findings
from device.screening.passage import PassageCheck
from device.screening.tracking_norm import TrackingCheck

NOT_FOR_CLINICAL_USE = "Models trained on synthetic data: not for clinical use"


@dataclass(frozen=True)
class TaskNorm:
    """A task model's healthy validation error distribution (from the model card)."""

    threshold: float
    validation_error_mean: float
    validation_error_sd: float


@dataclass(frozen=True)
class CardSummary:
    model_id: str
    trained_on: str  # provenance.data: "synthetic", "recorded", ...
    clinical_use: bool
    label: str  # the card's own label, shown beside ours
    tasks: dict[int, TaskNorm] = field(default_factory=dict)
    # set on the validation hands judged without key data (the card's without_keys)
    tasks_without_keys: dict[int, TaskNorm] = field(default_factory=dict)

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> CardSummary:
        def norm(entry: dict[str, Any]) -> TaskNorm:
            return TaskNorm(float(entry["threshold"]), float(entry["validation_error_mean"]),
                            float(entry["validation_error_sd"]))

        entries = card.get("tasks", {})
        return cls(model_id=str(card.get("model_id", "")),
                   trained_on=str(card.get("provenance", {}).get("data", "unknown")),
                   clinical_use=bool(card.get("clinical_use", False)),
                   label=str(card.get("label", "")),
                   tasks={int(key): norm(entry) for key, entry in entries.items()},
                   tasks_without_keys={int(key): norm(entry["without_keys"])
                                       for key, entry in entries.items()
                                       if entry.get("without_keys")})

    def norm_for(self, task: int, view: HandView) -> TaskNorm | None:
        """The healthy distribution ``view``'s hand was judged against: the one set without
        key data when its threshold came from there."""
        if view.threshold_from == TRIMMED_BY_MOTION:
            return self.tasks_without_keys.get(task)
        return self.tasks.get(task)

    @property
    def provenance(self) -> str:
        """One line for every page footer: which model, trained on what, whether usable."""
        line = f"Model {self.model_id}, trained on {self.trained_on} data."
        if not self.clinical_use:
            line += f" {NOT_FOR_CLINICAL_USE}."
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id, "trained_on": self.trained_on,
            "clinical_use": self.clinical_use, "label": self.label,
            "tasks": {str(n): {"threshold": t.threshold,
                               "validation_error_mean": t.validation_error_mean,
                               "validation_error_sd": t.validation_error_sd}
                      for n, t in sorted(self.tasks.items())},
        }


@dataclass(frozen=True)
class TakeResult:
    """One take row and its screening result (``TakeScore.as_contract()``), if any."""

    take_id: int
    task: int
    dynamics: str  # "pp" or "ff"
    tempo_mode: str  # "fixed" or "fastest"
    file: str  # relative to the data directory
    recorded: float  # seconds since the epoch
    status: str  # recorded, processing, scored, failed
    score: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"task {self.task} {self.dynamics} {self.tempo_mode}"


@dataclass(frozen=True)
class HandView:
    """One hand's verdict, read out of a contract dict (nothing recomputed but the ratio)."""

    hand: str
    error: float
    threshold: float
    abnormal: bool
    severity: float
    explanation: dict[str, Any] | None
    window_s: tuple[float, float] | None = None  # the playing the hand was judged on
    tracking: TrackingCheck | None = None  # the hand's tracking noise, where the card has a norm
    passage: PassageCheck | None = None  # how much of the task's passage the keys follow
    trimmed_by: str = TRIMMED_BY_KEYS  # how the playing was found (scores before: the keys)
    threshold_from: str = TRIMMED_BY_KEYS  # the validation hands' trimming that set threshold

    def findings(self, motion_note_only: bool = False) -> list[str]:
        return hand_findings(self.hand, self.tracking, self.passage, self.trimmed_by,
                             self.threshold_from, motion_note_only)

    @property
    def worst_finger(self) -> str | None:
        return self.explanation.get("worst_finger") if self.explanation else None

    @property
    def worst_window_s(self) -> tuple[float, float] | None:
        window = (self.explanation or {}).get("worst_window_s")
        return (float(window[0]), float(window[1])) if window else None

    @property
    def worst_window_fraction(self) -> tuple[float, float] | None:
        window = (self.explanation or {}).get("worst_window_fraction")
        return (float(window[0]), float(window[1])) if window else None


def hand_views(score: dict[str, Any] | None) -> dict[str, HandView | None]:
    """Each hand of a scored take; None for a hand that could not be scored."""
    if not score:
        return {}
    details = score.get("details", {})
    out: dict[str, HandView | None] = {}
    for hand, verdict in score.get("hands", {}).items():
        if verdict is None:
            out[hand] = None
            continue
        detail = details.get(hand, {})
        error, threshold = float(verdict["error"]), float(verdict["threshold"])
        # each hand's own window since kinematics/2, the take's before
        window = detail.get("window_s", details.get("window_s"))
        noise = detail.get("tracking_noise")
        passage = detail.get("passage")
        out[hand] = HandView(hand=hand, error=error, threshold=threshold,
                             abnormal=bool(verdict["abnormal"]),
                             severity=float(detail.get("severity", error / threshold)),
                             explanation=detail.get("explanation"),
                             window_s=(float(window[0]), float(window[1])) if window else None,
                             tracking=TrackingCheck(float(noise["value"]), float(noise["limit"]))
                             if noise else None,
                             passage=PassageCheck(int(score["task"]),
                                                  int(passage["notes_followed"]),
                                                  int(passage["notes_expected"]))
                             if passage else None,
                             trimmed_by=str(detail.get("trimmed_by", TRIMMED_BY_KEYS)),
                             threshold_from=str(detail.get("threshold_from", TRIMMED_BY_KEYS)))
    return out


def key_timing_sentence(hand: str, result: dict[str, Any] | None) -> tuple[str, bool] | None:
    """One line on a hand's key timing (device/screening/key_timing.py) and whether it is
    abnormal; None when the take's score has none."""
    if not result:
        return None
    if result.get("abnormal") is None:
        return f"{hand.capitalize()} hand, key timing: not judged: {result.get('reason')}.", False
    verdict = (f"the {result['finger']} finger strikes LATE" if result["abnormal"]
               else "even")
    return (f"{hand.capitalize()} hand, key timing: {verdict} (latest finger "
            f"{result['finger']}, z {result['score']:.2f} against healthy hands, threshold "
            f"{result['threshold']:.2f}).", bool(result["abnormal"]))


def worst_severity_per_task(scores: list[dict[str, Any] | None]) -> dict[int, float]:
    """Per task, the highest severity over its takes and hands (the follow-up's figure)."""
    out: dict[int, float] = {}
    for score in filter(None, scores):
        task = int(score["task"])
        for view in hand_views(score).values():
            if view is not None:
                out[task] = max(out.get(task, 0.0), view.severity)
    return out


@dataclass(frozen=True)
class EarlierSession:
    """A previous visit of the same patient: the worst severity per task over hands and takes."""

    session_id: int
    started: float
    severities: dict[int, float]


@dataclass(frozen=True)
class Biomechanics:
    """Finger biomechanics as z-scores against healthy players.

    ``z[measure][finger]``, e.g. ``z["peak force"]["ring"] = 2.6``; ``asymmetry[measure]`` is
    the paper's asymmetry: the Euclidean norm of z_L - z_R over the five fingers.
    Units stay with the measure's name.
    """

    z: dict[str, dict[str, float]]
    asymmetry: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TojtTrial:
    soa_s: float  # stimulus onset asynchrony, seconds
    correct: bool


@dataclass(frozen=True)
class Tojt:
    """Temporal order judgement: the ZEST threshold (75 % correct) and its trials."""

    threshold_s: float
    trials: tuple[TojtTrial, ...]
    reference_upper_s: float | None = None  # upper limit of the healthy range, when known


@dataclass
class SessionReport:
    box_name: str
    patient_pseudonym: str
    year_of_birth: int | None
    session_id: int
    started: float  # seconds since the epoch
    protocol: str  # "full" or "quick"
    clinician: str
    takes: list[TakeResult]
    card: CardSummary | None
    earlier: list[EarlierSession] = field(default_factory=list)
    biomechanics: Biomechanics | None = None
    tojt: Tojt | None = None
