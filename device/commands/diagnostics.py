"""``dystonia-box diagnostics [--out FILE]``: a bundle for support, without patient data."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from device.maintenance import diagnostics


def add_parsers(subparsers: Any) -> None:
    diag = subparsers.add_parser("diagnostics", help="write a support bundle: versions, "
                                 "configuration without secrets, self-test, recent logs")
    diag.add_argument("--out", type=Path, default=None,
                      help="bundle file or folder (default: the current folder)")
    diag.add_argument("--no-journal", action="store_true", help="leave out the system log")
    diag.set_defaults(func=run_diagnostics)


def _selftest(context: Any) -> str:
    """The output of ``dystonia-box selftest``, run in a child process."""
    argv = [sys.executable, "-m", "device", "--data-dir", str(context.data_dir)]
    if context.config.source:
        argv += ["--config", str(context.config.source)]
    try:
        done = subprocess.run([*argv, "selftest"], capture_output=True, text=True,
                              timeout=diagnostics.COMMAND_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return "selftest did not finish in time\n"
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def run_diagnostics(args: argparse.Namespace, context: Any) -> int:
    name = (f"dystonia-diagnostics-{context.config['box']['name']}-"
            f"{time.strftime('%Y%m%d-%H%M%S')}.tar.gz")
    out = args.out or Path.cwd()
    out = out / name if out.is_dir() else out
    parts = diagnostics.collect(context.config, context.data_dir, lambda: _selftest(context),
                                include_journal=not args.no_journal)
    try:
        diagnostics.write_bundle(parts, out)
    except OSError as exc:
        print(f"dystonia-box: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 2
    print(out)
    return 0
