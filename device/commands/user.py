"""``dystonia-box user add NAME``: a clinician account; the password comes on standard input
(first line), so it never appears in the shell history or the process list."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from device.auth.passwords import PasswordPolicyError, hash_password
from device.store import db, records


def add_parsers(subparsers: Any) -> None:
    user = subparsers.add_parser("user", help="clinician accounts")
    verbs = user.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = verbs.add_parser("add", help="create a clinician account (password on stdin)")
    add.add_argument("name")
    add.set_defaults(func=add_user)


def add_user(args: argparse.Namespace, context: Any) -> int:
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {args.name}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        password_hash = hash_password(password)
        conn = db.connect(context.data_dir / db.DB_FILE)
        try:
            records.add_clinician(conn, args.name, password_hash)
        finally:
            conn.close()
    except (PasswordPolicyError, ValueError, db.StoreError) as exc:
        print(f"dystonia-box: {exc}", file=sys.stderr)
        return 2
    print(f"clinician account {args.name!r} created in {context.data_dir}")
    return 0
