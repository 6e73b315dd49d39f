"""``dystonia-box stats TABLE``: Mann-Whitney U per measure with Benjamini-Hochberg correction."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from device import atomic
from device.biomech.groupstats import TableError, compare_groups, read_table


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stats", help="compare two groups of participants, measure by measure",
        description="Two-sided Mann-Whitney U test per numeric column of a CSV/TSV table "
        "(one row per participant) between two groups, with Benjamini-Hochberg corrected "
        "p-values. Prints a TSV table.")
    p.add_argument("table", type=Path, help="CSV or TSV file with a header row")
    p.add_argument("--group-column", default="group", help="column naming each row's group")
    p.add_argument("--groups", help="the two groups to compare, e.g. healthy,dystonic "
                   "(default: the two groups present)")
    p.add_argument("--alpha", type=float, default=0.05, help="level for the significant column")
    p.add_argument("-o", "--output", type=Path, help="write the table here instead of printing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, context: Any) -> int:
    groups = None
    if args.groups:
        names = tuple(g.strip() for g in args.groups.split(","))
        if len(names) != 2:
            print(f"dystonia-box stats: --groups needs two names, got {args.groups!r}",
                  file=sys.stderr)
            return 2
        groups = (names[0], names[1])
    try:
        report = compare_groups(read_table(args.table), group_column=args.group_column,
                                groups=groups)
    except TableError as exc:
        print(f"dystonia-box stats: {exc}", file=sys.stderr)
        return 2
    text = report.to_tsv(args.alpha)
    if args.output:
        atomic.write_bytes(args.output, text.encode())
    else:
        sys.stdout.write(text)
    if report.skipped:
        print(f"not numeric, left out: {', '.join(report.skipped)}", file=sys.stderr)
    return 0
