"""``bound --train-cohort DIR --cohort DIR [--tasks 4,7] [--json]``: what a classifier trained
with the dystonic labels finds on a fresh cohort (model_export.screening.bound)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from model_export.commands.train import task_list


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bound", help="sensitivity at the paper's specificities of a classifier trained WITH "
                      "the dystonic labels: how much of a screen's shortfall is the cohort's")
    p.add_argument("--train-cohort", type=Path, required=True,
                   help="cohort with healthy and dystonic participants to learn from")
    p.add_argument("--cohort", type=Path, required=True, help="fresh cohort to judge")
    p.add_argument("--tasks", type=task_list, default=[4, 7],
                   help="comma-separated task numbers (default: 4,7, the paper's figures)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-epochs", type=int, default=60)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device import takefile
    from model_export.screening import bound
    from model_export.screening.cohort import CohortError
    from model_export.screening.evaluate import load_cohort

    try:
        train_cohort = load_cohort(args.train_cohort, args.tasks)
        cohort = load_cohort(args.cohort, args.tasks)
        result = bound.judge(train_cohort, cohort, args.tasks,
                             bound.BoundConfig(max_epochs=args.max_epochs), args.seed)
    except (CohortError, takefile.TakeFileError) as exc:
        print(f"bound: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"train_cohort": str(args.train_cohort), "cohort": str(args.cohort),
                          "seed": args.seed, "tasks": result}, indent=1))
    else:
        print(f"A classifier trained with the labels of {args.train_cohort}, judged on "
              f"{args.cohort}; thresholds at the paper's specificities on that cohort's "
              f"healthy takes.")
        print(bound.table(result))
    return 0
