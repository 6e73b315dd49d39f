"""The synthetic cohort beside MediaPipe on a real video: are the hands alike?

First make the real reference (MediaPipe's own pipeline, in its own environment):
    py=$(bash bench/mediapipe_env.sh)
    $py bench/mediapipe_reference.py /work/shared/data/piano_right_hand.mp4 -o /tmp/real.take.npz
then:
    .venv/bin/python bench/synth_realism.py --real /tmp/real.take.npz

The real video is 30 fps, 848x480, filmed from the player's side and above, one right hand;
the synthetic takes are 60 fps, 1280x720, top-down. So only quantities that do not depend
on the view are compared: lengths as ratios to the palm (wrist to middle-finger MCP, with
MediaPipe's z), speeds in palms per second, jitter in palms, and the synthetic takes are
thinned to 30 fps first. Each synthetic figure is printed beside the real one (the
baseline) with their ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from device import takefile

FINGERS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
           "ring": (13, 14, 15, 16), "little": (17, 18, 19, 20)}
TIPS = [4, 8, 12, 16, 20]
STEADY = [0, 1, 5, 9, 13, 17]  # wrist and digit bases


def pixels3d(take: takefile.Take, hand: int) -> np.ndarray:
    """(T, 21, 3) in pixels, z in x's scale as MediaPipe gives it."""
    width, height = take.image_size
    return take.landmarks[:, hand].astype(np.float64) * np.array([width, height, width])


def playing(take: takefile.Take) -> np.ndarray:
    if take.keys.shape[0] == 0:
        return np.ones(take.n_frames, dtype=bool)
    return (take.t >= take.keys[:, 1].min()) & (take.t <= take.keys[:, 2].max())


def measures(take: takefile.Take, hand: int, step: int) -> dict[str, float]:
    """The compared quantities for one hand of one take, thinned to every ``step`` frame."""
    p = pixels3d(take, hand)
    window = playing(take)
    found = ~np.isnan(p[:, 0, 0])
    out = {"missed-frame rate": float(1.0 - found[window].mean())}
    p, t = p[::step], take.t[::step]
    palm = np.nanmedian(np.linalg.norm(p[:, 9] - p[:, 0], axis=-1))
    for name, chain in FINGERS.items():
        length = sum(np.linalg.norm(p[:, b] - p[:, a], axis=-1)
                     for a, b in itertools.pairwise(chain))
        out[f"{name} length / palm"] = float(np.nanmedian(length) / palm)
    out["palm width / palm"] = float(np.nanmedian(np.linalg.norm(p[:, 17] - p[:, 5], axis=-1))
                                     / palm)
    xy = p[..., :2]
    speed = np.linalg.norm(np.diff(xy[:, TIPS], axis=0), axis=-1) / np.diff(t)[:, None] / palm
    keep = window[::step][1:]
    out["tip speed median, palm/s"] = float(np.nanmedian(speed[keep]))
    out["tip speed 90th pct, palm/s"] = float(np.nanpercentile(speed[keep], 90))
    second = xy[1:-1] - 0.5 * (xy[:-2] + xy[2:])
    for name, marks in (("bases", STEADY), ("tips", TIPS)):
        residual = second[:, marks].reshape(-1)
        residual = residual[~np.isnan(residual)]
        mad = np.median(np.abs(residual - np.median(residual)))
        out[f"jitter at {name}, palm"] = float(1.4826 * mad / palm)
    depth = p[:, TIPS, 2] - p[:, [0], 2]
    out["tip depth below wrist, palm"] = float(np.nanmedian(depth) / palm)
    return out


def average(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    rows = list(rows)
    out = {k: float(np.nanmedian([r[k] for r in rows])) for k in rows[0]}
    out["missed-frame rate"] = float(np.mean([r["missed-frame rate"] for r in rows]))
    return out


def synthetic_takes(cohort: Path | None, seed: int, people: int,
                    tasks: tuple[int, ...]) -> list[takefile.Take]:
    if cohort is not None:
        return [takefile.read(p) for p in sorted(cohort.glob("*.take.npz"))]
    from model_export.synth import cohort as synth

    persons = synth.participants(people, 0, seed)
    jobs = synth.jobs(persons, tasks, 1, seed, Path("."))
    return [synth.make_take(job) for job in jobs]


def slow_melody_takes(seed: int, people: int, notes_per_second: float) -> list[takefile.Take]:
    """The five-finger pattern (task 6) played slowly, as the video's melody is."""
    from device import protocol
    from model_export.synth import cohort as synth

    task = protocol.load().task(6)
    slow = dataclasses.replace(task, fixed_bpm=notes_per_second * 60 * task.beats_per_event)
    takes = []
    for i, person in enumerate(synth.participants(people, 0, seed)):
        for dynamics in synth.DYNAMICS:
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, 99)))
            takes.append(synth.render(slow, person, dynamics, "fixed", rng, seed))
    return takes


def table(rows: list[tuple[str, dict[str, float]]], baseline: dict[str, float]) -> None:
    names = [name for name, _ in rows]
    print(f"{'quantity':30s} {'real':>8s} " + " ".join(f"{n:>16s}" for n in names))
    for key, value in baseline.items():
        cells = []
        for _, figures in rows:
            ratio = figures[key] / value if value else float("nan")
            cells.append(f"{figures[key]:8.4f} ({ratio:4.2f}x)")
        print(f"{key:30s} {value:8.4f} " + " ".join(f"{c:>16s}" for c in cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, required=True, help="MediaPipe take of the video")
    parser.add_argument("--cohort", type=Path, help="synthetic takes (default: make some)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--tasks", default="1,2,3,4,5,6")
    parser.add_argument("--slow-rate", type=float, default=2.0,
                        help="notes per second of the slow synthetic melody (default 2)")
    args = parser.parse_args()
    real = takefile.read(args.real)
    real_fps = 1.0 / np.median(np.diff(real.t))
    baseline = measures(real, 1, 1)
    takes = synthetic_takes(args.cohort, args.seed, args.people,
                            tuple(int(n) for n in args.tasks.split(",")))
    slow = slow_melody_takes(args.seed, args.people, args.slow_rate)
    columns = []
    for name, group in (("protocol tasks", takes), (f"melody {args.slow_rate:g}/s", slow)):
        rows = []
        for take in group:
            step = max(1, round(1.0 / np.median(np.diff(take.t)) / real_fps))
            rows.extend(measures(take, hand, step) for hand in (0, 1))
        columns.append((name, average(rows)))
    print(f"real: {args.real} ({real.n_frames} frames at {real_fps:.0f} fps, right hand); "
          f"synthetic: {len(takes)} protocol takes (tasks {args.tasks}) and {len(slow)} takes "
          f"of a slow five-finger melody, both hands, thinned to {real_fps:.0f} fps. "
          "Medians over takes and hands (missed-frame rate: mean); ratio to real in brackets.")
    table(columns, baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
