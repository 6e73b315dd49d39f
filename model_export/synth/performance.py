"""One take: when each key is struck, and where the hand and every joint are at any time.

``plan`` draws everything random about a take (tempo, timing, key events, slow postural
sway, dystonic drive); ``hand_motion`` then evaluates the hand at any times. Both hands are
planned as a right hand playing the right-hand notes; the left hand is the mirror image
about G#3, which is exactly the protocol's mirror-image contrary motion.

A digit's tip hovers at its rest place above the keys, rises before a stroke (higher for
ff), meets the key's top surface at the onset, follows the key down while it is held and
lifts after the release; inverse kinematics turns that path into joint angles. Digits that
do not play are dragged a little by their neighbours (enslaving).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.protocol import Task
from model_export.synth import dystonia, keyboard, reach, skeleton
from model_export.synth.person import Person

FPS = 60.0
MAX_ABDUCTION = np.radians([100.0, 30.0, 25.0, 30.0, 50.0])
# how much a digit follows a neighbour's stroke (row follows column)
ENSLAVING = np.array([
    [0.00, 0.06, 0.02, 0.01, 0.00],
    [0.05, 0.00, 0.15, 0.05, 0.02],
    [0.02, 0.12, 0.00, 0.20, 0.06],
    [0.01, 0.05, 0.25, 0.00, 0.25],
    [0.00, 0.02, 0.08, 0.30, 0.00],
])


@dataclass(frozen=True)
class Sway:
    """Slow smooth noise: a sum of sinusoids with random frequencies and phases."""

    amplitude: np.ndarray  # (n, d)
    frequency: np.ndarray  # (n,)
    phase: np.ndarray  # (n, d)

    @classmethod
    def sample(cls, sd: np.ndarray, rng: np.random.Generator, low: float = 0.15,
               high: float = 1.5, n: int = 5) -> Sway:
        sd = np.atleast_1d(np.asarray(sd, dtype=np.float64))
        weights = rng.uniform(0.5, 1.0, (n, sd.size))
        weights *= np.sqrt(2.0 / (weights**2).sum(axis=0))  # overall SD = sd
        return cls(weights * sd, rng.uniform(low, high, n), rng.uniform(0, 2 * np.pi,
                                                                       (n, sd.size)))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        arg = 2 * np.pi * self.frequency[None, :, None] * t[:, None, None] + self.phase[None]
        return (self.amplitude[None] * np.sin(arg)).sum(axis=1)


@dataclass(frozen=True)
class Strokes:
    """The keystrokes of one digit, in time order."""

    onset: np.ndarray
    release: np.ndarray
    point: np.ndarray  # (S, 3) strike point at rest (right-hand world frame)
    descent: np.ndarray  # s, from the top of the lift to the key
    ascent: np.ndarray  # s, from the release back to hovering
    lift: np.ndarray  # m, extra height at the top of the lift


@dataclass(frozen=True)
class HandPlan:
    hand: int  # 0 left, 1 right
    frames: tuple[skeleton.DigitFrame, ...]
    coupling: float
    rest_tips: np.ndarray  # (5, 3) hand frame
    strokes: tuple[Strokes, ...]  # per digit
    keyframes: np.ndarray  # (E, 3): event time, wrist x, wrist y
    placement_sigma: float
    wrist_height: float
    hover: float
    posture: np.ndarray  # yaw, pitch, roll at rest (rad)
    wrist_sway: Sway  # x, y, z (m)
    angle_sway: Sway  # yaw, pitch, roll (rad)
    tip_sway: Sway  # 5 digits x 3 (m)
    bob: float  # m the wrist drops at a loud chord
    onsets: np.ndarray  # all onsets of this hand
    severity: float
    digit_drive: tuple[dystonia.Drive | None, ...]  # per digit
    wrist_drive: dystonia.Drive | None


@dataclass(frozen=True)
class TakePlan:
    task: int
    tempo_bpm: float
    t: np.ndarray  # frame times
    keys: np.ndarray  # (N, 4) both hands, by onset
    hands: tuple[HandPlan, HandPlan]


@dataclass(frozen=True)
class HandMotion:
    landmarks: np.ndarray  # (T, 21, 3) world, metres
    contact: np.ndarray  # (T, 5) 0..1, 1 while a digit holds a key down
    curl: np.ndarray  # (T, 5) involuntary flexion drive actually applied (0 when healthy)


def smoothstep(x: np.ndarray) -> np.ndarray:
    return dystonia.smoothstep(x)


def mirror_x(x: np.ndarray) -> np.ndarray:
    return 2.0 * float(keyboard.key_x(keyboard.MIRROR_NOTE)) - x


def _event_times(task: Task, person: Person, mode: str,
                 rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Onset of every event (s, from 0) and the tempo actually played (bpm)."""
    if mode == "fixed":
        bpm = task.fixed_bpm * np.exp(rng.normal(0.0, 0.02))
    else:
        slowing = 1.0 - 0.1 * person.severity  # dystonic hands cannot go quite as fast
        bpm = task.fixed_bpm * person.fastest_factor * slowing * np.exp(rng.normal(0.0, 0.04))
    ioi = task.beats_per_event * 60.0 / bpm
    n = task.n_events
    drift = rng.normal(0.0, 0.04) * (np.arange(n) / max(n - 1, 1) - 0.5)
    gaps = ioi * (1.0 + drift[:-1])
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    times = times + rng.normal(0.0, person.jitter * (0.6 if mode == "fixed" else 1.0), n)
    times = np.maximum.accumulate(times + np.arange(n) * 1e-4)
    played_bpm = task.beats_per_event * 60.0 / (np.diff(times).mean() if n > 1 else ioi)
    return times, float(played_bpm)


def _rest_tips(frames: tuple[skeleton.DigitFrame, ...], rest: np.ndarray,
               coupling: float) -> np.ndarray:
    tips = []
    for frame, (base, middle) in zip(frames, rest, strict=True):
        flexion = np.array([[base, middle, middle * coupling]])
        tips.append(skeleton.digit_joints(frame, np.zeros(1), flexion)[0, -1])
    return np.array(tips)


def _plan_hand(hand: int, task: Task, times: np.ndarray, ioi: float, person: Person,
               dynamics: str, rng: np.random.Generator) -> tuple[HandPlan, np.ndarray]:
    """Plan one hand; returns the plan and its key events (right-hand notes, world of a
    right hand; the caller mirrors notes and positions of the left hand)."""
    affected = person.affected_hand == ("left", "right")[hand]
    severity = person.severity if affected else 0.0
    digits, wrist = dystonia.PATTERNS.get(person.pattern, ((), False)) if affected \
        else ((), False)
    start, stop = float(times[0]), float(times[-1] + ioi)
    digit_drive = tuple(dystonia.Drive.sample(start, stop, rng) if d in digits else None
                        for d in range(5))
    wrist_drive = dystonia.Drive.sample(start, stop, rng) if wrist else None
    frames = skeleton.digit_frames(person.hand_length, person.proportions[hand],
                                   person.splay_deg[hand])
    coupling = person.coupling + rng.normal(0.0, 0.02)
    rest = person.rest_flexion + rng.normal(0.0, np.radians(2.0), person.rest_flexion.shape)
    rest_tips = _rest_tips(frames, rest, coupling)

    hand_offset = rng.normal(0.0, 0.003)  # this hand's own lead or lag
    level = person.velocity[dynamics] + rng.normal(0.0, 0.04)
    per_digit: list[list[tuple[float, float, int, float]]] = [[] for _ in range(5)]
    rows = []
    keyframes = []
    for e, event in enumerate(task.played()):
        event_time = times[e] + hand_offset
        xs, ys = [], []
        for note, finger in zip(event.right, event.fingers, strict=True):
            digit = finger - 1
            onset = event_time + rng.normal(0.0, 0.004)
            velocity = level + rng.normal(0.0, 0.05)
            hold = ioi * (person.legato * rng.uniform(0.92, 1.04) if task.kind == "single"
                          else rng.uniform(0.5, 0.8))
            disturbed = digit in digits or (wrist and severity > 0)
            if disturbed:
                pull = (digit_drive[digit] or wrist_drive)(np.array([onset]))[0]
                onset += severity * (rng.uniform(0.0, 0.03) + 0.04 * pull
                                     + abs(rng.normal(0.0, 0.02)))
                hold += severity * pull * rng.uniform(0.0, 0.1)  # the digit sticks
                velocity += severity * (rng.normal(0.0, 0.15) - 0.1 * pull)
            per_digit[digit].append((onset, onset + max(hold, 0.04), note, velocity))
            point = keyboard.strike_point(note, digit)
            xs.append(point[0] - rest_tips[digit, 0])
            ys.append(point[1] - rest_tips[digit, 1])
        keyframes.append((event_time, np.mean(xs), np.mean(ys)))

    strokes = []
    lift = person.lift[dynamics]
    descent_time = 0.07 if dynamics == "ff" else 0.1
    for digit in range(5):
        items = sorted(per_digit[digit])
        onset = np.array([i[0] for i in items])
        release = np.array([i[1] for i in items])
        if onset.size > 1:  # a digit lifts before it strikes again
            gap_next = onset[1:] - onset[:-1]
            release[:-1] = np.minimum(release[:-1], onset[:-1] + 0.7 * gap_next)
        free_before = np.concatenate([[1.0], onset[1:] - release[:-1]])
        free_after = np.concatenate([onset[1:] - release[:-1], [0.15]])
        descent = np.minimum(descent_time * rng.uniform(0.85, 1.15, onset.size),
                             0.45 * free_before)
        ascent = np.minimum(0.08 * rng.uniform(0.85, 1.15, onset.size), 0.45 * free_after)
        notes = np.array([i[2] for i in items], dtype=int)
        velocity = np.clip(np.array([i[3] for i in items]), 0.02, 1.0)
        room = np.clip(free_before / 0.3, 0.3, 1.0)  # little time, little lift
        heights = lift * room * (0.6 + 0.8 * velocity) * rng.uniform(0.8, 1.2, onset.size)
        strokes.append(Strokes(
            onset=onset, release=release,
            point=keyboard.strike_point(notes, digit) if notes.size else np.zeros((0, 3)),
            descent=np.maximum(descent, 0.012), ascent=np.maximum(ascent, 0.012),
            lift=heights,
        ))
        rows.extend((n, o, r, v) for n, o, r, v in zip(notes, onset, release, velocity,
                                                        strict=True))

    plan = HandPlan(
        hand=hand, frames=frames, coupling=coupling, rest_tips=rest_tips,
        strokes=tuple(strokes), keyframes=np.array(keyframes),
        placement_sigma=max(0.25 * ioi, 0.02),
        wrist_height=person.wrist_height + rng.normal(0.0, 0.003),
        hover=person.hover * rng.uniform(0.85, 1.15),
        posture=np.array([rng.normal(0.0, np.radians(3.0)),
                          person.wrist_pitch + rng.normal(0.0, np.radians(1.5)),
                          person.wrist_roll + rng.normal(0.0, np.radians(1.5))]),
        wrist_sway=Sway.sample(np.array([0.002, 0.002, 0.0015]), rng),
        angle_sway=Sway.sample(np.radians([1.0, 1.0, 1.5]), rng),
        tip_sway=Sway.sample(np.full(15, 0.001), rng, high=3.0),
        bob=(0.005 if dynamics == "ff" else 0.0015) if task.kind == "chord" else 0.0,
        onsets=times + hand_offset, severity=severity,
        digit_drive=digit_drive, wrist_drive=wrist_drive,
    )
    return plan, np.array(rows, dtype=np.float64).reshape(-1, 4)


def plan(task: Task, person: Person, dynamics: str, mode: str,
         rng: np.random.Generator) -> TakePlan:
    times, bpm = _event_times(task, person, mode, rng)
    ioi = task.beats_per_event * 60.0 / bpm
    hands = []
    keys = []
    for hand in (0, 1):
        hand_plan, rows = _plan_hand(hand, task, times, ioi, person, dynamics, rng)
        if hand == 0:
            rows[:, 0] = 2 * keyboard.MIRROR_NOTE - rows[:, 0]
        hands.append(hand_plan)
        keys.append(rows)
    keys = np.concatenate(keys)
    keys = keys[np.lexsort((keys[:, 0], keys[:, 1]))]
    lead, tail = rng.uniform(0.5, 1.2), rng.uniform(0.4, 1.0)
    clock = rng.uniform(5.0, 60.0)  # the recorder's clock does not start at zero
    period = 1.0 / FPS
    n = int(np.ceil((keys[:, 2].max() - keys[:, 1].min() + lead + tail) / period))
    t = clock + keys[:, 1].min() - lead + period * np.arange(n) \
        + rng.normal(0.0, 0.0002, n)  # capture timestamps wobble slightly
    keys[:, 1:3] += clock
    return TakePlan(task=task.number, tempo_bpm=bpm, t=t, keys=keys,
                    hands=(_shift(hands[0], clock), _shift(hands[1], clock)))


def _shift(hand: HandPlan, clock: float) -> HandPlan:
    """The same plan on the recorder's clock."""
    def move(d: dystonia.Drive | None) -> dystonia.Drive | None:
        if d is None:
            return None
        episodes = d.episodes.copy()
        episodes[:, 0] += clock
        return dystonia.Drive(d.start + clock, d.stop + clock, d.build, d.build_span, episodes)

    strokes = tuple(Strokes(s.onset + clock, s.release + clock, s.point, s.descent, s.ascent,
                            s.lift) for s in hand.strokes)
    keyframes = hand.keyframes.copy()
    keyframes[:, 0] += clock
    return HandPlan(**{**hand.__dict__, "strokes": strokes, "keyframes": keyframes,
                       "onsets": hand.onsets + clock,
                       "digit_drive": tuple(move(d) for d in hand.digit_drive),
                       "wrist_drive": move(hand.wrist_drive)})


def _smoothed(t: np.ndarray, times: np.ndarray, values: np.ndarray, sigma: float) -> np.ndarray:
    """Piecewise-linear path through keyframes, smoothed by a Gaussian of ``sigma`` s."""
    offsets = np.linspace(-2.5, 2.5, 11)
    weights = np.exp(-0.5 * offsets**2)
    weights /= weights.sum()
    samples = np.interp(t[:, None] + sigma * offsets[None], times, values)
    return samples @ weights


def _stroke_path(s: Strokes, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Contact weight (T,), contact point (T, 3), lift (T,) of one digit, and how much it is
    striking right now (T,): the contact weight, fading after each onset."""
    if s.onset.size == 0:
        return np.zeros_like(t), np.zeros((t.size, 3)), np.zeros_like(t), np.zeros_like(t)
    tt = t[None, :]
    on, off = s.onset[:, None], s.release[:, None]
    down, up = s.descent[:, None], s.ascent[:, None]
    weight = np.where(tt < on, smoothstep((tt - on + down) / down),
                      np.where(tt <= off, 1.0, 1.0 - smoothstep((tt - off) / up)))
    press = smoothstep((tt - on) / 0.02) * (1.0 - smoothstep((tt - off) / 0.02))
    contact = weight.sum(axis=0)
    share = weight / np.maximum(contact, 1e-9)
    point = share.T @ s.point
    point[:, 2] -= keyboard.KEY_DIP * (share * press).sum(axis=0)
    top = on - down  # the top of the lift
    lift = (s.lift[:, None] * np.exp(-0.5 * ((tt - top) / (0.6 * down)) ** 2)
            + 0.4 * s.lift[:, None] * np.exp(-0.5 * ((tt - off - up) / (0.6 * up)) ** 2))
    striking = (weight * np.exp(-np.maximum(tt - on, 0.0) / 0.05)).sum(axis=0)
    return np.clip(contact, 0.0, 1.0), point, lift.sum(axis=0), np.clip(striking, 0.0, 1.0)


def hand_motion(plan_: TakePlan, hand: int, t: np.ndarray) -> HandMotion:
    """All 21 landmarks of one hand in world coordinates at times ``t``."""
    h = plan_.hands[hand]
    sway = h.wrist_sway(t)
    angles = h.posture[None] + h.angle_sway(t)
    key_t = h.keyframes[:, 0]
    wrist = np.stack([
        _smoothed(t, key_t, h.keyframes[:, 1], h.placement_sigma) + sway[:, 0],
        _smoothed(t, key_t, h.keyframes[:, 2], h.placement_sigma) + sway[:, 1],
        h.wrist_height + sway[:, 2]
        - h.bob * np.exp(-0.5 * ((t[:, None] - h.onsets[None]) / 0.06) ** 2).sum(axis=1),
    ], axis=1)
    step = 0.01  # the hand turns a little towards where it travels
    velocity_x = (_smoothed(t + step, key_t, h.keyframes[:, 1], h.placement_sigma)
                  - _smoothed(t - step, key_t, h.keyframes[:, 1], h.placement_sigma)) / (2 * step)
    angles[:, 0] += 0.05 * np.clip(velocity_x, -1.0, 1.0)
    if h.wrist_drive is not None:
        angles[:, 1] += h.severity * h.wrist_drive(t) * dystonia.MAX_WRIST_FLEXION
    rot = skeleton.rotation(angles[:, 0], angles[:, 1], angles[:, 2])

    paths = [_stroke_path(s, t) for s in h.strokes]
    contact = np.stack([p[0] for p in paths], axis=1)  # (T, 5)
    striking = np.stack([p[3] for p in paths], axis=1)
    depth = np.stack([contact[:, d] * np.maximum(h.hover - paths[d][1][:, 2], 0.0)
                      for d in range(5)], axis=1)
    enslaved = depth @ ENSLAVING.T * (1.0 - contact)
    tip_sway = h.tip_sway(t).reshape(-1, 5, 3)
    drives = [d(t) if d is not None else np.zeros_like(t) for d in h.digit_drive]

    def targets() -> np.ndarray:
        hover = wrist[:, None, :] + np.einsum("tij,dj->tdi", rot, h.rest_tips) + tip_sway
        out = np.empty((t.size, 5, 3))
        for d in range(5):
            weight, point, lift, _ = paths[d]
            hover[:, d, 2] = h.hover + lift * (1.0 - 0.7 * h.severity * drives[d]) \
                - enslaved[:, d]
            out[:, d] = (1.0 - weight)[:, None] * hover[:, d] + weight[:, None] * point
        return out

    curves = [reach.length_curve(frame.links, h.coupling) for frame in h.frames]
    # the arm carries the hand where the playing digits cannot reach on their own
    for _ in range(4):
        target = targets()
        shift = np.zeros((t.size, 3))
        for d, frame in enumerate(h.frames):
            local = np.einsum("tji,tj->ti", rot, target[:, d] - wrist)
            abduction, flexion = reach.solve(frame, local, h.coupling, MAX_ABDUCTION[d],
                                             curves[d])
            tip = wrist + np.einsum("tij,tj->ti", rot,
                                    skeleton.digit_joints(frame, abduction, flexion)[:, -1])
            shift += striking[:, d, None] * (target[:, d] - tip)
        wrist = wrist + shift / np.maximum(striking.sum(axis=1), 1.0)[:, None]
    target = targets()

    landmarks = np.zeros((t.size, 21, 3))
    curl_applied = np.zeros((t.size, 5))
    for d, frame in enumerate(h.frames):
        weight = paths[d][0]
        local = np.einsum("tji,tj->ti", rot, target[:, d] - wrist)
        abduction, flexion = reach.solve(frame, local, h.coupling, MAX_ABDUCTION[d],
                                         curves[d])
        curl = h.severity * drives[d] * (1.0 - weight)
        flexion = flexion + curl[:, None] * dystonia.MAX_CURL[d]
        curl_applied[:, d] = curl
        base = wrist + rot @ frame.base
        rows = np.arange(t.size)

        def place(flex: np.ndarray) -> np.ndarray:
            local = skeleton.digit_joints(frame, abduction, flex)  # noqa: B023
            return wrist[:, None] + np.einsum("tij,tkj->tki", rot, local)

        joints = place(flexion)
        for _ in range(8):  # never through the keys: the key pushes the digit up
            floor = keyboard.surface_height(joints[..., 0], joints[..., 1]) \
                - keyboard.KEY_DIP * weight[:, None]
            below = floor - joints[..., 2]
            worst = below.argmax(axis=1)
            depth_below = below[rows, worst]
            if not np.any(depth_below > 0.0):
                break
            # how the lowest joint rises as the base joint extends, and if it barely
            # does (a digit curled under), open the distal joints instead
            nudged = flexion.copy()
            nudged[:, 0] -= 0.01
            rise = (place(nudged)[rows, worst, 2] - joints[rows, worst, 2]) / 0.01
            step = np.where(depth_below > 0.0, (depth_below + 2e-4) / np.maximum(
                np.abs(rise), 0.005), 0.0)
            use_base = rise > 0.005
            flexion[:, 0] -= np.where(use_base, step, 0.0)
            flexion[:, 1:] -= np.where(use_base, 0.0, step)[:, None]
            joints = place(flexion)
        landmarks[:, list(skeleton.CHAINS[d][1:])] = joints
        landmarks[:, skeleton.CHAINS[d][0]] = base
    landmarks[:, 0] = wrist
    if hand == 0:
        landmarks[..., 0] = mirror_x(landmarks[..., 0])
    return HandMotion(landmarks=landmarks, contact=contact, curl=curl_applied)
