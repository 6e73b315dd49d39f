"""``float-twin --models MODELDIR``: rebuild the float Keras models of int8 models whose
kernels were trained onto the int8 grid, where the float files were not kept (the shipped
``device/models``), so that ``evaluate`` can compare int8 with float on them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from device.screening.models import CARD_FILE
from model_export.commands.train import task_list


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "float-twin", help="rebuild the float models of int8 models trained onto the int8 "
                           "grid, into the card's float/ files")
    p.add_argument("--models", type=Path, required=True,
                   help="model directory (float files are added to it; copy the shipped one "
                        "first)")
    p.add_argument("--tasks", type=task_list, default=None,
                   help="comma-separated task numbers (default: every task in the card)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model_export.screening.architecture import Architecture
    from model_export.screening.fit import completed
    from model_export.screening.float_twin import float_twin, kernels_on_int8_grid

    try:
        card = json.loads((args.models / CARD_FILE).read_text(encoding="utf-8"))
        entries = card["tasks"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"float-twin: {args.models}: not a readable model directory ({exc})",
              file=sys.stderr)
        return 2
    tasks = args.tasks or sorted(int(t) for t in entries)
    unknown = [t for t in tasks if str(t) not in entries]
    if unknown:
        print(f"float-twin: {args.models}: no model for task(s) "
              f"{', '.join(map(str, unknown))}", file=sys.stderr)
        return 2
    failed = False
    for task in tasks:
        entry = completed(entries[str(task)], card)  # older cards keep these at the top
        target = args.models / entry.get("float_file", f"float/task{task:02d}.keras")
        if target.exists():
            print(f"task {task}: kept {target} (already there)")
            continue
        if not kernels_on_int8_grid(entry):
            print(f"float-twin: task {task}: its kernels were not fine-tuned onto the int8 "
                  "grid, so the int8 file does not hold the float model", file=sys.stderr)
            failed = True
            continue
        try:
            model = float_twin(args.models / entry["file"],
                               Architecture.from_card(entry["architecture"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"float-twin: task {task}: {exc}", file=sys.stderr)
            failed = True
            continue
        partial = target.with_name(f".{target.stem}.part.keras")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            model.save(partial)
            os.replace(partial, target)
        except OSError as exc:
            print(f"float-twin: task {task}: could not write {target}: {exc}", file=sys.stderr)
            failed = True
            continue
        finally:
            partial.unlink(missing_ok=True)  # gone after the rename; a failed save's remains
        print(f"task {task}: wrote {target}")
    return 2 if failed else 0
