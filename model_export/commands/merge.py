"""``merge --from DIR --into MODELDIR [--tasks 4,7]``: put models of some tasks from one
model directory into another, each keeping its card entry (provenance, training,
threshold), e.g. tasks retrained on a larger cohort beside the others."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from model_export.commands.train import task_list


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("merge", help="copy some tasks' models, with their card "
                                            "entries, from one model directory into another")
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="model directory to take the models from")
    p.add_argument("--into", type=Path, required=True, help="model directory to put them in")
    p.add_argument("--tasks", type=task_list, default=None,
                   help="comma-separated task numbers (default: every task --from holds)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model_export.screening.cohort import CohortError
    from model_export.screening.fit import merge_tasks

    try:
        card = merge_tasks(args.into, args.source, args.tasks)
    except (CohortError, OSError, ValueError, KeyError) as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    for task, entry in card["tasks"].items():
        prov = entry["provenance"]
        print(f"task {task}: {entry['file']}, trained on {prov['data']} data "
              f"({prov['cohort']}), threshold {entry['threshold']:.3g}")
    print(f"wrote {args.into} ({card['model_id']})")
    return 0
