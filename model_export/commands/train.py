"""``train --cohort DIR --out MODELDIR [--tasks 1,3,4,7]``: one autoencoder per task."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from device import takefile
from device.kinematics import PAPER_PREPROCESSING, PREPROCESSING_VERSION, REPRESENTATIONS
from device.kinematics.augment import BONE_SD, DEPTH_GAIN
from device.screening.statistic import CURL, FOCAL, FOCAL_RAW, MSE, SCORES
from model_export.screening.architecture import Architecture


def task_list(text: str) -> list[int]:
    try:
        tasks = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"tasks must be numbers like 1,3,4,7, got {text!r}") \
            from None
    if not tasks or not all(1 <= t <= takefile.N_TASKS for t in tasks):
        raise argparse.ArgumentTypeError(f"tasks must be within 1..{takefile.N_TASKS}")
    return tasks


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="train one autoencoder per task on healthy takes")
    p.add_argument("--cohort", type=Path, required=True, help="directory of take files")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--tasks", type=task_list, default=list(range(1, takefile.N_TASKS + 1)),
                   help="comma-separated task numbers (default: all eleven)")
    p.add_argument("--seed", type=int, default=0, help="split and initialisation seed")
    p.add_argument("--preprocessing", choices=REPRESENTATIONS, default=PREPROCESSING_VERSION,
                   help=f"hand representation: {PREPROCESSING_VERSION} (the box's, "
                        f"default) or {PAPER_PREPROCESSING} (the paper's, as a baseline)")
    p.add_argument("--score", choices=SCORES, default=CURL,
                   help=f"what a hand is judged by: {CURL} (the box's, default), {FOCAL} and "
                        f"{FOCAL_RAW} (its predecessors) or {MSE} (the paper's whole-tensor "
                        "mean squared error); device/screening/statistic.py")
    p.add_argument("--max-epochs", type=int, default=400)
    p.add_argument("--patience", type=int, default=40)
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="Adam's starting learning rate (lower it when starting from trained "
                        "models with --init-from)")
    p.add_argument("--augment-copies", type=int, default=3,
                   help="augmented copies of each training hand per epoch")
    p.add_argument("--max-depth-gain", type=float, default=DEPTH_GAIN,
                   help="each augmented copy's depth times a gain within [1/G, G], for other "
                        "trackers' and cameras' depth scale (1: none)")
    p.add_argument("--bone-sd", type=float, default=BONE_SD,
                   help="each augmented copy's bones longer or shorter by this SD (fraction), "
                        "for other trackers' landmark placement (0: none)")
    p.add_argument("--keep-other-tasks", action="store_true",
                   help="keep the models of tasks not named in --tasks that --out already "
                        "holds (each keeps the provenance it was trained with), so the card "
                        "lists them all")
    p.add_argument("--init-from", type=Path, default=None, metavar="MODELDIR",
                   help="start each task from the float model of a trained model directory "
                        "(its float/ kept) instead of random weights, e.g. to train on the "
                        "shipped models with a clinic's own healthy recordings; the card "
                        "records it")
    p.add_argument("--int8-epochs", type=int, default=20,
                   help="after convergence, epochs of fine-tuning with the kernels on the "
                        "int8 grid, so the int8 export decides as the float model (0: none)")
    p.add_argument("--no-trim-search", dest="trim_search", action="store_false",
                   help="judge each hand over its key window only, as the source study does; "
                        "by default the threshold and the box also try its end moved by "
                        "up to 75 ms (device/screening/trim_search.py)")
    p.add_argument("--width", type=int, default=Architecture.width)
    p.add_argument("--code-channels", type=int, default=Architecture.code_channels)
    p.add_argument("--centred", action="store_true",
                   help="the model subtracts the task's mean training hand from its input "
                        "and adds it back to its output (docs/screening.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device.kinematics.prepare import Settings
    from device.screening.trim_search import TrimSearch
    from model_export.screening import cohort as cohort_mod
    from model_export.screening.fit import train_all
    from model_export.screening.train import TrainConfig

    try:
        settings = Settings(representation=args.preprocessing)
        cohort = cohort_mod.load(args.cohort, set(args.tasks), settings)
    except (cohort_mod.CohortError, takefile.TakeFileError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    config = TrainConfig(arch=Architecture(args.width, args.code_channels, args.centred),
                         max_epochs=args.max_epochs, patience=args.patience,
                         learning_rate=args.learning_rate,
                         augment_copies=args.augment_copies, int8_epochs=args.int8_epochs,
                         max_depth_gain=args.max_depth_gain, bone_sd=args.bone_sd)
    try:
        card = train_all(cohort, args.out, args.tasks, config, args.seed, args.score,
                         keep_other_tasks=args.keep_other_tasks, start_dir=args.init_from,
                         trim=TrimSearch() if args.trim_search else None)
    except cohort_mod.CohortError as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    for task, entry in card["tasks"].items():
        if int(task) not in args.tasks:
            continue
        print(f"task {task}: {entry['epochs']} epochs, train {entry['float_train_error']:.3g}, "
              f"validation {entry['float_validation_error']:.3g} (float); "
              f"threshold {entry['threshold']:.3g} (int8)")
    print(f"wrote {args.out} ({card['model_id']}, trained on {card['provenance']['data']})")
    return 0
