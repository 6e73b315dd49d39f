"""``python -m model_export``: offline work on a workstation (contract 2 of DESIGN.md).

A subcommand module registers itself with ``add_parsers(subparsers)`` and sets
``func(args) -> int``; list it in COMMANDS. Commands that need TensorFlow (the ``export``
extra) import it only when they run, so ``synth`` works with the box's own packages.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from model_export.commands import (
    bound,
    evaluate,
    float_twin,
    landmarks,
    merge,
    recalibrate,
    setups,
    synth,
    train,
    tune_int8,
)

COMMANDS = (synth, train, tune_int8, recalibrate, merge, float_twin, evaluate, setups, bound,
            landmarks)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_export",
        description="Offline model work: synthetic cohort, training, evaluation, export.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parsers(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
