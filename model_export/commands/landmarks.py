"""``landmarks --out MODELDIR``: MediaPipe's hand models, folded to float32 and quantised."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEFAULT_CACHE = Path.home() / ".cache" / "dystonia-box" / "wheels"


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "landmarks", help="hand models from the pinned mediapipe wheel: float16, float32, int8, "
                          "with a card of their accuracy and speed")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"where the downloaded wheel is kept (default {DEFAULT_CACHE})")
    p.add_argument("--video", type=Path, default=SHARED_DATA / "piano_right_hand.mp4",
                   help="real hand video: even frames calibrate, odd frames evaluate")
    p.add_argument("--photos", type=Path, default=SHARED_DATA / "hands",
                   help="folder of annotated hand photos added to the calibration set")
    p.add_argument("--no-photos", action="store_true", help="calibrate on the video only")
    p.add_argument("--every", type=positive, default=2,
                   help="use frame pairs (k, k+1) for k a multiple of this (default 2: all)")
    p.add_argument("--repeats", type=positive, default=50,
                   help="timed inferences per model variant")
    p.add_argument("--arch", choices=("x86_64", "aarch64"), default="x86_64",
                   help="which pinned wheel to download (the models are the same)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device.vision.sources import VideoError
    from model_export.landmarks import build
    from model_export.landmarks.fold import FoldError
    from model_export.landmarks.wheel import WheelError

    photos = None if args.no_photos else args.photos
    for path, what in ((args.video, "--video"), (photos, "--photos")):
        if path is not None and not path.exists():
            print(f"landmarks: {what} {path} does not exist", file=sys.stderr)
            return 2
    settings = build.Settings(out=args.out, cache=args.cache, video=args.video, photos=photos,
                              every=args.every, repeats=args.repeats, arch=args.arch)
    try:
        card = build.build(settings)
    except (WheelError, FoldError, build.BuildError, VideoError, ValueError) as exc:
        print(f"landmarks: {exc}", file=sys.stderr)
        return 2
    print(table(card))
    print(f"wrote {args.out / build.CARD}")
    return 0


def table(card: dict[str, Any]) -> str:
    """One line per variant: size, speed, landmark error against float32 (for a palm
    detector: through the crop it gives), as a fraction of hand size."""
    lines = [f"{'file':34} {'MB':>6} {'ms median/fastest':>17}  "
             "landmark error vs float32 (mean / p95)"]
    for v in card["variants"]:
        accuracy = v.get("accuracy_vs_float32", {})
        error = accuracy.get("landmark_error_of_hand_size") or accuracy.get(
            "landmark_error_of_hand_size_through_crop")
        shown = f"{error['mean']:.4f} / {error['p95']:.4f}" if error else "reference"
        speed = f"{v['ms_per_inference']:.2f} / {v['ms_per_inference_fastest']:.2f}"
        lines.append(f"{v['file']:34} {v['bytes'] / 1e6:6.2f} {speed:>17}  {shown}")
    return "\n".join(lines)



