"""Small builders shared by the tests: a valid take with a plausible moving hand."""

from __future__ import annotations

import numpy as np

from device.takefile import Take

# A right hand in normalised image coordinates (1280x720), palm down, fingers pointing up.
_BASE_RIGHT = np.array(
    [
        [0.000, 0.000], [-0.035, -0.030], [-0.055, -0.060], [-0.068, -0.085], [-0.078, -0.105],
        [-0.022, -0.110], [-0.025, -0.160], [-0.027, -0.190], [-0.028, -0.215],
        [0.000, -0.115], [0.000, -0.170], [0.000, -0.205], [0.000, -0.230],
        [0.020, -0.108], [0.022, -0.158], [0.023, -0.190], [0.024, -0.212],
        [0.038, -0.095], [0.042, -0.135], [0.044, -0.160], [0.045, -0.180],
    ]
)


def hand_frames(t: np.ndarray, wrist_x: float, *, mirror: bool = False) -> np.ndarray:
    """(T, 21, 3) float32: a hand whose fingers oscillate, wrist travelling slowly in x."""
    base = _BASE_RIGHT.copy()
    base[:, 0] *= 720 / 1280  # keep the shape square in pixels
    if mirror:
        base[:, 0] = -base[:, 0]
    frames = np.zeros((t.size, 21, 3), dtype=np.float64)
    frames[:, :, :2] = base[None]
    travel = 0.02 * np.sin(0.5 * t)[:, None]  # contrary motion: the mirror travels the other way
    frames[:, :, 0] += wrist_x + (-travel if mirror else travel)
    frames[:, :, 1] += 0.75
    tips = [4, 8, 12, 16, 20]
    for k, tip in enumerate(tips):
        frames[:, tip, 1] += 0.01 * np.sin(2 * np.pi * 3 * t + k)
        frames[:, tip, 2] = -0.02 * (1 + np.sin(2 * np.pi * 3 * t + k))
    return frames.astype(np.float32)


def make_take(n_frames: int = 240, fps: float = 60.0, task: int = 1, with_keys: bool = True,
              t0: float = 10.0) -> Take:
    t = t0 + np.arange(n_frames, dtype=np.float64) / fps
    landmarks = np.stack([hand_frames(t, 0.35, mirror=True), hand_frames(t, 0.6)], axis=1)
    if with_keys:
        # both hands strike mirror-image keys (C4 right, E3 left) at the same times
        onsets = np.repeat(np.linspace(t[20], t[-40], 12), 2)
        notes = np.tile([60.0, 52.0], 12)
        keys = np.stack([notes, onsets, onsets + 0.15, np.full(24, 0.5)], axis=1)
    else:
        keys = np.zeros((0, 4), dtype=np.float64)
    meta = {"tempo_bpm": 100, "tempo_mode": "fixed", "dynamics": "pp", "participant": "P001",
            "source": "synthetic"}
    return Take(task=task, t=t, landmarks=landmarks, image_size=(1280, 720), keys=keys,
                meta=meta)
