"""``dystonia-box cleanup``: the storage timer's job: drop expired raw video (landmark take
files are kept) and report how full the data disk is."""

from __future__ import annotations

import argparse
from typing import Any

from device.maintenance import storage
from device.store import db


def add_parsers(subparsers: Any) -> None:
    clean = subparsers.add_parser("cleanup", help="delete raw video past storage.keep_video_days "
                                  "(landmarks are kept) and report free disk space")
    clean.add_argument("--dry-run", action="store_true", help="only list what would go")
    clean.set_defaults(func=run_cleanup)


def run_cleanup(args: argparse.Namespace, context: Any) -> int:
    settings = context.config["storage"]
    conn = db.connect(context.data_dir / db.DB_FILE)
    try:
        keep = settings["keep_video_days"]
        if args.dry_run:
            doomed = storage.expired_videos(conn, context.data_dir, keep)
            freed = sum(p.stat().st_size for p in doomed)
        else:
            doomed, freed = storage.remove_expired_videos(conn, context.data_dir, keep)
    finally:
        conn.close()
    verb = "would delete" if args.dry_run else "deleted"
    for path in doomed:
        print(f"{verb} {path.relative_to(context.data_dir)}")
    print(f"{verb} {len(doomed)} raw videos ({freed / 1e6:.1f} MB)")
    state = storage.disk_state(context.data_dir, settings)
    print(("WARNING: " if state.warning else "") + state.message)
    return 0
