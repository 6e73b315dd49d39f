"""``dystonia-box backup [--out FILE|DIR]`` and ``dystonia-box restore FILE [--force]``:
the database, recordings and configuration in one hash-checked bundle (to a USB stick, or
the box's own backups/ folder for the daily timer)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from device import platform
from device.maintenance import backup
from device.store import db


def add_parsers(subparsers: Any) -> None:
    make = subparsers.add_parser("backup", help="write a backup bundle (database, recordings, "
                                                "configuration, SHA-256 manifest)")
    make.add_argument("--out", type=Path, default=None,
                      help="bundle file, or a folder (e.g. a USB stick) to write it in "
                           "(default: storage.backup_dir; older timer backups are pruned)")
    make.set_defaults(func=run_backup)
    back = subparsers.add_parser("restore", help="restore a backup bundle into this box")
    back.add_argument("bundle", type=Path)
    back.add_argument("--force", action="store_true",
                      help="restore even though the box holds data (it is moved aside)")
    back.add_argument("--no-config", action="store_true",
                      help="leave this box's configuration file as it is")
    back.set_defaults(func=run_restore)


def run_backup(args: argparse.Namespace, context: Any) -> int:
    cfg = context.config
    name = backup.default_name(cfg["box"]["name"])
    pruning = args.out is None
    if args.out is None:
        folder = Path(cfg["storage"]["backup_dir"] or context.data_dir / backup.BACKUPS_DIR)
        out = folder / name
    else:
        out = args.out / name if args.out.is_dir() else args.out
    try:
        backup.create(context.data_dir, out, cfg.source, cfg["box"]["name"])
    except (backup.BackupError, db.StoreError, OSError) as exc:
        print(f"dystonia-box: backup failed: {exc}", file=sys.stderr)
        return 2
    if pruning:
        for gone in backup.prune(out.parent, cfg["storage"]["backup_keep"]):
            print(f"removed old backup {gone}")
    print(out)
    return 0


def run_restore(args: argparse.Namespace, context: Any) -> int:
    config_file = None if args.no_config else (context.config.source
                                               or platform.default_config_path())
    try:
        done = backup.restore(args.bundle, context.data_dir, config_file, force=args.force)
    except (backup.BackupError, OSError) as exc:
        print(f"dystonia-box: restore refused: {exc}", file=sys.stderr)
        return 2
    print(f"restored {done.files} files from {args.bundle} into {context.data_dir}")
    if done.moved_aside:
        print(f"the box's earlier data is kept in {done.moved_aside}")
    if done.config_written:
        print(f"configuration restored to {done.config_written}")
    return 0
