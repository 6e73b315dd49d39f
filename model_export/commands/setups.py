"""``setups --cohort DIR [--models MODELDIR] [--tasks 1,3,4,7] [--json]``: the paper's figures
with the cohort's takes seen through other cameras and trackers (model_export.screening.setups)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from model_export.commands.train import task_list

QUICK_SCREEN = [1, 3, 4, 7]


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "setups", help="specificity and sensitivity with the takes seen through other "
                       "cameras and trackers: did the models learn healthy playing?")
    p.add_argument("--cohort", type=Path, required=True,
                   help="cohort directory with participants.tsv")
    p.add_argument("--models", type=Path, help="exported model directory (default: shipped)")
    p.add_argument("--tasks", type=task_list, default=QUICK_SCREEN,
                   help="comma-separated task numbers (default: the quick screen 1,3,4,7)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device import takefile
    from device.screening import models as models_mod
    from model_export.screening.cohort import CohortError
    from model_export.screening.setups import robustness, table

    try:
        models = models_mod.load(args.models)
        rows = robustness(args.cohort, models, args.tasks)
    except (models_mod.ModelError, CohortError, takefile.TakeFileError) as exc:
        print(f"setups: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"cohort": str(args.cohort), "models": models.id, "tasks": args.tasks,
                          "setups": rows}, indent=1))
    else:
        print(f"Models {models.id} on {args.cohort}.")
        print(table(rows, args.tasks))
    return 0
