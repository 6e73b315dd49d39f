"""``dystonia-box score TAKE.npz... [--models MODELDIR] [--json]`` (contract 2)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from device import takefile
from device.commands.take import settings_from
from device.screening import models as models_mod
from device.screening.key_timing import KeyTimingScore
from device.screening.score import TakeScore, score_take

log = logging.getLogger(__name__)


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("score", help="score take files with the autoencoder models")
    p.add_argument("files", nargs="+", metavar="TAKE.npz")
    p.add_argument("--models", type=Path, default=None,
                   help="exported model directory (default: the configured or shipped models)")
    p.add_argument("--json", action="store_true", help="one JSON object per take, per line")
    p.set_defaults(func=run)


def curl_words(score_ratio: dict[str, float] | None, finger: str) -> str:
    """", curl 5.5x": the curl score's ratio of the named finger, when it has one."""
    if not score_ratio or finger not in score_ratio:
        return ""
    return f", curl {score_ratio[finger]:.1f}x"


def describe(score: TakeScore) -> str:
    unscored = [hand for hand, result in score.hands.items() if result is None]
    verdict = {True: "ABNORMAL", False: "normal", None: "not scored"}[score.abnormal]
    if score.abnormal is False and unscored:  # one-sided dystonia may be in the other hand
        verdict += f" ({' and '.join(unscored)} hand not scored)"
    lines = [f"{score.file}: task {score.task}: {verdict}"]
    for hand, result in score.hands.items():
        if result is None:
            lines.append(f"  {hand}: not scored: {score.reasons.get(hand, '')}")
            continue
        ex = result.explanation
        where = ex.as_dict(result.window_s or score.window_s).get("worst_window_s")
        moment = f" at {where[0]:.1f}-{where[1]:.1f} s" if where else ""
        lines.append(
            f"  {hand}: error {result.error:.4g} / threshold {result.threshold:.4g} = "
            f"{result.severity:.2f} -> {'abnormal' if result.abnormal else 'normal'}; "
            f"most unusual: {ex.worst_finger} ({ex.finger_ratio[ex.worst_finger]:.1f}x healthy"
            f"{curl_words(ex.score_ratio, ex.worst_finger)}){moment}"
        )
        lines += [f"  {hand}: {finding}" for finding in result.findings(hand)]
    for hand, keys in score.key_timing.items():
        if isinstance(keys, KeyTimingScore):
            lines.append(f"  {hand} key timing: latest finger {keys.finger}, z {keys.score:.2f} / "
                         f"threshold {keys.threshold:.2f} -> {'LATE' if keys.late else 'even'}")
        else:
            lines.append(f"  {hand} key timing: not judged: {keys}")
    return "\n".join(lines)


def run(args: argparse.Namespace, context: Any) -> int:
    chosen = args.models or context.config["screening"]["models_dir"] or None
    try:
        models = models_mod.load(Path(chosen) if chosen else None)
    except models_mod.ModelError as exc:
        print(f"dystonia-box: {exc}", file=sys.stderr)
        return 2
    if not args.json and not models.clinical_use:
        print(f"models {models.id}: trained on {models.trained_on} data, not for clinical use")
    settings = settings_from(context)
    status = 0
    for path in args.files:
        try:
            take = takefile.read(path)
        except takefile.TakeFileError as exc:
            print(f"dystonia-box: {exc}", file=sys.stderr)
            status = 2
            continue
        try:
            score = score_take(take, models, path, settings)
            # NaN or Infinity would make the line invalid JSON: refuse rather than print it
            line = json.dumps(score.as_contract(), allow_nan=False) if args.json \
                else describe(score)
        except Exception as exc:  # one line per file; the other files are still scored
            log.debug("scoring %s failed", path, exc_info=True)
            print(f"dystonia-box: {path}: could not be scored ({type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else 'no details'})", file=sys.stderr)
            status = 2
            continue
        print(line, flush=True)
    return status
