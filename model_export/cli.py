"""``python -m model_export``: offline work on a workstation (contract 2 of DESIGN.md).

A subcommand module registers itself with ``add_parsers(subparsers)`` and sets
``func(args) -> int``; list it in COMMANDS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from model_export.commands import synth

COMMANDS = (synth,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_export",
        description="Offline model work: synthetic cohort, training, evaluation, export.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parsers(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
