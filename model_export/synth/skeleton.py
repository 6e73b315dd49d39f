"""A 21-landmark hand skeleton (MediaPipe's landmark order) and its forward kinematics.

Hand frame, for a right hand palm down: x towards the little finger, y along the middle
finger, z out of the back of the hand; origin at the wrist landmark. A left hand is the
mirror image, made by the caller. Lengths are fractions of hand length (wrist crease to
middle fingertip) after Buchholz, Armstrong & Goldstein (1992), J. Biomech. 25:149, with the
thumb shortened and the knuckles spread to where MediaPipe puts its landmarks (checked
against MediaPipe on a real video: bench/synth_realism.py).

Each digit is a chain of three links from a base (the MCP joint of a finger, the CMC joint
of the thumb) with one abduction angle about the base's normal and three flexion angles
about the (abducted) lateral axis; positive flexion turns the digit towards the palm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIGITS = ("thumb", "index", "middle", "ring", "little")
# landmark indices of each digit's base and its three distal joints (MediaPipe order)
CHAINS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
TIPS = (4, 8, 12, 16, 20)
BONES = ((0, 1), (0, 5), (0, 9), (0, 13), (0, 17),
         *((c[i], c[i + 1]) for c in CHAINS for i in range(3)))

# link lengths / hand length: thumb metacarpal, proximal, distal; fingers proximal,
# middle, distal phalanx
LINKS = np.array([
    [0.205, 0.180, 0.140],
    [0.245, 0.143, 0.097],
    [0.266, 0.170, 0.108],
    [0.244, 0.165, 0.107],
    [0.204, 0.117, 0.093],
])
# base positions / hand length in the hand frame (thumb CMC, then the MCP joints)
BASES = np.array([
    [-0.090, 0.090, -0.035],
    [-0.125, 0.440, -0.010],
    [0.000, 0.456, 0.000],
    [0.108, 0.432, -0.008],
    [0.220, 0.395, -0.025],
])
# rest direction of each digit in the palm plane (degrees from the y axis towards x)
SPLAY_DEG = np.array([-48.0, -7.0, 0.0, 6.0, 14.0])
THUMB_DROOP_DEG = 22.0  # the thumb points down out of the palm plane
THUMB_ROLL = np.array([-0.75, 0.0, 0.66])  # its nail faces outwards: flexion turns it palmwards


@dataclass(frozen=True)
class DigitFrame:
    """Base point and unit axes of one digit: forward, lateral, normal (hand frame, m)."""

    base: np.ndarray  # (3,)
    forward: np.ndarray
    lateral: np.ndarray
    normal: np.ndarray
    links: np.ndarray  # (3,) link lengths in metres


def digit_frames(hand_length: float, proportions: np.ndarray | None = None,
                 splay_deg: np.ndarray | None = None) -> tuple[DigitFrame, ...]:
    """The five digit frames for a hand of ``hand_length`` metres; ``proportions`` (5, 3)
    scales each link (a person's own shape), ``splay_deg`` overrides the rest splay."""
    scale = np.ones((5, 3)) if proportions is None else proportions
    splay = np.radians(SPLAY_DEG if splay_deg is None else splay_deg)
    frames = []
    for i in range(5):
        forward = np.array([np.sin(splay[i]), np.cos(splay[i]), 0.0])
        if i == 0:
            droop = np.radians(THUMB_DROOP_DEG)
            forward = np.array([forward[0] * np.cos(droop), forward[1] * np.cos(droop),
                                -np.sin(droop)])
            normal = THUMB_ROLL - forward * (THUMB_ROLL @ forward)
        else:
            normal = np.array([0.0, 0.0, 1.0])
        normal = normal / np.linalg.norm(normal)
        lateral = np.cross(forward, normal)
        frames.append(DigitFrame(
            base=BASES[i] * hand_length, forward=forward, lateral=lateral, normal=normal,
            links=LINKS[i] * scale[i] * hand_length,
        ))
    return tuple(frames)


def digit_joints(frame: DigitFrame, abduction: np.ndarray, flexion: np.ndarray) -> np.ndarray:
    """(T, 3, 3): the three distal joints of a digit for abduction (T,) and flexion (T, 3)
    in radians, hand frame."""
    ca, sa = np.cos(abduction)[:, None], np.sin(abduction)[:, None]
    forward = ca * frame.forward + sa * frame.lateral  # (T, 3)
    total = np.cumsum(flexion, axis=1)  # (T, 3) absolute link angles
    direction = (np.cos(total)[:, :, None] * forward[:, None, :]
                 - np.sin(total)[:, :, None] * frame.normal[None, None, :])
    return frame.base + np.cumsum(frame.links[None, :, None] * direction, axis=1)


def hand_landmarks(frames: tuple[DigitFrame, ...], abduction: np.ndarray,
                   flexion: np.ndarray) -> np.ndarray:
    """(T, 21, 3) landmarks in the hand frame for abduction (T, 5) and flexion (T, 5, 3)."""
    n = abduction.shape[0]
    out = np.zeros((n, 21, 3))
    for i, frame in enumerate(frames):
        out[:, CHAINS[i][0]] = frame.base
        out[:, list(CHAINS[i][1:])] = digit_joints(frame, abduction[:, i], flexion[:, i])
    return out


def rotation(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(T, 3, 3) hand-to-world rotations: yaw about z (towards +x positive), pitch about x
    (fingers down positive, i.e. wrist flexion), roll about y."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    one, zero = np.ones_like(yaw), np.zeros_like(yaw)
    rz = np.stack([np.stack([cy, sy, zero], -1), np.stack([-sy, cy, zero], -1),
                   np.stack([zero, zero, one], -1)], -2)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, sp], -1),
                   np.stack([zero, -sp, cp], -1)], -2)
    ry = np.stack([np.stack([cr, zero, sr], -1), np.stack([zero, one, zero], -1),
                   np.stack([-sr, zero, cr], -1)], -2)
    return rz @ rx @ ry


def bone_lengths(landmarks: np.ndarray) -> np.ndarray:
    """(..., n_bones) lengths of the skeleton's bones."""
    a, b = zip(*BONES, strict=True)
    return np.linalg.norm(landmarks[..., list(b), :] - landmarks[..., list(a), :], axis=-1)
