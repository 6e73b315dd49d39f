"""Scoring speed and memory: the int8 LiteRT model against the float Keras model.

    .venv/bin/python bench/screening_bench.py --models MODELDIR --takes DIR [--task 4]

Prints, from the same run on the same machine and the same prepared hands: milliseconds
per hand for the int8 TFLite model on LiteRT (one thread) and for the float Keras model
(the baseline; when MODELDIR has it), their ratio, milliseconds per take for the whole
scoring path (read, prepare, two hands, explanation), the same takes without key data
(against the path with keys), and the peak resident memory of a `dystonia-box score`
process scoring every take given.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def per_call_ms(fn, items, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - start) / len(items))
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--takes", type=Path, required=True)
    parser.add_argument("--task", type=int, default=4)
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()

    from device import takefile

    files = sorted(args.takes.glob(f"*_t{args.task:02d}_*.take.npz"))[: args.limit]
    if not files:
        files = [f for f in sorted(args.takes.glob("*.take.npz"))
                 if takefile.read(f).task == args.task][: args.limit]
    # Measured before TensorFlow is imported: a child forked from a large parent reports
    # the parent's resident size as its own peak.
    cmd = [sys.executable, "-m", "device", "score", "--models", str(args.models), "--json",
           *map(str, files)]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"dystonia-box score failed (status {status})")
    peak_kib = usage.ru_maxrss

    import tensorflow as tf

    import model_export.screening.model  # noqa: F401  (registers Shift for centred models)
    from device.kinematics.prepare import Settings, prepare
    from device.screening import models as models_mod
    from device.screening import trim_search
    from device.screening.score import judge_key_timing, score_take

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    models = models_mod.load(args.models)
    takes = [takefile.read(f) for f in files]
    as_trained = Settings(representation=models.tasks[args.task].preprocessing)
    hands = [h.data for t in takes for h in prepare(t, as_trained).hands.values()
             if h.data is not None]
    entry = models.card["tasks"][str(args.task)]
    float_path = args.models / str(entry.get("float_file", ""))
    runner = models.tasks[args.task].run()
    int8_ms = per_call_ms(runner, hands)
    float_ms = None
    if entry.get("float_file") and float_path.exists():
        keras_model = tf.keras.models.load_model(float_path)
        float_ms = per_call_ms(lambda h: keras_model(h[None], training=False), hands)
    take_ms = per_call_ms(lambda t: score_take(t, models), takes, repeat=1)
    # the same takes as a box without a key sensor records them: trimmed by the hands'
    # movement and judged at its best window around it (device/screening/trim_search.py)
    bare = [replace(t, keys=np.zeros((0, 4))) for t in takes]
    bare_ms = per_call_ms(lambda t: score_take(t, models), bare, repeat=1)
    # baseline: with a coarse step of 1 the first pass judges every pair of shifts, which is
    # the exhaustive search the coarse-then-fine one replaced
    coarse_step, trim_search.MOTION_COARSE_STEP = trim_search.MOTION_COARSE_STEP, 1
    try:
        exhaustive_ms = per_call_ms(lambda t: score_take(t, models), bare, repeat=1)
    finally:
        trim_search.MOTION_COARSE_STEP = coarse_step
    search = models.tasks[args.task].trim_search
    plain_ms = None
    if search is not None:  # the same models judging each hand over its key window only
        plain = models_mod.load(args.models)
        plain.tasks[args.task].trim_search = None
        plain_ms = per_call_ms(lambda t: score_take(t, plain), takes, repeat=1)
    key_norm = models.tasks[args.task].key_timing
    key_ms = per_call_ms(lambda t: judge_key_timing(t, key_norm), takes) if key_norm else None

    print(f"task {args.task}: {len(hands)} hands from {len(takes)} takes, one thread")
    print(f"int8 LiteRT  {int8_ms:8.3f} ms per hand")
    if float_ms is None:
        print(f"float Keras  not in {args.models} (a training output's float/ holds it; "
              "`python -m model_export float-twin --models COPY` rebuilds it for int8 files "
              "trained onto the int8 grid)")
    else:
        print(f"float Keras  {float_ms:8.3f} ms per hand (baseline)")
        print(f"ratio        {float_ms / int8_ms:8.1f}x faster (int8 over float)")
    print(f"whole scoring path (read, prepare, both hands, explanation"
          f"{', key timing' if key_ms else ''}): {take_ms:.1f} ms/take")
    if key_ms is not None:
        print(f"of which key timing (both hands): {key_ms:.2f} ms/take")
    if plain_ms is not None:
        print(f"of which the trim search ({len(search.end_shifts_s)} more window ends per "
              f"hand): {take_ms - plain_ms:.1f} ms/take; without it {plain_ms:.1f} ms/take")
    pairs = len(trim_search.MOTION_START_SHIFTS_S) * len(trim_search.MOTION_END_SHIFTS_S)
    coarse = (len(trim_search.MOTION_START_SHIFTS_S[::coarse_step])
              * len(trim_search.MOTION_END_SHIFTS_S[::coarse_step]))
    print(f"the same takes without key data (trimmed by the hands' movement, best window "
          f"around it: {coarse} coarse pairs of shifts, then the neighbours of the "
          f"{trim_search.MOTION_REFINED} lowest): {bare_ms:.1f} ms/take, "
          f"{bare_ms / take_ms:.1f}x the path with keys")
    print(f"  exhaustive search of all {pairs} pairs (baseline): {exhaustive_ms:.1f} ms/take; "
          f"coarse then fine is {exhaustive_ms / bare_ms:.1f}x faster")
    print(f"peak memory of `dystonia-box score` on {len(files)} takes: {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
