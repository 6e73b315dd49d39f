"""The simulated twin of camera + key sensors: a synthetic pianist (model_export.synth) plays
each step, and the preview shows the hands' landmarks over a keyboard outline."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from device.session.steps import Step
from device.takefile import Take

HAND_BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10),
              (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17),
              (17, 18), (18, 19), (19, 20))
COLOURS = ("#e8892b", "#1f77b4")  # left, right


class SimulatedRecorder:
    def __init__(self, group: str, seed: int) -> None:
        from model_export.synth.person import sample

        self.seed = seed
        self.person = sample("SIM", group, np.random.default_rng(seed))
        self._step: Step | None = None
        self._participant = "SIM"
        self._count = 0
        self._lock = threading.Lock()
        self._preview: Take | None = None

    def start(self, step: Step, participant: str) -> None:
        self._step, self._participant = step, participant

    def stop(self) -> Take:
        from dataclasses import replace

        from model_export.synth.cohort import Job, make_take

        if self._step is None:
            raise RuntimeError("not recording")
        with self._lock:
            self._count += 1
            job = Job(person=replace(self.person, participant=self._participant), index=0,
                      task=self._step.task, dynamics=self._step.dynamics,
                      mode=self._step.tempo_mode, repetition=self._count,
                      repetitions=self._count + 1, seed=self.seed, out=Path("."))
            self._step = None
            return make_take(job)

    def preview(self) -> tuple[bytes, str]:
        """An SVG frame of the simulated hands, moving as the pianist plays task 1."""
        with self._lock:
            if self._preview is None:
                from model_export.synth.cohort import Job, make_take

                job = Job(self.person, 0, 1, "pp", "fixed", 0, 1, self.seed, Path("."))
                self._preview = make_take(job)
        take = self._preview
        frame = int(time.monotonic() * 30) % take.n_frames
        return preview_svg(take.landmarks[frame], take.image_size).encode(), "image/svg+xml"


def preview_svg(hands: np.ndarray, image_size: tuple[int, int]) -> str:
    width, height = image_size
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">',
             f'<rect width="{width}" height="{height}" fill="#20252b"/>',
             f'<rect x="0" y="{height * 0.35:.0f}" width="{width}" height="{height * 0.3:.0f}" '
             'fill="#f4f1ea"/>',
             '<text x="12" y="28" fill="#fff" font-size="22">simulated camera</text>']
    for index, hand in enumerate(hands):
        if np.isnan(hand).any():
            continue
        xy = hand[:, :2] * (width, height)
        for a, b in HAND_BONES:
            parts.append(f'<line x1="{xy[a, 0]:.1f}" y1="{xy[a, 1]:.1f}" x2="{xy[b, 0]:.1f}" '
                         f'y2="{xy[b, 1]:.1f}" stroke="{COLOURS[index]}" stroke-width="4"/>')
    parts.append("</svg>")
    return "".join(parts)
