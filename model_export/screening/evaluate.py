"""``evaluate``: the paper's protocol on a cohort with exported models, and with repeated
random splits (retraining each time) for the spread the paper does not report."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from device import takefile
from device.kinematics.prepare import DEFAULT_SETTINGS, Settings, prepare
from device.screening import models as models_mod
from device.screening.runtime import TfliteModel
from device.screening.score import score_take
from device.screening.trim_search import TrimSearch, judge_hand
from model_export.screening.cohort import Cohort, load
from model_export.screening.fit import (
    healthy_ids,
    int8_reconstructions,
    provenance,
    scores,
    train_task,
)
from model_export.screening.metrics import TakeRecord, mean_sd, pattern_parts, summarise
from model_export.screening.searched import searched_scores
from model_export.screening.train import TrainConfig

log = logging.getLogger(__name__)


def same_cohort(cohort: Cohort, provenance_of_model: dict[str, Any]) -> bool:
    """Whether a model was trained on this cohort, so its training people must be left out
    of the specificity."""
    prov, trained = provenance(cohort), provenance_of_model
    if prov["seeds"]:
        return prov["seeds"] == trained.get("seeds") and prov["generator"] == trained.get(
            "generator")
    return prov["cohort"] == trained.get("cohort")


def participant_fields(cohort: Cohort, pid: str) -> tuple[str, float, str]:
    """Group, severity and affected hand; a take of someone not listed counts as healthy."""
    p = cohort.participants.get(pid)
    return (p.group, p.severity, p.affected_hand) if p else ("healthy", 0.0, "none")


def pattern_of(cohort: Cohort, pid: str) -> frozenset[str]:
    p = cohort.participants.get(pid)
    return pattern_parts(p.pattern) if p and p.group == "dystonic" else frozenset()


def score_cohort(cohort: Cohort, models: models_mod.ModelSet) -> dict[int, list[TakeRecord]]:
    """Every take of the cohort scored by the box's own scoring path."""
    exclude: dict[int, set[str]] = {}
    for task, entry in models.card["tasks"].items():
        if same_cohort(cohort, entry.get("provenance", models.card.get("provenance", {}))):
            exclude[int(task)] = set(entry.get("train_participants", []))
    records: dict[int, list[TakeRecord]] = {}
    for file in cohort.takes:
        take = takefile.read(file)
        if take.task not in models.tasks:
            continue
        pid = take.meta["participant"]
        if pid in exclude.get(take.task, set()):
            continue
        score = score_take(take, models, file)
        group, severity, affected = participant_fields(cohort, pid)
        ratio = {h: (s.severity if s else None) for h, s in score.hands.items()}
        named = {h: s.explanation.worst_finger for h, s in score.hands.items()
                 if s is not None}
        records.setdefault(take.task, []).append(TakeRecord(
            file, take.task, pid, group, severity, affected, ratio, score.key_margins, named,
            pattern_of(cohort, pid)))
    return records


def float_agreement(models: models_mod.ModelSet, records: list[TakeRecord], task: int
                    ) -> dict[str, Any] | None:
    """int8 against the float Keras model on the same hands and the same threshold."""
    entry = models.card["tasks"][str(task)]
    float_path = models.root / entry.get("float_file", "")
    if not entry.get("float_file") or not float_path.exists():
        return None
    import tensorflow as tf

    model = tf.keras.models.load_model(float_path)
    spec = models.tasks[task]
    int8_runner = TfliteModel(spec.path)

    def judge_float(batch: np.ndarray) -> np.ndarray:
        return scores(spec.score, batch, model(batch, training=False).numpy(), spec.finger_norm)

    def judge_int8(batch: np.ndarray) -> np.ndarray:
        return scores(spec.score, batch, np.stack([int8_runner(x) for x in batch]),
                      spec.finger_norm)

    settings = Settings(representation=spec.preprocessing)
    float_scores, int8_scores, take_of, thresholds = [], [], [], []
    for i, record in enumerate(records):
        take = takefile.read(record.file)
        prepared = prepare(take, settings)
        for name, hand in prepared.hands.items():
            if hand.data is None:
                continue
            for judge, out in ((judge_float, float_scores), (judge_int8, int8_scores)):
                out.append(judge_hand(take, name, prepared, settings, spec.trim_search,
                                      judge).score)
            take_of.append(i)
            thresholds.append(spec.threshold_for(prepared.trimmed_by).value)
    if not take_of:
        return None
    float_err, int8_err = np.array(float_scores), np.array(int8_scores)
    # each hand against its own threshold, as the box judges it
    float_abnormal = float_err > np.array(thresholds)
    int8_abnormal = int8_err > np.array(thresholds)
    # a take is abnormal when either hand is
    takes = np.array(take_of)
    float_take = {i: bool(np.any(float_abnormal[takes == i])) for i in set(take_of)}
    int8_take = {i: bool(np.any(int8_abnormal[takes == i])) for i in set(take_of)}
    return {
        "hands": len(take_of),
        "takes": len(float_take),
        "take_decision_agreement": float(np.mean([float_take[i] == int8_take[i]
                                                  for i in float_take])),
        "decision_agreement": float(np.mean(float_abnormal == int8_abnormal)),
        "error_correlation": float(np.corrcoef(float_err, int8_err)[0, 1]),
        "mean_relative_difference": float(np.mean(np.abs(int8_err - float_err) / float_err)),
    }


def held_out(cohort: Cohort, card: dict[str, Any]) -> str:
    trained_here = [t for t, e in card["tasks"].items()
                    if same_cohort(cohort, e.get("provenance", card.get("provenance", {})))]
    if not trained_here:
        return "cohort not used in training"
    if len(trained_here) == len(card["tasks"]):
        return "training participants excluded"
    return f"training participants excluded for task {', '.join(sorted(trained_here, key=int))}"


def evaluate_models(cohort: Cohort, models: models_mod.ModelSet, with_float: bool
                    ) -> dict[str, Any]:
    records = score_cohort(cohort, models)
    tasks = {}
    for task in sorted(records):
        summary = summarise(records[task])
        summary["threshold"] = models.tasks[task].with_keys.value
        if with_float:
            summary["int8_vs_float"] = float_agreement(models, records[task], task)
        tasks[str(task)] = summary
    return {"cohort": str(cohort.root), "models": models.id,
            "models_trained_on": models.trained_on,
            "held_out": held_out(cohort, models.card), "tasks": tasks}


def evaluate_repeated(cohort: Cohort, tasks: list[int], repeats: int, config: TrainConfig,
                      seed: int, score: str, trim: TrimSearch | None) -> dict[str, Any]:
    """The paper's protocol K times over: random 80/20 split of the healthy people, train,
    threshold from the int8 validation errors, specificity on the validation takes,
    sensitivity on every dystonic take; each hand judged as the box would, with ``trim``
    (the trim search of the models evaluated) or over its key window only."""
    out: dict[str, Any] = {"cohort": str(cohort.root), "repeats": repeats, "tasks": {}}
    for task in tasks:
        runs = []
        for r in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                entry = train_task(cohort, task, Path(tmp), config, seed + 1000 * r, score,
                                   trim=trim)
                path = Path(tmp) / entry["file"]
                keep = set(entry["validation_participants"])
                by_file: dict[str, dict[str, float]] = {}
                samples = [s for s in cohort.samples[task]
                           if s.participant in keep
                           or cohort.group_of(s.participant) == "dystonic"]
                norm = np.array(entry["finger_window_norm"])
                if trim is None:
                    x = np.stack([s.data for s in samples])
                    errors = scores(score, x, int8_reconstructions(path, x), norm)
                else:
                    errors = searched_scores(path, samples, cohort.settings, score, norm,
                                             trim)[0]
                for s, e in zip(samples, errors, strict=True):
                    by_file.setdefault(s.file, {})[s.hand] = e / entry["threshold"]
                records = []
                for s in samples:
                    if s.file in by_file:
                        group, severity, affected = participant_fields(cohort, s.participant)
                        ratio = by_file.pop(s.file)
                        records.append(TakeRecord(s.file, task, s.participant, group, severity,
                                                  affected, ratio))
                summary = summarise(records)
                summary["threshold"] = entry["threshold"]
                runs.append(summary)
                log.info("task %d split %d: sensitivity %s specificity %s", task, r,
                         summary["sensitivity"], summary["specificity"])
        out["tasks"][str(task)] = {
            key: mean_sd([run[key] for run in runs])
            for key in ("sensitivity", "specificity", "specificity_hands", "auc", "threshold")
        } | {"n_healthy_people": len(healthy_ids(cohort, cohort.samples[task]))}
    return out


def load_cohort(path: Path, tasks: list[int] | None, settings: Settings = DEFAULT_SETTINGS
                ) -> Cohort:
    return load(path, set(tasks) if tasks else None, settings)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def with_interval(value: float | None, interval: list[float] | None) -> str:
    """"77 % (62-88)": the share and its 95 % interval over participants (metrics.py)."""
    if value is None or not interval:
        return _pct(value)
    return f"{100 * value:.0f} % ({100 * interval[0]:.0f}-{100 * interval[1]:.0f})"


def auc_text(summary: dict[str, Any]) -> str:
    """"0.87 (0.82-0.92)": the ROC AUC and its 95 % interval over participants."""
    auc, interval = summary.get("auc"), summary.get("auc_interval")
    if auc is None:
        return "–"
    return f"{auc:.2f}" + (f" ({interval[0]:.2f}-{interval[1]:.2f})" if interval else "")


def _found_text(summary: dict[str, Any]) -> str:
    """"0.21 / 0.48": the severities from which half and nine in ten of the takes are found
    (metrics.detection_severity); "–" where there is none."""
    found = summary.get("severity_found")
    if not found:
        return "–"
    return " / ".join("–" if found.get(k) is None else f"{found[k]:.2f}" for k in ("50", "90"))


def _named_text(summary: dict[str, Any]) -> str:
    """"89 % of 218": how often the explanation names a part of the patient's pattern, of
    the affected hands found."""
    named = summary.get("explanation_in_pattern") or {}
    if not named.get("hands"):
        return "–"
    return f"{_pct(named['share'])} of {named['hands']}"


def severity_text(summary: dict[str, Any]) -> str:
    """"mild / moderate / marked" sensitivity; "–" for a summary without them (an evaluation
    written before key timing had them)."""
    bins = summary.get("by_severity")
    if not bins:
        return "–"
    return " / ".join(_pct(bins[k]["sensitivity"]) for k in ("mild", "moderate", "marked"))


def table(result: dict[str, Any]) -> str:
    """A Markdown table a researcher can paste."""
    lines = [f"Models {result['models']} (trained on {result['models_trained_on']}); "
             f"cohort {result['cohort']} ({result['held_out']})"
             + (f"; every take preprocessed as {result['preprocessed_as']}, not as the models "
                "were trained" if "preprocessed_as" in result else "") + ".", "",
             "Sensitivity, specificity and ROC AUC per take, with their 95 % interval over "
             "participants (a participant's takes count together).", "",
             "| task | sensitivity | specificity | specificity per hand | affected-hand "
             "sensitivity | patients' other hand passes | ROC AUC | threshold | healthy takes | "
             "dystonic takes | mild / moderate / marked sensitivity | severity from which 50 / "
             "90 % of takes are found | explanation names the pattern | int8 = float |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for task, s in result["tasks"].items():
        sev = severity_text(s)
        agree = s.get("int8_vs_float")
        agree_text = (f"{_pct(agree['take_decision_agreement'])} of takes, "
                      f"{_pct(agree['decision_agreement'])} of hands "
                      f"(r = {agree['error_correlation']:.3f})" if agree else "–")
        auc = auc_text(s)
        lines.append(f"| {task} | {with_interval(s['sensitivity'], s.get('sensitivity_interval'))}"
                     f" | {with_interval(s['specificity'], s.get('specificity_interval'))} | "
                     f"{_pct(s['specificity_hands'])} | {_pct(s['sensitivity_affected_hand'])} | "
                     f"{_pct(s['specificity_unaffected_hand'])} | {auc} | "
                     f"{s['threshold']:.3g} | {s['n_healthy_takes']} | {s['n_dystonic_takes']} | "
                     f"{sev} | {_found_text(s)} | {_named_text(s)} | {agree_text} |")
    lines += ["", "Key timing, the second measure (device/screening/key_timing.py), on the same "
              "takes; \"either\": abnormal by the autoencoder or by the key timing.", "",
              "| task | sensitivity | specificity | ROC AUC | mild / moderate / marked "
              "sensitivity | severity from which 50 / 90 % of takes are found | either: "
              "sensitivity | either: specificity | healthy / dystonic takes with key data |",
              "|---|---|---|---|---|---|---|---|---|"]
    for task, s in result["tasks"].items():
        k = s.get("key_timing") or {}
        if not k.get("n_healthy_takes") and not k.get("n_dystonic_takes"):
            lines.append(f"| {task} | not normed or no key data | | | | | | | |")
            continue
        auc = auc_text(k)
        lines.append(f"| {task} | {_pct(k['sensitivity'])} | {_pct(k['specificity'])} | {auc} | "
                     f"{severity_text(k)} | {_found_text(k)} | {_pct(k['either_sensitivity'])} | "
                     f"{_pct(k['either_specificity'])} | "
                     f"{k['n_healthy_takes']} / {k['n_dystonic_takes']} |")
    return "\n".join(lines)


def repeated_table(result: dict[str, Any]) -> str:
    def ms(v: dict) -> str:
        return "–" if v["mean"] is None else f"{100 * v['mean']:.0f} ± {100 * v['sd']:.0f} %"

    lines = [f"{result['repeats']} random 80/20 splits of the healthy participants of "
             f"{result['cohort']} (mean ± SD).", "",
             "| task | sensitivity | specificity | specificity per hand | ROC AUC |",
             "|---|---|---|---|---|"]
    for task, s in result["tasks"].items():
        auc = "–" if s["auc"]["mean"] is None else f"{s['auc']['mean']:.2f} ± {s['auc']['sd']:.2f}"
        lines.append(f"| {task} | {ms(s['sensitivity'])} | {ms(s['specificity'])} | "
                     f"{ms(s['specificity_hands'])} | {auc} |")
    return "\n".join(lines)
