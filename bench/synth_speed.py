"""How fast the synthetic cohort is made, beside writing the same takes without making them.

    .venv/bin/python bench/synth_speed.py [--healthy 2 --dystonic 2]

Baseline: writing the already made takes with the take writer (compression, atomic
rename), i.e. the floor that any generator pays. Figures: making and writing them in one
process, and with two worker processes (`synth`'s default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from device import takefile
from model_export.synth import cohort


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", type=int, default=2)
    parser.add_argument("--dystonic", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tasks = range(1, 12)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        people = cohort.participants(args.healthy, args.dystonic, args.seed)
        jobs = list(cohort.jobs(people, tasks, 1, args.seed, out / "one"))
        takes = [cohort.make_take(job) for job in jobs]
        start = time.perf_counter()
        for job, take in zip(jobs, takes, strict=True):
            takefile.write(out / "floor" / job.name, take)
        floor = time.perf_counter() - start
        timings = {}
        for workers in (1, 2):
            start = time.perf_counter()
            cohort.write_cohort(out / f"w{workers}", args.healthy, args.dystonic, args.seed,
                                tasks, 1, workers)
            timings[workers] = time.perf_counter() - start
    n = len(jobs)
    print(f"{n} takes ({args.healthy}+{args.dystonic} participants, 11 tasks, 2 dynamics, "
          "2 tempo modes)")
    print(f"{'':34s} {'s total':>8s} {'ms/take':>8s} {'x baseline':>11s}")
    rows = (("baseline: write made takes", floor), ("make + write, 1 process", timings[1]),
            ("make + write, 2 processes", timings[2]))
    for name, seconds in rows:
        print(f"{name:34s} {seconds:8.2f} {1000 * seconds / n:8.1f} {seconds / floor:11.2f}")
    per_take = timings[2] / n
    print(f"projected 20+16 cohort (1584 takes) with 2 processes: {per_take * 1584:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
