"""The ``dystonia-box`` command (contract 2 of DESIGN.md).

Every subcommand takes the global ``--config`` and ``--data-dir``. A subcommand module
registers itself with ``add_parser(subparsers)`` and sets ``func(args, context) -> int``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from device import __version__, config, platform
from device.commands import (
    analyze,
    backup,
    diagnostics,
    info,
    recovery,
    score,
    selftest,
    serve,
    stats,
    storage,
    take,
    user,
)


@dataclass
class Context:
    config: config.Config
    data_dir: Path


COMMANDS = (info, take, score, user, serve, stats, selftest, analyze, backup, storage, diagnostics,
            recovery)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dystonia-box",
        description="Screening box for Musician's dystonia in pianists.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config", type=Path, default=None,
        help=f"configuration file (default: {platform.default_config_path()}, "
        "used only if it exists)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help=f"where sessions and recordings are kept (default: {platform.default_data_dir()})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parsers(subparsers)
    return parser


def load_context(args: argparse.Namespace) -> Context:
    path = args.config
    if path is None:
        default = platform.default_config_path()
        path = default if default.exists() else None
    cfg = config.load(path)
    logging.basicConfig(
        level=cfg["box"]["log_level"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return Context(config=cfg, data_dir=args.data_dir or platform.default_data_dir())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        context = load_context(args)
    except config.ConfigError as exc:
        print(f"dystonia-box: {exc}", file=sys.stderr)
        return 2
    return int(args.func(args, context))


if __name__ == "__main__":
    sys.exit(main())
