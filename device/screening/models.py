"""An exported model directory: ``model_card.json`` (contract 3) beside one .tflite per task."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from device.kinematics import REPRESENTATIONS
from device.kinematics.trim import TRIMMED_BY_KEYS, TRIMMED_BY_MOTION
from device.screening.key_timing import KeyTimingNorm
from device.screening.runtime import TfliteModel
from device.screening.statistic import FINGER_NORM_SIZE, MSE, SCORES, unfit_score
from device.screening.tracking_norm import TrackingNoiseNorm
from device.screening.trim_search import TrimSearch

CARD_FILE = "model_card.json"
CARD_FORMAT = "dystonia-model-card/1"


class ModelError(ValueError):
    """The model directory or its card cannot be used; the message names the problem."""


@dataclass(frozen=True)
class Threshold:
    """Mean + 2 SD of the score on the healthy validation hands, and that mean and SD."""

    value: float
    validation_mean: float
    validation_sd: float
    set_on: str = TRIMMED_BY_KEYS  # validation hands trimmed by keys, or by motion

    @classmethod
    def from_card(cls, entry: dict[str, Any], set_on: str) -> Threshold:
        return cls(float(entry["threshold"]), float(entry["validation_error_mean"]),
                   float(entry["validation_error_sd"]), set_on)


@dataclass
class TaskModel:
    task: int
    path: Path
    with_keys: Threshold  # set on the validation hands trimmed by their keys
    finger_error_mean: list[float]  # healthy validation error per finger group (6)
    preprocessing: str
    score: str  # device.screening.statistic: what the thresholds apply to
    finger_norm: list[float] | None  # healthy per-finger error the score divides by
    key_timing: KeyTimingNorm | None = None  # the second measure's norms, when trained
    trim_search: TrimSearch | None = None  # windows each hand is also judged over, if any
    tracking_norm: TrackingNoiseNorm | None = None  # how precisely healthy hands were tracked
    # set on the validation hands with their key data left out (cards with a trim search)
    without_keys: Threshold | None = None
    _runner: TfliteModel | None = field(default=None, repr=False)

    def run(self) -> TfliteModel:
        if self._runner is None:
            self._runner = TfliteModel(self.path)
        return self._runner

    def threshold_for(self, trimmed_by: str) -> Threshold:
        """The threshold a hand is judged against: the one set on hands judged without key
        data when it was trimmed by the hands' movement and the card has one (set with the
        trim search, which judges such hands as it was set)."""
        if (trimmed_by == TRIMMED_BY_MOTION and self.without_keys is not None
                and self.trim_search is not None):
            return self.without_keys
        return self.with_keys


@dataclass
class ModelSet:
    root: Path
    card: dict[str, Any]
    tasks: dict[int, TaskModel]

    @property
    def id(self) -> str:
        return str(self.card["model_id"])

    @property
    def trained_on(self) -> str:
        return str(self.card["provenance"]["data"])

    @property
    def clinical_use(self) -> bool:
        return bool(self.card.get("clinical_use", False))


def _key_timing(card_path: Path, task: str, entry: dict[str, Any]) -> KeyTimingNorm | None:
    if not entry.get("key_timing"):
        return None
    try:
        return KeyTimingNorm.from_card(entry["key_timing"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{card_path}: task {task}'s key_timing cannot be read ({exc})") \
            from None


def _tracking_norm(card_path: Path, task: str, entry: dict[str, Any]
                   ) -> TrackingNoiseNorm | None:
    try:
        return TrackingNoiseNorm.from_card(entry.get("tracking_noise"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{card_path}: task {task}'s tracking_noise cannot be read ({exc})") \
            from None


def _without_keys(card_path: Path, task: str, entry: dict[str, Any]) -> Threshold | None:
    if not entry.get("without_keys"):
        return None
    try:
        return Threshold.from_card(entry["without_keys"], TRIMMED_BY_MOTION)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{card_path}: task {task}'s without_keys cannot be read ({exc})") \
            from None


def _check_finger_norm(card_path: Path, task: str, model: TaskModel) -> None:
    """A card whose normalisers do not fit its score is refused when loaded, not mid-take."""
    wanted = FINGER_NORM_SIZE.get(model.score)
    if wanted is not None and len(model.finger_norm or []) != wanted:
        raise ModelError(f"{card_path}: task {task}'s {model.score} score needs {wanted} "
                         f"finger_window_norm values, the card has "
                         f"{len(model.finger_norm or [])}")


def shipped_models_dir() -> Path:
    """The models that ship inside the package (trained on a synthetic cohort)."""
    return Path(str(resources.files("device").joinpath("models")))


def load(root: Path | None = None) -> ModelSet:
    root = Path(root) if root else shipped_models_dir()
    card_path = root / CARD_FILE
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{root}: no {CARD_FILE}; is this an exported model directory?") \
            from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path}: not valid JSON ({exc.msg})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_path}: must be a JSON object, got {type(card).__name__}")
    if card.get("format") != CARD_FORMAT:
        raise ModelError(f"{card_path}: format must be {CARD_FORMAT!r}, got {card.get('format')!r}")
    if not isinstance(card.get("model_id"), str):
        raise ModelError(f"{card_path}: no model_id")
    if not isinstance(card.get("provenance"), dict) or "data" not in card["provenance"]:
        raise ModelError(f"{card_path}: no provenance.data (synthetic, recorded or mixed)")
    entries = card.get("tasks", {})
    if not isinstance(entries, dict):
        raise ModelError(f"{card_path}: tasks must be an object of task number -> model")
    tasks: dict[int, TaskModel] = {}
    for key, entry in entries.items():
        try:
            tasks[int(key)] = _task_model(root, card_path, key, entry)
        except ModelError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{card_path}: task {key} cannot be read "
                             f"({type(exc).__name__}: {exc})") from None
    if not tasks:
        raise ModelError(f"{card_path}: lists no task models")
    return ModelSet(root=root, card=card, tasks=tasks)


def _is_tflite(path: Path) -> bool:
    """A TFLite flatbuffer carries the identifier TFL3 at bytes 4-8."""
    with path.open("rb") as handle:
        return handle.read(8)[4:8] == b"TFL3"


def _task_model(root: Path, card_path: Path, key: str, entry: dict[str, Any]) -> TaskModel:
    """One task's entry of the card, checked; ModelError (or KeyError, TypeError, ValueError
    for a field missing or of the wrong kind) when the box could not judge with it."""
    if entry.get("preprocessing") not in REPRESENTATIONS:
        raise ModelError(
            f"{card_path}: task {key} was trained with preprocessing "
            f"{entry.get('preprocessing')!r}, the box knows {', '.join(REPRESENTATIONS)}; "
            "retrain"
        )
    path = root / entry["file"]
    if not path.is_file():
        raise ModelError(f"{card_path}: task {key}'s model file {path} is missing")
    try:
        is_tflite = _is_tflite(path)
    except OSError as exc:
        raise ModelError(f"{card_path}: task {key}'s model file {path} cannot be read "
                         f"({exc.strerror or exc})") from None
    if not is_tflite:
        raise ModelError(f"{card_path}: task {key}'s model file {path} is not a TFLite "
                         "model")
    model = TaskModel(
        task=int(key), path=path, with_keys=Threshold.from_card(entry, TRIMMED_BY_KEYS),
        finger_error_mean=[float(v) for v in entry["validation_finger_error_mean"]],
        preprocessing=entry["preprocessing"],
        score=entry.get("score", MSE),
        finger_norm=entry.get("finger_window_norm"),
        key_timing=_key_timing(card_path, key, entry),
        trim_search=TrimSearch.from_card(entry.get("trim_search")),
        tracking_norm=_tracking_norm(card_path, key, entry),
        without_keys=_without_keys(card_path, key, entry),
    )
    if model.score not in SCORES:
        raise ModelError(f"{card_path}: task {key} uses an unknown score {model.score!r}")
    _check_finger_norm(card_path, key, model)
    if why := unfit_score(model.score, model.preprocessing):
        raise ModelError(f"{card_path}: task {key}: {why}")
    for threshold in (model.with_keys, model.without_keys):
        if threshold is not None and not (math.isfinite(threshold.value)
                                          and threshold.value > 0):
            raise ModelError(f"{card_path}: task {key}'s threshold must be a positive "
                             f"number, got {threshold.value!r}")
    return model
