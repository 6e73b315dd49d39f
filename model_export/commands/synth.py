"""``python -m model_export synth``: write a synthetic cohort (contract 2)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from device.takefile import N_TASKS


def task_list(text: str) -> tuple[int, ...]:
    try:
        tasks = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--tasks must be task numbers separated by commas, got {text!r}") from None
    bad = [n for n in tasks if not 1 <= n <= N_TASKS]
    if bad:
        raise argparse.ArgumentTypeError(f"--tasks: no task {bad[0]}; tasks are 1..{N_TASKS}")
    return tuple(dict.fromkeys(tasks))


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def add_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "synth", help="write a synthetic cohort: take files plus participants.tsv")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--healthy", type=count, required=True, help="healthy participants")
    parser.add_argument("--dystonic", type=count, required=True,
                        help="participants with Musician's dystonia")
    parser.add_argument("--seed", type=int, required=True, help="same seed, same files")
    parser.add_argument("--tasks", type=task_list, default=tuple(range(1, N_TASKS + 1)),
                        help="protocol tasks, e.g. 1,3,4,7 (default: all)")
    parser.add_argument("--takes-per-condition", type=count, default=1,
                        help="takes of each task x dynamics x tempo mode (default 1)")
    parser.add_argument("--workers", type=count, default=2, help="processes (default 2)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from model_export.synth.cohort import write_cohort

    if args.healthy + args.dystonic == 0:
        print("model_export synth: --healthy and --dystonic are both 0; nothing to write",
              file=sys.stderr)
        return 2
    if args.takes_per_condition == 0:
        print("model_export synth: --takes-per-condition must be at least 1", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"model_export synth: --out {args.out} exists and is not a directory",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        written = write_cohort(args.out, args.healthy, args.dystonic, args.seed, args.tasks,
                               args.takes_per_condition, max(args.workers, 1))
    except OSError as exc:
        print(f"model_export synth: cannot write the cohort to {args.out}: {exc}",
              file=sys.stderr)
        return 2
    print(f"wrote {len(written)} takes of {args.healthy + args.dystonic} participants and "
          f"participants.tsv to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0
