"""``tune-int8 --cohort DIR --models MODELDIR``: fine-tune trained float models so their
int8 export decides as they do, without training them again (`train` does this itself)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from device import takefile
from device.screening.models import CARD_FILE
from model_export.commands.train import task_list


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tune-int8", help="fine-tune a training output's float models for int8 and export "
                          "them again")
    p.add_argument("--cohort", type=Path, required=True,
                   help="the cohort the models were trained on")
    p.add_argument("--models", type=Path, required=True,
                   help="the directory `train --out` wrote (it keeps the float models)")
    p.add_argument("--tasks", type=task_list, default=None,
                   help="comma-separated task numbers (default: every task in the card)")
    p.add_argument("--epochs", type=int, default=20, help="fine-tuning epochs")
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.set_defaults(func=run)


def card_tasks(models: Path) -> tuple[list[int], set[str]]:
    card = json.loads((models / CARD_FILE).read_text(encoding="utf-8"))
    entries = card.get("tasks", {})
    return sorted(int(t) for t in entries), {e["preprocessing"] for e in entries.values()}


def run(args: argparse.Namespace) -> int:
    from device.kinematics.prepare import Settings
    from model_export.screening import cohort as cohort_mod
    from model_export.screening.fit import tune_all_for_int8

    if args.epochs < 1:
        print("tune-int8: --epochs must be at least 1", file=sys.stderr)
        return 2
    try:
        known, representations = card_tasks(args.models)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tune-int8: {args.models}: not a readable model directory ({exc})",
              file=sys.stderr)
        return 2
    tasks = args.tasks or known
    if len(representations) != 1:
        print(f"tune-int8: {args.models}: models of several preprocessings "
              f"({', '.join(sorted(representations))}); not supported", file=sys.stderr)
        return 2
    try:
        settings = Settings(representation=representations.pop())
        cohort = cohort_mod.load(args.cohort, set(tasks), settings)
        card = tune_all_for_int8(cohort, args.models, tasks, args.epochs, args.learning_rate)
    except (cohort_mod.CohortError, takefile.TakeFileError) as exc:
        print(f"tune-int8: {exc}", file=sys.stderr)
        return 2
    for task in tasks:
        entry = card["tasks"][str(task)]
        print(f"task {task}: validation {entry['float_validation_error']:.3g} (float, "
              f"int8-tuned); threshold {entry['threshold']:.3g} (int8)")
    print(f"wrote {args.models} ({card['model_id']})")
    return 0
