"""``evaluate --cohort DIR --models MODELDIR [--json] [--repeats K]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from device.kinematics import REPRESENTATIONS
from model_export.commands.train import task_list


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate", help="sensitivity, specificity, ROC AUC per task, as the paper measures")
    p.add_argument("--cohort", type=Path, required=True)
    p.add_argument("--models", type=Path, help="exported model directory (default: shipped)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--tasks", type=task_list, default=None)
    p.add_argument("--no-float", action="store_true",
                   help="skip the int8-against-float comparison")
    p.add_argument("--repeats", type=int, default=0,
                   help="also retrain on K random 80/20 splits of this cohort and report the "
                        "spread (slow: K trainings per task)")
    p.add_argument("--preprocess-as", choices=REPRESENTATIONS, default=None,
                   help="score with this preprocessing instead of the one each model was "
                        "trained with: what the preprocessing alone changes, same models")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-epochs", type=int, default=400)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device import takefile
    from device.kinematics.prepare import Settings
    from device.screening import models as models_mod
    from model_export.screening import evaluate as ev
    from model_export.screening.cohort import CohortError
    from model_export.screening.train import TrainConfig

    try:
        models = models_mod.load(args.models)
        if args.preprocess_as:
            for spec in models.tasks.values():
                spec.preprocessing = args.preprocess_as
        # repeated splits retrain with the representation the given models use; scoring
        # prepares each take as its task's model says
        chosen = [models.tasks[t] for t in args.tasks or sorted(models.tasks) if t in models.tasks]
        used = sorted({spec.preprocessing for spec in chosen})
        if args.repeats > 0 and len(used) > 1:
            print(f"evaluate: --repeats retrains every task with one representation, but "
                  f"these models use {', '.join(used)}; name tasks of one kind with --tasks",
                  file=sys.stderr)
            return 2
        cohort = ev.load_cohort(args.cohort, args.tasks, Settings(representation=used[0]))
    except (models_mod.ModelError, CohortError, takefile.TakeFileError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    result = ev.evaluate_models(cohort, models, with_float=not args.no_float)
    if args.preprocess_as:
        result["preprocessed_as"] = args.preprocess_as
    if args.repeats > 0:
        tasks = args.tasks or sorted(models.tasks)
        result["repeated"] = ev.evaluate_repeated(
            cohort, tasks, args.repeats, TrainConfig(max_epochs=args.max_epochs), args.seed,
            chosen[0].score, chosen[0].trim_search)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(ev.table(result))
        if "repeated" in result:
            print()
            print(ev.repeated_table(result["repeated"]))
    return 0
