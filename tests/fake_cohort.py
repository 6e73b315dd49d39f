"""A tiny cohort for screening tests: varied healthy takes and takes whose right index
finger curls, written as take files with a participants.tsv."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device import takefile
from tests.helpers import make_take


def curl(take: takefile.Take, severity: float) -> None:
    """Pull the right hand's index finger joints towards the palm in the take's second half."""
    hand = take.landmarks[:, 1]
    ramp = np.clip((np.arange(take.n_frames) - take.n_frames / 2) / 20, 0, 1)[:, None]
    for joint, pull in ((6, 0.3), (7, 0.6), (8, 0.9)):
        toward = hand[:, 5, :2] - hand[:, joint, :2]
        hand[:, joint, :2] += (severity * pull * ramp * toward).astype(np.float32)


def write_cohort(root: Path, healthy: int, dystonic: int, task: int = 4, seed: int = 0,
                 takes: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    rows = ["participant\tgroup\taffected_hand\tpattern\tseverity"]
    people = [(f"H{i:03d}", "healthy") for i in range(healthy)]
    people += [(f"D{i:03d}", "dystonic") for i in range(dystonic)]
    for pid, group in people:
        severity = float(rng.uniform(0.5, 1.0)) if group == "dystonic" else 0.0
        rows.append(f"{pid}\t{group}\t{'right' if severity else 'none'}\t"
                    f"{'index finger flexion' if severity else 'none'}\t{severity:.2f}")
        for k in range(takes):
            take = make_take(n_frames=int(rng.integers(180, 260)), task=task)
            take.meta.update(participant=pid, generator="tests.fake_cohort/1", seed=seed)
            size = rng.uniform(0.9, 1.1)
            take.landmarks = (take.landmarks - 0.5) * np.float32(size) + np.float32(0.5)
            take.landmarks += rng.normal(0, 0.001, take.landmarks.shape).astype(np.float32)
            if severity:
                curl(take, severity)
            takefile.write(root / f"{pid}_t{task:02d}_{k}.take.npz", take)
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root
