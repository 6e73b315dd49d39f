"""``recalibrate --cohort DIR --models MODELDIR [--score KIND]``: judge trained models on hands
prepared with another preprocessing (by default the box's newest), or by another score,
without training them again: the score's normalisers and the thresholds are computed again,
from the int8 models' own reconstructions of the same training and validation people."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from device import takefile
from device.kinematics import PREPROCESSING_VERSION, REPRESENTATIONS
from device.screening.statistic import SCORES
from model_export.commands.train import task_list
from model_export.commands.tune_int8 import card_tasks


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recalibrate", help="compute trained models' thresholds again on hands prepared "
                            "with another preprocessing, or for another score")
    p.add_argument("--cohort", type=Path, required=True,
                   help="the cohort the models were trained on")
    p.add_argument("--models", type=Path, required=True, help="model directory (changed)")
    p.add_argument("--tasks", type=task_list, default=None,
                   help="comma-separated task numbers (default: every task in the card)")
    p.add_argument("--preprocessing", choices=REPRESENTATIONS, default=PREPROCESSING_VERSION,
                   help=f"hand representation to judge with (default {PREPROCESSING_VERSION})")
    p.add_argument("--score", choices=SCORES, default=None,
                   help="judge by this score (device/screening/statistic.py) instead of the "
                        "one each model has")
    p.add_argument("--no-trim-search", dest="trim_search", action="store_false",
                   help="judge each hand over its key window only (default: also over its "
                        "end moved by up to 75 ms, device/screening/trim_search.py)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device.kinematics.prepare import Settings
    from device.screening.trim_search import TrimSearch
    from model_export.screening import cohort as cohort_mod
    from model_export.screening.fit import recalibrate_all

    try:
        known, _ = card_tasks(args.models)
    except (OSError, ValueError, KeyError) as exc:
        print(f"recalibrate: {args.models}: not a readable model directory ({exc})",
              file=sys.stderr)
        return 2
    tasks = args.tasks or known
    try:
        cohort = cohort_mod.load(args.cohort, set(tasks),
                                 Settings(representation=args.preprocessing))
        card = recalibrate_all(cohort, args.models, tasks,
                               TrimSearch() if args.trim_search else None, args.score)
    except (cohort_mod.CohortError, takefile.TakeFileError) as exc:
        print(f"recalibrate: {exc}", file=sys.stderr)
        return 2
    for task in tasks:
        entry = card["tasks"][str(task)]
        before = entry["recalibrated"]
        print(f"task {task}: {before['from_preprocessing']} -> {entry['preprocessing']}, "
              f"{before['from_score']} -> {entry['score']}, "
              f"threshold {before['threshold_before']:.3g} -> {entry['threshold']:.3g} (int8)")
    print(f"wrote {args.models} ({card['model_id']})")
    return 0
