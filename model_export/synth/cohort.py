"""A synthetic cohort on disk: ``participants.tsv`` and one take file per condition.

Participants get neutral pseudonyms (P001, P002, ...) in an order shuffled independently
of their group, so neither a file name nor a take's ``meta`` tells healthy from dystonic;
the labels are only in ``participants.tsv`` (contract 2).

Every random draw comes from a ``numpy.random.SeedSequence`` keyed by the cohort seed and
what is drawn (participant, task, dynamics, tempo mode, repetition), so a take is the same
whichever worker makes it and in whatever order: the same seed gives the same files.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device import protocol, takefile
from device.atomic import write_bytes
from model_export.synth import GENERATOR_VERSION, camera, performance
from model_export.synth.person import Person, sample

DYNAMICS = ("pp", "ff")
TEMPO_MODES = ("fixed", "fastest")
TSV_COLUMNS = ("participant", "group", "affected_hand", "pattern", "severity")
_SHUFFLE_KEY = 2**32 - 1


@dataclass(frozen=True)
class Job:
    person: Person
    index: int
    task: int
    dynamics: str
    mode: str
    repetition: int
    repetitions: int
    seed: int
    out: Path

    @property
    def name(self) -> str:
        rep = f"_r{self.repetition + 1}" if self.repetitions > 1 else ""
        return (f"{self.person.participant}_t{self.task:02d}_{self.dynamics}_{self.mode}"
                f"{rep}.take.npz")


def participants(healthy: int, dystonic: int, seed: int) -> list[Person]:
    groups = ["healthy"] * healthy + ["dystonic"] * dystonic
    order = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SHUFFLE_KEY,)))
    order.shuffle(groups)
    return [sample(f"P{i + 1:03d}", group,
                   np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,))))
            for i, group in enumerate(groups)]


def make_take(job: Job) -> takefile.Take:
    key = (job.index, job.task, DYNAMICS.index(job.dynamics), TEMPO_MODES.index(job.mode),
           job.repetition)
    rng = np.random.default_rng(np.random.SeedSequence(job.seed, spawn_key=key))
    return render(protocol.load().task(job.task), job.person, job.dynamics, job.mode, rng,
                  job.seed)


def render(task: protocol.Task, person: Person, dynamics: str, mode: str,
           rng: np.random.Generator, seed: int) -> takefile.Take:
    """One take of ``task`` as the camera and the landmark tracker would record it."""
    plan = performance.plan(task, person, dynamics, mode, rng)
    hands = []
    for hand in (0, 1):
        world = performance.hand_motion(plan, hand, plan.t).landmarks
        image = camera.project(world, person.camera)
        hands.append(camera.observe(image, camera.Tracker.sample(rng), rng))
    meta = {
        "tempo_bpm": task.fixed_bpm if mode == "fixed" else round(plan.tempo_bpm, 1),
        "tempo_mode": mode, "dynamics": dynamics, "participant": person.participant,
        "source": "synthetic", "generator": GENERATOR_VERSION, "seed": seed,
    }
    return takefile.Take(
        task=task.number, t=plan.t, landmarks=np.stack(hands, axis=1).astype(np.float32),
        image_size=camera.IMAGE_SIZE, keys=plan.keys, meta=meta,
    )


def write_job(job: Job) -> Path:
    return takefile.write(job.out / job.name, make_take(job))


def jobs(people: list[Person], tasks: Iterable[int], repetitions: int, seed: int,
         out: Path) -> Iterator[Job]:
    for index, person in enumerate(people):
        for task in tasks:
            for dynamics in DYNAMICS:
                for mode in TEMPO_MODES:
                    for rep in range(repetitions):
                        yield Job(person, index, task, dynamics, mode, rep, repetitions,
                                  seed, out)


def participants_tsv(people: list[Person]) -> str:
    lines = ["\t".join(TSV_COLUMNS)]
    lines += [f"{p.participant}\t{p.group}\t{p.affected_hand}\t{p.pattern}\t{p.severity:.3f}"
              for p in people]
    return "\n".join(lines) + "\n"


def write_cohort(out: Path, healthy: int, dystonic: int, seed: int, tasks: Iterable[int],
                 repetitions: int = 1, workers: int = 2) -> list[Path]:
    """Write the cohort into ``out``; returns the take files written."""
    out.mkdir(parents=True, exist_ok=True)
    people = participants(healthy, dystonic, seed)
    work = list(jobs(people, list(tasks), repetitions, seed, out))
    if workers > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            written = list(pool.map(write_job, work, chunksize=8))
    else:
        written = [write_job(job) for job in work]
    buffer = io.StringIO(participants_tsv(people))
    write_bytes(out / "participants.tsv", buffer.getvalue().encode("utf-8"))
    return written
