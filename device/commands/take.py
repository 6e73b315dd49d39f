"""``dystonia-box take check FILE...``: read take files and show how they will be prepared."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from device import takefile
from device.kinematics.errors import TakeUnusableError
from device.kinematics.prepare import Settings, prepare


def add_parsers(subparsers: Any) -> None:
    take = subparsers.add_parser("take", help="work with take files (*.take.npz)")
    verbs = take.add_subparsers(dest="verb", metavar="VERB", required=True)
    check = verbs.add_parser(
        "check", help="check take files against the format and show their preparation"
    )
    check.add_argument("files", nargs="+", metavar="TAKE.npz")
    check.set_defaults(func=check_takes)


def settings_from(context: Any) -> Settings:
    screening = context.config["screening"]
    return Settings(
        max_gap_s=screening["max_gap_s"],
        max_missing_fraction=screening["max_missing_fraction"],
    )


def check_takes(args: argparse.Namespace, context: Any) -> int:
    """Exit 0 when every file was read, 2 at the first file that breaks the format."""
    settings = settings_from(context)
    for path in args.files:
        try:
            take = takefile.read(path)
        except takefile.TakeFileError as exc:
            print(f"dystonia-box: {exc}", file=sys.stderr)
            return 2
        head = (f"{path}: task {take.task}, {take.n_frames} frames, "
                f"{take.keys.shape[0]} key events, participant {take.meta['participant']}")
        try:
            prepared = prepare(take, settings)
        except TakeUnusableError as exc:
            print(f"{head}; cannot be scored: {exc}")
            continue
        start, end = prepared.window
        print(f"{head}; playing {start:.2f}-{end:.2f} s (from {prepared.trimmed_by})")
        for hand in prepared.hands.values():
            if hand.data is None:
                print(f"  {hand.hand}: cannot be scored: {hand.reason}")
            else:
                first, last = hand.window or prepared.window
                noise = ("" if hand.tracking_noise is None else
                         f", tracking noise {100 * hand.tracking_noise:.2f} % of the palm")
                left_out = [f"{hand.n_other_hand} of them held the other hand"] \
                    if hand.n_other_hand else []
                if hand.n_displaced:
                    left_out.append(f"{hand.n_displaced} put the whole hand somewhere else")
                swapped = f" ({'; '.join(left_out)})" if left_out else ""
                print(f"  {hand.hand}: ok, plays {first:.2f}-{last:.2f} s, {hand.n_frames} "
                      f"frames, {hand.n_filled} filled in{swapped}{noise}")
    return 0
