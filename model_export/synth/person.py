"""Who plays: one participant's body, habits, camera mounting and (if any) dystonia.

Healthy and dystonic participants are drawn from the same distributions; only the
dystonia fields differ, so nothing else gives a group away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model_export.synth import dystonia


@dataclass(frozen=True)
class Camera:
    height: float  # metres above the white keys' top
    offset: np.ndarray  # (2,) x, y of the point under the lens (m)
    roll: float  # rotation about the optical axis (rad)
    tilt: np.ndarray  # (2,) small tilts about the image x and y axes (rad)


@dataclass(frozen=True)
class Person:
    participant: str
    group: str  # healthy / dystonic
    affected_hand: str  # left / right / none
    pattern: str  # a key of dystonia.PATTERNS, or "none"
    severity: float  # 0 healthy .. 1 marked
    hand_length: float  # m, wrist crease to middle fingertip
    proportions: np.ndarray  # (2, 5, 3) per hand, per digit link scale
    splay_deg: np.ndarray  # (2, 5)
    coupling: float  # DIP/PIP flexion ratio
    rest_flexion: np.ndarray  # (5, 2) radians: base and middle joint of each relaxed digit
    wrist_height: float  # m above the white keys
    wrist_pitch: float  # rad, positive = fingers down
    wrist_roll: float  # rad
    hover: float  # m, fingertip height above the keys between strokes
    lift: dict[str, float]  # m, extra lift before a stroke per dynamics
    velocity: dict[str, float]  # mean key velocity per dynamics
    jitter: float  # s, SD of onset timing
    fastest_factor: float  # fastest tempo / fixed tempo
    legato: float  # key hold / inter-onset interval
    camera: Camera


def sample(participant: str, group: str, rng: np.random.Generator) -> Person:
    if group == "dystonic":
        names = list(dystonia.TABLE1_COUNTS)
        weights = np.array([dystonia.TABLE1_COUNTS[n] for n in names], dtype=float)
        pattern = str(rng.choice(names, p=weights / weights.sum()))
        affected = "right" if rng.random() < dystonia.AFFECTED_RIGHT_SHARE else "left"
        severity = float(np.round(rng.uniform(0.05, 1.0), 3))
    else:
        pattern, affected, severity = "none", "none", 0.0
    hand_length = float(np.clip(rng.normal(0.19, 0.013), 0.16, 0.22))
    own_shape = rng.normal(1.0, 0.035, (5, 3))
    proportions = own_shape[None] * rng.normal(1.0, 0.008, (2, 5, 3))  # hands nearly alike
    rest = np.radians(np.vstack([rng.normal([8.0, 20.0], 5.0, (1, 2)),
                                 rng.normal([30.0, 45.0], [6.0, 8.0], (4, 2))]))
    camera = Camera(
        height=rng.uniform(0.95, 1.05), offset=rng.normal(0.0, 0.02, 2),
        roll=np.radians(rng.normal(0.0, 2.0)), tilt=np.radians(rng.normal(0.0, 1.5, 2)),
    )
    return Person(
        participant=participant, group=group, affected_hand=affected, pattern=pattern,
        severity=severity, hand_length=hand_length, proportions=proportions,
        splay_deg=np.array([-48.0, -7.0, 0.0, 6.0, 14.0]) + rng.normal(0, 2.5, (2, 5)),
        coupling=rng.uniform(0.6, 0.8), rest_flexion=rest,
        wrist_height=rng.uniform(0.045, 0.075), wrist_pitch=np.radians(rng.normal(-6, 4)),
        wrist_roll=np.radians(rng.normal(4, 3)), hover=rng.uniform(0.006, 0.018),
        lift={"pp": rng.uniform(0.003, 0.008), "ff": rng.uniform(0.010, 0.022)},
        velocity={"pp": rng.uniform(0.18, 0.35), "ff": rng.uniform(0.72, 0.9)},
        jitter=rng.uniform(0.005, 0.016), fastest_factor=rng.uniform(1.4, 2.0),
        legato=rng.uniform(0.85, 1.0), camera=camera,
    )
