"""Inverse kinematics of one digit: joint angles that put its tip on a target.

The two distal flexions are coupled (the DIP joint follows the PIP joint, as in real
fingers; the thumb's IP follows its MCP), so a target fixes the angles uniquely: the
abduction from the target's direction, the distal flexion from its distance (looked up
on the chain's monotone length curve), the base flexion from its elevation.
"""

from __future__ import annotations

import numpy as np

from model_export.synth.skeleton import DigitFrame

MAX_DISTAL_FLEXION = np.radians(110.0)
_GRID = np.linspace(0.0, MAX_DISTAL_FLEXION, 256)


def chain_in_plane(links: np.ndarray, distal: np.ndarray, coupling: float) -> np.ndarray:
    """(..., 2) tip of the chain (forward, palmward) with base flexion 0."""
    angles = np.stack([np.zeros_like(distal), distal, distal * (1.0 + coupling)], axis=-1)
    return np.stack([(links * np.cos(angles)).sum(-1), (links * np.sin(angles)).sum(-1)], -1)


def length_curve(links: np.ndarray, coupling: float) -> np.ndarray:
    """Distance from base to tip along the distal-flexion grid (decreasing)."""
    tips = chain_in_plane(links, _GRID, coupling)
    return np.hypot(tips[:, 0], tips[:, 1])


def solve(frame: DigitFrame, target: np.ndarray, coupling: float,
          max_abduction: float, curve: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Abduction (T,) and flexions (T, 3) that bring the tip to ``target`` (T, 3), hand frame.

    Targets out of reach are met as closely as the chain allows (straightened, or
    abduction at its limit). ``curve`` is ``length_curve`` of the digit, if already known.
    """
    q = target - frame.base
    along = q @ frame.forward
    side = q @ frame.lateral
    abduction = np.clip(np.arctan2(side, along), -max_abduction, max_abduction)
    forward = np.cos(abduction)[:, None] * frame.forward + np.sin(abduction)[:, None] * \
        frame.lateral
    reach_fwd = np.einsum("ij,ij->i", q, forward)
    reach_down = -(q @ frame.normal)
    distance = np.hypot(reach_fwd, reach_down)
    lengths = length_curve(frame.links, coupling) if curve is None else curve
    distal = np.interp(distance, lengths[::-1], _GRID[::-1])
    tip = chain_in_plane(frame.links, distal, coupling)
    base = np.arctan2(reach_down, reach_fwd) - np.arctan2(tip[:, 1], tip[:, 0])
    flexion = np.stack([base, distal, distal * coupling], axis=-1)
    return abduction, flexion
