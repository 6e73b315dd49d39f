"""``dystonia-box analyze VIDEO [--keys KEYS.mid] [--models MODELDIR] --task N -o TAKE.npz``.

Video file (and optionally a MIDI file of the same performance, its time 0 at the video's
first frame) to a take file through the on-box landmark pipeline (contract 2). Exit 2 with a
one-line message naming what was wrong; no take is written then.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from device import takefile
from device.vision.analyze import DEFAULT_VARIANT, AnalyzeError, analyze_to_file
from device.vision.models import DEFAULT_LANDMARK_PRECISION, DEFAULT_PALM_PRECISION, PRECISIONS


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze", help="turn a video of a task into a take file (hand landmarks and keys)",
        description="Finds both hands in every frame of VIDEO with the landmark models and "
        "writes a take file (contract 1). With --keys, the key events come from a MIDI file "
        "recorded with the video (its time 0 at the video's first frame).")
    p.add_argument("video", type=Path, help="video file (any format OpenCV reads)")
    p.add_argument("--keys", type=Path, help="MIDI file of the same performance")
    p.add_argument("--models", type=Path,
                   help="landmark models (default: [vision] models_dir, else the installed ones)")
    p.add_argument("--task", type=int, required=True, help="the protocol task played (1-11)")
    p.add_argument("-o", "--output", type=Path, required=True, help="take file to write")
    p.add_argument("--tempo-mode", choices=takefile.TEMPO_MODES, default="fixed")
    p.add_argument("--dynamics", choices=takefile.DYNAMICS, default="pp")
    p.add_argument("--participant", help="participant id for the take (default: video name)")
    p.add_argument("--variant", default=None,
                   help=f"landmark model variant (default: [vision] variant, {DEFAULT_VARIANT})")
    p.add_argument("--palm-precision", choices=PRECISIONS, default=None,
                   help="palm detector precision (default: [vision] palm_precision, "
                        f"{DEFAULT_PALM_PRECISION})")
    p.add_argument("--landmark-precision", choices=PRECISIONS, default=None,
                   help="hand landmark model precision (default: [vision] landmark_precision, "
                        f"{DEFAULT_LANDMARK_PRECISION})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, context: Any) -> int:
    vision = context.config["vision"]
    models = args.models or (Path(vision["models_dir"]) if vision["models_dir"] else None)
    last = -1

    def progress(done: int, total: int) -> None:
        nonlocal last
        percent = 100 * done // total if total else -1
        if percent != last and percent % 10 == 0:
            print(f"analyze: {percent} % of {total} frames", file=sys.stderr, flush=True)
            last = percent

    try:
        out = analyze_to_file(args.video, args.output, models, args.task, args.keys,
                              progress, participant=args.participant,
                              tempo_mode=args.tempo_mode, dynamics=args.dynamics,
                              variant=args.variant or vision["variant"],
                              palm_precision=args.palm_precision or vision["palm_precision"],
                              landmark_precision=(args.landmark_precision
                                                  or vision["landmark_precision"]))
    except AnalyzeError as error:
        print(f"dystonia-box analyze: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0
