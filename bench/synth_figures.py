"""Pictures of the synthetic cohort for docs/synthetic.md: healthy against dystonic hands.

Needs matplotlib, which MediaPipe's reference environment already has:
    py=$(bash bench/mediapipe_env.sh); $py bench/synth_figures.py --out docs/img
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from device import protocol
from model_export.synth import (
    camera,
    dystonia,
    keyboard,
    performance,
    person,
    skeleton,
)

DIGIT_COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e")
DIGIT_NAMES = ("thumb", "index", "middle", "ring", "little")


def pianist(pattern: str = "none", severity: float = 0.0, hand: str = "right",
            seed: int = 21) -> person.Person:
    base = person.sample("P000", "healthy", np.random.default_rng(seed))
    if pattern == "none":
        return base
    return dataclasses.replace(base, group="dystonic", pattern=pattern, severity=severity,
                               affected_hand=hand)


def play(p: person.Person, task: int, mode: str = "fixed", dynamics: str = "ff",
         seed: int = 5) -> tuple[performance.TakePlan, list[performance.HandMotion]]:
    take = performance.plan(protocol.load().task(task), p, dynamics, mode,
                            np.random.default_rng(seed))
    return take, [performance.hand_motion(take, h, take.t) for h in (0, 1)]


def draw_keyboard(ax: plt.Axes, mount: person.Camera) -> None:
    width, height = camera.IMAGE_SIZE
    for note in range(36, 97):
        x = float(keyboard.key_x(note))
        black = bool(keyboard.is_black(note))
        half = (keyboard.BLACK_WIDTH if black else keyboard.WHITE_WIDTH) / 2
        y0 = keyboard.WHITE_LENGTH - keyboard.BLACK_LENGTH if black else 0.0
        z = keyboard.BLACK_HEIGHT if black else 0.0
        corners = np.array([[x - half, y0, z], [x + half, y0, z],
                            [x + half, keyboard.WHITE_LENGTH, z],
                            [x - half, keyboard.WHITE_LENGTH, z]])
        img = camera.project(np.concatenate([corners, corners[:1]])[None], mount)[0]
        ax.fill(img[:, 0] * width, img[:, 1] * height, color="#222" if black else "#f4f4f4",
                ec="#999", lw=0.3, zorder=1 + black)


def draw_hand(ax: plt.Axes, marks: np.ndarray, colour: str) -> None:
    width, height = camera.IMAGE_SIZE
    for a, b in skeleton.BONES:
        ax.plot(marks[[a, b], 0] * width, marks[[a, b], 1] * height, color=colour, lw=1.2,
                zorder=5)
    ax.scatter(marks[:, 0] * width, marks[:, 1] * height, s=5, color=colour, zorder=6)


def frame_figure(out: Path) -> None:
    """The camera's view: keyboard and both hands' landmarks, healthy and dystonic."""
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 2.6), dpi=100)
    cases = (("healthy, task 1 (scale)", pianist()),
             ("dystonic ring+little, severity 0.9", pianist("ring+little", 0.9)))
    for ax, (title, p) in zip(axes, cases, strict=True):
        take, motions = play(p, 1)
        curl = motions[1].curl[:, 3]
        frame = int(np.argmax(curl)) if curl.max() > 0 else take.t.size // 2
        draw_keyboard(ax, p.camera)
        for h, colour in ((0, "#0072b2"), (1, "#d55e00")):
            image = camera.project(motions[h].landmarks[frame], p.camera)
            draw_hand(ax, image, colour)
        ax.set_xlim(250, 1030)
        ax.set_ylim(560, 180)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def height_figure(out: Path) -> None:
    """Fingertip heights over a take: healthy, mild and marked index+middle dystonia."""
    fig, axes = plt.subplots(3, 1, figsize=(7.0, 5.0), dpi=100, sharex=True, sharey=True)
    for ax, severity in zip(axes, (0.0, 0.3, 1.0), strict=True):
        p = pianist("index+middle", severity) if severity else pianist()
        take, motions = play(p, 6)
        tips = motions[1].landmarks[:, skeleton.TIPS, 2] * 1000
        t = take.t - take.keys[0, 1]
        for d in range(5):
            ax.plot(t, tips[:, d], color=DIGIT_COLOURS[d], lw=1, label=DIGIT_NAMES[d])
        ax.axhline(0, color="#888", lw=0.5)
        label = "healthy" if not severity else f"index+middle, severity {severity:g}"
        ax.set_title(f"right hand, task 6 (five-finger pattern), ff: {label}", fontsize=8)
        ax.set_ylabel("tip height, mm", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, ncol=5, loc="upper right")
    axes[-1].set_xlabel("time from first onset, s", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def pip_angle(landmarks: np.ndarray) -> np.ndarray:
    out = []
    for chain in skeleton.CHAINS:
        a = landmarks[:, chain[1]] - landmarks[:, chain[0]]
        b = landmarks[:, chain[2]] - landmarks[:, chain[1]]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        out.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return np.stack(out, axis=1)


def wrist_angle(landmarks: np.ndarray) -> np.ndarray:
    palm = landmarks[:, 9] - landmarks[:, 0]
    return np.degrees(np.arctan2(-palm[:, 2], np.hypot(palm[:, 0], palm[:, 1])))


def pattern_figure(out: Path) -> None:
    """Extra flexion per pattern (left) and against severity (right), task 1."""
    names = list(dystonia.PATTERNS)
    grid = np.zeros((len(names), 6))

    def angles(pattern: str, severity: float) -> np.ndarray:
        # the same person and take at every severity: only the dystonia differs
        marks = play(pianist(pattern, severity), 1)[1][1].landmarks
        return np.concatenate([pip_angle(marks).mean(0), [wrist_angle(marks).mean()]])

    for i, name in enumerate(names):
        grid[i] = angles(name, 1.0) - angles(name, 0.0)
    severities = np.linspace(0, 1, 6)
    dose = np.array([angles("middle", s)[:5] for s in severities])
    dose -= dose[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2), dpi=100,
                                      gridspec_kw={"width_ratios": [1.3, 1]})
    image = left.imshow(grid, cmap="Reds", vmin=0, vmax=max(grid.max(), 1))
    left.set_xticks(range(6), [*DIGIT_NAMES, "wrist"], fontsize=7, rotation=30)
    left.set_yticks(range(len(names)), names, fontsize=7)
    left.set_title("extra mean flexion at severity 1 (deg),\nright hand, task 1",
                   fontsize=8)
    fig.colorbar(image, ax=left, shrink=0.8).ax.tick_params(labelsize=7)
    for d in range(5):
        right.plot(severities, dose[:, d], "o-", ms=3, color=DIGIT_COLOURS[d],
                   label=DIGIT_NAMES[d])
    right.set_xlabel("severity", fontsize=8)
    right.set_ylabel("extra mean PIP / thumb MCP flexion, deg", fontsize=8)
    right.set_title("pattern 'middle': only the middle finger curls", fontsize=8)
    right.tick_params(labelsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def tracker_figure(out: Path) -> None:
    """What the screening sees: normalised image y of the right fingertips with tracker
    noise and lost frames, healthy against marked middle+ring+little dystonia."""
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 2.6), dpi=100, sharey=True)
    for ax, (title, p) in zip(axes, (("healthy", pianist()),
                                     ("middle+ring+little 0.8",
                                      pianist("middle+ring+little", 0.8))), strict=True):
        take, motions = play(p, 3, mode="fastest")
        rng = np.random.default_rng(3)
        tracker = dataclasses.replace(camera.Tracker.sample(rng), miss_rate=0.01)
        seen = camera.observe(camera.project(motions[1].landmarks, p.camera), tracker, rng)
        t = take.t - take.keys[0, 1]
        for d in range(5):
            ax.plot(t, seen[:, skeleton.TIPS[d], 1], color=DIGIT_COLOURS[d], lw=0.8,
                    label=DIGIT_NAMES[d])
        ax.set_title(f"task 3 fastest, right fingertips: {title}", fontsize=8)
        ax.set_xlabel("time from first onset, s", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("image y (0 top, 1 bottom)", fontsize=8)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=6, ncol=5)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in (("synth_frame.png", frame_figure), ("synth_heights.png", height_figure),
                       ("synth_patterns.png", pattern_figure),
                       ("synth_tracker.png", tracker_figure)):
        make(args.out / name)
        print(f"{args.out / name}: {(args.out / name).stat().st_size // 1024} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
