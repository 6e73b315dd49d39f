"""``train``: one autoencoder per task from the healthy takes of a cohort, exported to int8
TFLite with a model card (contract 3). The threshold is computed from the int8 model's own
errors on the held-out healthy validation hands."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from device import __version__ as box_version
from device.atomic import write_bytes
from device.kinematics import N_SAMPLES
from device.kinematics.prepare import Settings
from device.screening.explain import finger_time_error
from device.screening.models import CARD_FILE, CARD_FORMAT
from device.screening.runtime import TfliteModel
from device.screening.statistic import CURL, finger_errors, hand_score, unfit_score
from device.screening.trim_search import TrimSearch
from model_export.screening.architecture import Architecture
from model_export.screening.cohort import Cohort, CohortError, HandSample, split_participants
from model_export.screening.export import to_int8_tflite
from model_export.screening.key_norms import key_timing_entry
from model_export.screening.searched import scores_without_keys, searched_scores
from model_export.screening.tracking_norms import tracking_noise_entry
from model_export.screening.train import (
    TrainConfig,
    reconstruction_errors,
    train,
    tune_for_int8,
)

log = logging.getLogger(__name__)
FLOAT_DIR = "float"


def model_file(task: int) -> str:
    return f"task{task:02d}.tflite"


def int8_reconstructions(path: Path, x: np.ndarray) -> np.ndarray:
    runner = TfliteModel(path)
    return np.stack([runner(hand) for hand in x])


def scores(kind: str, x: np.ndarray, recon: np.ndarray, finger_norm: np.ndarray | None
           ) -> np.ndarray:
    return np.array([hand_score(kind, a, b, finger_norm) for a, b in zip(x, recon, strict=True)])


def provenance(cohort: Cohort) -> dict[str, Any]:
    """Where the training data came from, read from the takes' own meta."""
    sources = sorted({str(m.get("source")) for m in cohort.takes.values()})
    generators = sorted({str(m["generator"]) for m in cohort.takes.values() if "generator" in m})
    seeds = sorted({int(m["seed"]) for m in cohort.takes.values() if "seed" in m})
    data = "synthetic" if sources == ["synthetic"] else (
        "recorded" if "synthetic" not in sources else "mixed")
    return {"data": data, "sources": sources, "generator": generators, "seeds": seeds,
            "cohort": cohort.root.name}


def healthy_ids(cohort: Cohort, samples: list[HandSample]) -> list[str]:
    return sorted({s.participant for s in samples if cohort.group_of(s.participant) == "healthy"})


def split_hands(cohort: Cohort, task: int, train_ids: list[str], val_ids: list[str]
                ) -> tuple[np.ndarray, np.ndarray]:
    samples = cohort.samples.get(task, [])
    x_train = [s.data for s in samples if s.participant in train_ids]
    x_val = [s.data for s in samples if s.participant in val_ids]
    if not x_train or not x_val:
        raise CohortError(f"task {task}: the cohort has no takes of the model's training or "
                          "validation participants")
    return np.stack(x_train), np.stack(x_val)


def export_task(model: tf.keras.Model, x_train: np.ndarray, x_val: np.ndarray, task: int,
                out: Path, config: TrainConfig, score: str,
                float_errors: tuple[float, float], search: Search) -> dict[str, Any]:
    """Write the int8 and float models of one task and return their card entry's
    files, thresholds and errors; ``float_errors`` the float model's MSE on the training
    and validation hands."""
    path = out / model_file(task)
    write_bytes(path, to_int8_tflite(model, config.arch, x_train))
    (out / FLOAT_DIR).mkdir(exist_ok=True)
    model.save(out / FLOAT_DIR / f"task{task:02d}.keras")
    return {
        "file": path.name,
        "float_file": f"{FLOAT_DIR}/task{task:02d}.keras",
        "input_shape": [1, N_SAMPLES, 21, 3],
        "input_layout": "time, landmark (MediaPipe order), coordinate (x, y, z)",
        **calibration(path, x_train, x_val, score, search),
        "float_train_error": float_errors[0],
        "float_validation_error": float_errors[1],
    }


@dataclass(frozen=True)
class Search:
    """How the validation hands are judged for the threshold: prepared as ``settings`` say,
    and with ``trim`` each over its best window end (device/screening/trim_search.py), which
    needs their take files (``validation``)."""

    settings: Settings
    trim: TrimSearch | None
    validation: list[HandSample]


def calibration(path: Path, x_train: np.ndarray, x_val: np.ndarray, score: str,
                search: Search) -> dict[str, Any]:
    """How the int8 model at ``path`` is judged: the score's normalisers from the training
    hands, the threshold and the explanation's healthy reference from the held-out validation
    hands (over their best window ends when ``search.trim`` is set), all from the int8
    model's own reconstructions."""
    train_recon = int8_reconstructions(path, x_train)
    finger_norm = np.mean([finger_errors(score, a, b)
                           for a, b in zip(x_train, train_recon, strict=True)], axis=0)
    if search.trim is None:
        val_recon = int8_reconstructions(path, x_val)
        errors = scores(score, x_val, val_recon, finger_norm)
    else:  # the healthy reference of the explanation too, over the windows judged
        errors, x_val = searched_scores(path, search.validation, search.settings, score,
                                        finger_norm, search.trim)
        val_recon = int8_reconstructions(path, x_val)
    finger_mean = np.mean([finger_time_error(a, b).mean(axis=1)
                           for a, b in zip(x_val, val_recon, strict=True)], axis=0)
    mse = np.mean((val_recon - x_val) ** 2, axis=(1, 2, 3))
    mean, sd = float(errors.mean()), float(errors.std(ddof=1)) if len(errors) > 1 else 0.0
    searched: dict[str, Any] = {}
    if search.trim is not None:
        searched["trim_search"] = search.trim.as_card()
        bare = scores_without_keys(path, search.validation, search.settings, score, finger_norm,
                                   search.trim)
        if len(bare) >= 2:
            searched["without_keys"] = without_keys_threshold(bare, score)
    return {
        "preprocessing": search.settings.representation,
        "score": score,
        "finger_window_norm": [float(v) for v in finger_norm],
        "threshold": mean + 2.0 * sd,
        "threshold_method": f"mean + 2 SD of the int8 TFLite model's {score} score "
                            f"(device/screening/statistic.py) on the {len(errors)} held-out "
                            "healthy validation hands"
                            + (", each at its best window end (device/screening/"
                               "trim_search.py)" if searched else ""),
        **searched,
        "validation_error_mean": mean,
        "validation_error_sd": sd,
        "validation_finger_error_mean": [float(v) for v in finger_mean],
        "validation_mse_mean": float(mse.mean()),
        "validation_mse_sd": float(mse.std(ddof=1)) if len(mse) > 1 else 0.0,
    }


def without_keys_threshold(errors: np.ndarray, score: str) -> dict[str, Any]:
    """The threshold for a hand whose take has no key data, from ``errors``: the validation
    hands' scores with their key data left out, each trimmed by its movement and judged at
    its best window around it. Judged so, healthy hands score higher than over the windows
    their keys give (docs/screening.md, *Takes without key data*), so a threshold set on
    windows timed by keys would call many of them abnormal."""
    mean, sd = float(errors.mean()), float(errors.std(ddof=1))
    return {"threshold": mean + 2.0 * sd,
            "threshold_method": f"mean + 2 SD of the int8 TFLite model's {score} score on the "
                                f"{len(errors)} held-out healthy validation hands with their "
                                "key data left out, each trimmed by its movement and judged at "
                                "its best window around it (device/screening/trim_search.py)",
            "validation_error_mean": mean,
            "validation_error_sd": sd,
            "n_validation_hands": len(errors)}


def starting_model(start_dir: Path, task: int, cohort: Cohort, val_ids: list[str],
                   config: TrainConfig) -> tuple[tf.keras.Model, dict[str, Any]]:
    """The float model of ``task`` in ``start_dir`` to train on from, and what the card says
    about it. Refused when it has another architecture, or when it learnt from people this
    split holds out for validation (the threshold would be set on hands it has seen)."""
    card_path = start_dir / CARD_FILE
    if not card_path.exists():
        raise CohortError(f"{start_dir}: no {CARD_FILE} to start from")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    entry = card.get("tasks", {}).get(str(task))
    if entry is None:
        raise CohortError(f"{start_dir}: no model for task {task} to start from")
    entry = completed(entry, card)
    float_path = start_dir / entry.get("float_file", "")
    if not entry.get("float_file") or not float_path.exists():
        raise CohortError(f"{start_dir}: task {task}'s float model is missing (training "
                          f"starts from the float model in {FLOAT_DIR}/, which merge and "
                          "train keep)")
    arch = entry.get("architecture") or {}
    if not {"width", "code_channels"} <= arch.keys() or Architecture.from_card(arch) != config.arch:
        raise CohortError(f"{start_dir}: task {task}'s model has another architecture "
                          f"({arch}); give the same --width, --code-channels and "
                          "--centred")
    if same_data(entry.get("provenance") or {}, provenance(cohort)):
        seen = sorted(set(entry.get("train_participants", [])) & set(val_ids))
        if seen:
            raise CohortError(
                f"task {task}: the model in {start_dir} learnt from {', '.join(seen)}, whom "
                "this split holds out for validation; use the --seed it was trained with")
    model = tf.keras.models.load_model(float_path)
    return model, {"model_id": card.get("model_id"), "file": entry["float_file"],
                   "preprocessing": entry.get("preprocessing"),
                   "provenance": entry.get("provenance")}


def validation_search(cohort: Cohort, task: int, val_ids: list[str],
                      trim: TrimSearch | None) -> Search:
    """How ``task``'s validation hands (those of ``val_ids``) are judged for its threshold."""
    hands = [s for s in cohort.samples.get(task, []) if s.participant in val_ids]
    return Search(cohort.settings, trim, hands)


def train_task(cohort: Cohort, task: int, out: Path, config: TrainConfig, seed: int,
               score: str = CURL, start_dir: Path | None = None,
               trim: TrimSearch | None = None) -> dict[str, Any]:
    ids = healthy_ids(cohort, cohort.samples.get(task, []))
    if len(ids) < 2:
        raise CohortError(f"task {task}: needs healthy takes of at least 2 participants, "
                          f"has {len(ids)}")
    train_ids, val_ids = split_participants(ids, np.random.default_rng(seed + task))
    x_train, x_val = split_hands(cohort, task, train_ids, val_ids)
    start, started_from = (starting_model(start_dir, task, cohort, val_ids, config)
                           if start_dir else (None, None))
    log.info("task %d: %d training hands (%d people), %d validation hands (%d people)%s",
             task, len(x_train), len(train_ids), len(x_val), len(val_ids),
             f", starting from {start_dir}" if start_dir else "")
    result = train(x_train, x_val, config, seed=seed + task, start=start)
    entry = export_task(result.model, x_train, x_val, task, out, config, score,
                        (result.train_error, result.validation_error),
                        validation_search(cohort, task, val_ids, trim))
    entry |= key_timing_entry(cohort, task, train_ids, val_ids)
    entry |= tracking_noise_entry(cohort, task, [*train_ids, *val_ids])
    if started_from:
        entry["started_from"] = started_from
    return entry | {
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "stopped_by": result.stopped_by,
        "training_seconds": round(result.seconds, 1),
        "n_train_hands": len(x_train),
        "n_validation_hands": len(x_val),
        "train_participants": train_ids,
        "validation_participants": val_ids,
    }


def training_settings(config: TrainConfig) -> dict[str, Any]:
    return {"loss": "mse", "optimizer": "adam", "learning_rate": config.learning_rate,
            "batch_size": config.batch_size, "max_epochs": config.max_epochs,
            "patience": config.patience, "min_improvement": config.min_improvement,
            "lr_patience": config.lr_patience, "min_learning_rate": config.min_learning_rate,
            "augmentation": {"kinds": ["rotate", "scale", "both"],
                             "copies_per_epoch": config.augment_copies,
                             "max_angle_deg": config.max_angle_deg,
                             "max_scale": config.max_scale,
                             "max_depth_gain": config.max_depth_gain,
                             "bone_sd": config.bone_sd},
            "int8_fine_tuning": int8_settings(config)}


def int8_settings(config: TrainConfig) -> dict[str, Any]:
    return {"epochs": config.int8_epochs, "learning_rate": config.int8_learning_rate,
            "method": "kernels rounded to the per-channel int8 grid in the forward pass "
                      "(straight-through gradient), then set onto it "
                      "(model_export/screening/int8_fit.py)"}


def completed(entry: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """A card entry with the provenance, training, architecture, split seed and date it was
    made with, taken from its card where the entry (from older cards) does not say."""
    out = dict(entry)
    out.setdefault("provenance", card.get("provenance"))
    out.setdefault("training", card.get("training"))
    out.setdefault("architecture", card.get("architecture"))
    out.setdefault("split_seed", card.get("split_seed"))
    out.setdefault("trained", card.get("created"))
    return out


def kept_entries(out: Path, retrained: list[int]) -> dict[str, Any]:
    """The card entries in ``out`` of tasks not retrained now, each complete (each task
    keeps the provenance of the data it was trained on)."""
    card_path = out / CARD_FILE
    if not card_path.exists():
        return {}
    old = json.loads(card_path.read_text(encoding="utf-8"))
    return {key: completed(entry, old) for key, entry in old.get("tasks", {}).items()
            if int(key) not in retrained}


def combined_provenance(entries: dict[str, Any]) -> dict[str, Any]:
    """The card's provenance: every task's data together (``mixed`` when synthetic and
    recorded models share a card)."""
    provs = [e["provenance"] for e in entries.values()]
    kinds = {p["data"] for p in provs}
    return {
        "data": kinds.pop() if len(kinds) == 1 else "mixed",
        "sources": sorted({s for p in provs for s in p["sources"]}),
        "generator": sorted({g for p in provs for g in p["generator"]}),
        "seeds": sorted({v for p in provs for v in p["seeds"]}),
        "cohort": ", ".join(sorted({p["cohort"] for p in provs})),
    }


def same_data(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("data", "generator", "seeds"))


def train_all(cohort: Cohort, out: Path, tasks: list[int], config: TrainConfig,
              seed: int, score: str = CURL, keep_other_tasks: bool = False,
              start_dir: Path | None = None, trim: TrimSearch | None = None
              ) -> dict[str, Any]:
    """Train ``tasks`` into ``out`` and write its card; with ``keep_other_tasks`` the models
    of other tasks already in ``out`` stay and keep their card entries; with ``start_dir``
    each task trains on from that directory's float model instead of random weights."""
    if why := unfit_score(score, cohort.settings.representation):
        raise CohortError(why)
    out.mkdir(parents=True, exist_ok=True)
    prov = provenance(cohort)
    entries = kept_entries(out, tasks) if keep_other_tasks else {}
    architecture = config.arch.as_card()
    for task in tasks:
        entry = train_task(cohort, task, out, config, seed, score, start_dir, trim)
        entries[str(task)] = entry | {
            "provenance": prov, "training": training_settings(config),
            "architecture": architecture, "split_seed": seed,
            "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    return write_card(out, entries, seed, architecture, training_settings(config))


def write_card(out: Path, entries: dict[str, Any], seed: int, architecture: dict[str, Any],
               training: dict[str, Any]) -> dict[str, Any]:
    """The model card (contract 3) of every task in ``entries`` (each with its own
    provenance and training); its id hashes the models and how each is judged."""
    entries = dict(sorted(entries.items(), key=lambda item: int(item[0])))
    prov = combined_provenance(entries)
    digest = hashlib.sha256()
    for key, entry in entries.items():
        digest.update((out / model_file(int(key))).read_bytes())
        digest.update(json.dumps([entry.get("preprocessing"), entry.get("score"),
                                  entry.get("threshold")]).encode())
        for later in ("key_timing", "trim_search", "without_keys"):  # older cards keep their ids
            if entry.get(later):
                digest.update(json.dumps(entry[later], sort_keys=True).encode())
    card = {
        "format": CARD_FORMAT,
        "model_id": f"ae-{dt.date.today():%Y%m%d}-{digest.hexdigest()[:8]}",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "clinical_use": prov["data"] == "recorded",
        "label": ("Trained on synthetic data: not for clinical use."
                  if prov["data"] != "recorded" else "Trained on recorded healthy pianists."),
        "provenance": prov,
        "split": "random 80/20 by participant over healthy participants",
        "split_seed": seed,
        "architecture": architecture,
        "training": training,
        "software": {"dystonia_box": box_version, "tensorflow": tf.__version__,
                     "python": platform.python_version()},
        "tasks": entries,
    }
    write_bytes(out / CARD_FILE, (json.dumps(card, indent=2) + "\n").encode())
    return card


def trained_entries(cohort: Cohort, out: Path, tasks: list[int]
                    ) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The card in ``out`` and the complete entries of ``tasks``, each checked to have been
    trained on ``cohort`` (whose split into training and validation people it names)."""
    card_path = out / CARD_FILE
    if not card_path.exists():
        raise CohortError(f"{out}: no {CARD_FILE}; give the directory `train --out` wrote")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    missing = [t for t in tasks if str(t) not in card.get("tasks", {})]
    if missing:
        raise CohortError(f"{out}: has no model of task {', '.join(map(str, missing))}")
    prov = provenance(cohort)
    todo = {task: completed(card["tasks"][str(task)], card) for task in tasks}
    for task, entry in todo.items():
        if not same_data(entry["provenance"], prov):
            raise CohortError(f"{cohort.root}: not the cohort the task {task} model was trained "
                              f"on ({entry['provenance'].get('cohort')}, seeds "
                              f"{entry['provenance'].get('seeds')})")
    return card, todo


def as_trained(entry: dict[str, Any]) -> dict[str, Any]:
    """What a card entry's model was trained with and how it then did, kept however often
    it is recalibrated."""
    earlier = entry.get("recalibrated") or {}
    return {key: earlier.get(key, entry.get(name)) for key, name in (
        ("trained_preprocessing", "preprocessing"),
        ("trained_score", "score"),
        ("trained_threshold", "threshold"),
        ("trained_float_train_error", "float_train_error"),
        ("trained_float_validation_error", "float_validation_error"))}


def recalibrate_all(cohort: Cohort, out: Path, tasks: list[int],
                    trim: TrimSearch | None = None, score: str | None = None) -> dict[str, Any]:
    """Judge the int8 models of ``tasks`` in ``out`` on hands prepared as ``cohort`` was
    (its preprocessing): the score's normalisers and the threshold computed again on the
    same training and validation people, the models themselves unchanged. Only for a
    preprocessing whose hands the models' training augmentation covered (kinematics/4's
    depth rescaling against kinematics/3's: a depth gain of 0.72-1.0 on average, inside the
    0.5-2 the shipped models were trained with). With ``score`` the hands are judged by that
    score (device/screening/statistic.py) instead of the one each model had. The key timing
    norms are computed again too, from the same people."""
    old, todo = trained_entries(cohort, out, tasks)
    for entry in todo.values():
        if why := unfit_score(score or entry["score"], cohort.settings.representation):
            raise CohortError(why)
    splits = {task: split_hands(cohort, task, entry["train_participants"],
                                entry["validation_participants"])
              for task, entry in todo.items()}  # every task checked before the card changes
    entries = kept_entries(out, [])
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for task, entry in todo.items():
        x_train, x_val = splits[task]
        update = calibration(out / entry["file"], x_train, x_val, score or entry["score"],
                             validation_search(cohort, task, entry["validation_participants"],
                                               trim))
        # norms from other people or key sensors are not kept: without keys, none
        update["key_timing"] = key_timing_entry(
            cohort, task, entry["train_participants"],
            entry["validation_participants"]).get("key_timing")
        update["tracking_noise"] = tracking_noise_entry(
            cohort, task, [*entry["train_participants"], *entry["validation_participants"]]
        ).get("tracking_noise")
        float_path = out / str(entry.get("float_file", ""))
        if entry.get("float_file") and float_path.is_file():
            model = tf.keras.models.load_model(float_path)
            update["float_train_error"] = float(np.mean(reconstruction_errors(model, x_train)))
            update["float_validation_error"] = float(np.mean(reconstruction_errors(model, x_val)))
        # a search the entry had (and the threshold without keys it gives) is kept only if
        # asked for again
        kept = {key: value for key, value in entry.items()
                if key not in ("trim_search", "without_keys")}
        entries[str(task)] = kept | update | {"recalibrated": as_trained(entry) | {
            "from_preprocessing": entry["preprocessing"], "threshold_before": entry["threshold"],
            "from_score": entry["score"], "date": now}}
    return write_card(out, entries, int(old.get("split_seed") or 0), old["architecture"],
                      old["training"])


def tune_all_for_int8(cohort: Cohort, out: Path, tasks: list[int], epochs: int,
                      learning_rate: float) -> dict[str, Any]:
    """Fine-tune the float models of ``tasks`` in the training output ``out`` for int8 (on
    the same training hands, with the same augmentation) and export them again: new int8
    files, thresholds and card id; the other tasks' models stay as they are."""
    old, todo = trained_entries(cohort, out, tasks)
    for task, entry in todo.items():  # every task checked before any file is replaced
        if not (out / entry.get("float_file", "")).is_file():
            raise CohortError(f"{out}: task {task} has no float model ({entry.get('float_file')})"
                              "; the training output keeps it, device/models does not")
        if entry["preprocessing"] != cohort.settings.representation:
            raise CohortError(f"task {task}: the model was trained on {entry['preprocessing']} "
                              f"hands, the cohort was prepared as {cohort.settings.representation}")
        split_hands(cohort, task, entry["train_participants"], entry["validation_participants"])
    entries = kept_entries(out, [])  # all of them; each is replaced once its task is done
    card_training = old["training"] | {"int8_fine_tuning": int8_settings(
        TrainConfig(int8_epochs=epochs, int8_learning_rate=learning_rate))}
    card = old  # replaced by the card written after each task
    for task, entry in todo.items():
        training, arch = entry["training"], entry["architecture"]
        augmentation = training["augmentation"]
        config = TrainConfig(
            arch=Architecture.from_card(arch),
            augment_copies=int(augmentation["copies_per_epoch"]),
            max_angle_deg=float(augmentation["max_angle_deg"]),
            max_scale=float(augmentation["max_scale"]),
            # models from before the set-up deviations were trained without them
            max_depth_gain=float(augmentation.get("max_depth_gain", 1.0)),
            bone_sd=float(augmentation.get("bone_sd", 0.0)),
            int8_epochs=epochs, int8_learning_rate=learning_rate)
        x_train, x_val = split_hands(cohort, task, entry["train_participants"],
                                     entry["validation_participants"])
        seed = int(entry["split_seed"] or 0) + task
        model = tf.keras.models.load_model(out / entry["float_file"])
        tf.keras.utils.set_random_seed(seed)
        tuned = tune_for_int8(model, x_train, config, np.random.default_rng(seed))
        errors = (float(np.mean(reconstruction_errors(tuned, x_train))),
                  float(np.mean(reconstruction_errors(tuned, x_val))))
        exported = export_task(tuned, x_train, x_val, task, out, config, entry["score"], errors,
                               validation_search(cohort, task, entry["validation_participants"],
                                                 TrimSearch.from_card(entry.get("trim_search"))))
        entries[str(task)] = entry | exported | {
            "training": training | {"int8_fine_tuning": int8_settings(config)},
            "int8_tuned": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        # the card after every task, so an interrupted run leaves a card that fits its files
        card = write_card(out, entries, int(old.get("split_seed") or 0), old["architecture"],
                          card_training)
    return card


def merge_tasks(into: Path, source: Path, tasks: list[int] | None) -> dict[str, Any]:
    """Copy the models of ``tasks`` (default: all of them) from the model directory
    ``source`` into ``into``, each with its card entry (its own provenance, training and
    threshold); the models ``into`` holds of other tasks stay. The card is written last."""
    if into.resolve() == source.resolve():
        raise CohortError("--from and --into are the same directory")
    src_path = source / CARD_FILE
    if not src_path.is_file():
        raise CohortError(f"{source}: no {CARD_FILE}; not a model directory")
    src = json.loads(src_path.read_text(encoding="utf-8"))
    tasks = tasks or sorted(int(t) for t in src.get("tasks", {}))
    missing = [t for t in tasks if str(t) not in src.get("tasks", {})]
    if missing:
        raise CohortError(f"{source}: has no model of task {', '.join(map(str, missing))}")
    into_card = into / CARD_FILE
    base = json.loads(into_card.read_text(encoding="utf-8")) if into_card.is_file() else src
    todo = {task: completed(src["tasks"][str(task)], src) for task in tasks}
    absent = [e["file"] for e in todo.values() if not (source / e["file"]).is_file()]
    if absent:
        raise CohortError(f"{source}: the card names missing files: {', '.join(absent)}")
    entries = kept_entries(into, tasks)
    into.mkdir(parents=True, exist_ok=True)
    for task, entry in todo.items():
        write_bytes(into / model_file(task), (source / entry["file"]).read_bytes())
        entry["file"] = model_file(task)
        float_src = source / str(entry.get("float_file", ""))
        float_dst = into / FLOAT_DIR / f"task{task:02d}.keras"
        if entry.get("float_file") and float_src.is_file():
            float_dst.parent.mkdir(exist_ok=True)
            write_bytes(float_dst, float_src.read_bytes())
            entry["float_file"] = f"{FLOAT_DIR}/task{task:02d}.keras"
        else:  # never leave another model's float file beside this one
            float_dst.unlink(missing_ok=True)
        entries[str(task)] = entry
    return write_card(into, entries, int(base.get("split_seed") or 0), base["architecture"],
                      base["training"])
