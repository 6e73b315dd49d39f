"""Other set-ups than the generator's: each take of a cohort seen through a changed camera,
hand tracker or key sensor, scored by the box's own path, to see whether a model learnt
healthy playing or this generator's camera, tracker and keys.

Each set-up changes the take file's landmarks (or keys) the way that camera, tracker or key
sensor would have recorded the same performance. A model that learnt healthy playing keeps
its specificity under them; one that learnt the generator's quirks flags healthy hands seen
another way. The key timing (device/screening/key_timing.py) is reported beside.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from device import takefile
from device.kinematics.augment import PARENT, scale_bones
from device.kinematics.trim import key_window
from device.protocol import load as load_protocol
from device.screening import models as models_mod
from device.screening.score import score_take
from device.takefile import Take
from model_export.screening.cohort import (
    PARTICIPANTS_FILE,
    TAKE_GLOB,
    CohortError,
    participant_of,
    read_participants,
)
from model_export.screening.key_norms import FINGER_HABIT_SD, person_habits, with_finger_habits
from model_export.screening.metrics import TakeRecord, summarise

BONE_SEED = 20261125  # one other tracker: its landmark placement is fixed, not per take


def _pixel_scale(take: Take) -> np.ndarray:
    width, height = take.image_size
    return np.array([width, height, width], dtype=np.float64)


def _in_pixels(take: Take, change: Callable[[np.ndarray, Take], np.ndarray]) -> Take:
    """Apply ``change`` to the landmarks in pixels (z in x's scale) and back."""
    scale = _pixel_scale(take)
    moved = change(take.landmarks.astype(np.float64) * scale, take)
    return replace(take, landmarks=(moved / scale).astype(np.float32))


def rolled(degrees: float) -> Callable[[Take], Take]:
    """The camera turned about its optical axis (about the image centre)."""
    angle = np.radians(degrees)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

    def change(px: np.ndarray, take: Take) -> np.ndarray:
        centre = _pixel_scale(take)[:2] / 2
        px[..., :2] = (px[..., :2] - centre) @ turn.T + centre
        return px
    return lambda take: _in_pixels(take, change)


def pitched(degrees: float) -> Callable[[Take], Take]:
    """The camera tilted towards the player: the far side of the image larger (keystone)."""
    slope = np.tan(np.radians(degrees))

    def change(px: np.ndarray, take: Take) -> np.ndarray:
        width, height = take.image_size
        centre = np.array([width / 2, height / 2])
        gain = 1.0 + slope * (px[..., 1] - centre[1]) / height
        px[..., :2] = centre + (px[..., :2] - centre) * gain[..., None]
        return px
    return lambda take: _in_pixels(take, change)


def cropped_4_3(take: Take) -> Take:
    """The same camera giving a 4:3 image (the sides cut off): MediaPipe's x and z are then
    fractions of the narrower width. Nothing about the hand changes, so neither should the
    score."""
    width, height = take.image_size
    narrow = round(height * 4 / 3)
    out = take.landmarks.copy()
    out[..., 0] = (out[..., 0] * width - (width - narrow) / 2) / narrow
    out[..., 2] = out[..., 2] * width / narrow
    return replace(take, landmarks=out, image_size=(narrow, height))


def frame_rate_halved(take: Take) -> Take:
    """A 30 fps camera instead of 60 fps."""
    return replace(take, t=take.t[::2], landmarks=take.landmarks[::2])


def depth_scaled(gain: float) -> Callable[[Take], Take]:
    """A tracker whose relative depth is ``gain`` times MediaPipe's."""
    def change(take: Take) -> Take:
        out = take.landmarks.copy()
        out[..., 2] *= gain
        return replace(take, landmarks=out)
    return change


def _take_rng(take: Take, salt: str) -> np.random.Generator:
    """The same draws for every take of one participant (``salt`` keeps set-ups apart)."""
    return np.random.default_rng(zlib.crc32(f"{take.meta.get('participant')}{salt}".encode()))


def jittered(pixels: float) -> Callable[[Take], Take]:
    """A noisier tracker: extra independent jitter of ``pixels`` SD on every coordinate."""
    def change(px: np.ndarray, take: Take) -> np.ndarray:
        return px + _take_rng(take, "").normal(0.0, pixels, px.shape)
    return lambda take: _in_pixels(take, change)


def labels_swapped(frames: int) -> Callable[[Take], Take]:
    """A tracker that swaps the hands' labels for ``frames`` frames somewhere in the middle
    of the playing (each take its own place)."""
    def change(take: Take) -> Take:
        window = key_window(take.keys) or (float(take.t[0]), float(take.t[-1]))
        middle = np.flatnonzero((take.t > window[0]) & (take.t < window[1]))[frames:-frames]
        if middle.size == 0:
            return take
        start = int(np.random.default_rng(zlib.crc32(str(take.t[0]).encode())).choice(middle))
        landmarks = take.landmarks.copy()
        landmarks[start:start + frames] = take.landmarks[start:start + frames, ::-1]
        return replace(take, landmarks=landmarks)
    return change


def hand_displaced(frames: int) -> Callable[[Take], Take]:
    """A tracker that loses each hand for ``frames`` frames somewhere in the middle of the
    playing and puts it there one palm length away, its shape intact, in a direction of its
    own (each take and hand its own place and direction)."""
    def change(take: Take) -> Take:
        window = key_window(take.keys) or (float(take.t[0]), float(take.t[-1]))
        middle = np.flatnonzero((take.t > window[0]) & (take.t < window[1]))[frames:-frames]
        if middle.size == 0:
            return take
        rng = np.random.default_rng(zlib.crc32(f"{take.t[0]}displaced".encode()))
        width, height = take.image_size
        landmarks = take.landmarks.copy()
        for h in range(landmarks.shape[1]):
            start, angle = int(rng.choice(middle)), rng.uniform(0.0, 2.0 * np.pi)
            pixels = landmarks[:, h, :, :2] * np.array([width, height])
            palm = float(np.nanmedian(np.linalg.norm(pixels[:, 9] - pixels[:, 0], axis=1)))
            shift = palm * np.array([np.cos(angle) / width, np.sin(angle) / height])
            landmarks[start:start + frames, h, :, :2] += shift
        return replace(take, landmarks=landmarks)
    return change


def filed_under_the_next_task(take: Take) -> Take:
    """The take filed under the next task of the protocol (task 11 under task 1): a wrong
    task chosen in the wizard."""
    return replace(take, task=take.task % len(load_protocol().tasks) + 1)


def without_keys(take: Take) -> Take:
    """No key sensor (a configuration the box supports): the playing is found from the
    hands' movement alone (device/kinematics/trim.py, motion_window)."""
    return replace(take, keys=np.zeros((0, 4)))


def other_landmark_placement(sd: float) -> Callable[[Take], Take]:
    """Another tracker's landmark placement: every bone drawn longer or shorter by its own
    factor (SD ``sd``), the same factors for every take."""
    factors = 1.0 + np.random.default_rng(BONE_SEED).normal(0.0, sd, len(PARENT))

    def change(px: np.ndarray, take: Take) -> np.ndarray:
        wrist = px[..., :1, :]
        return scale_bones(px - wrist, factors) + wrist
    return lambda take: _in_pixels(take, change)


def smoothed(take: Take) -> Take:
    """A tracker that smooths its output over time (exponential, half of each new frame)."""
    out = take.landmarks.astype(np.float64)
    for i in range(1, len(out)):
        both = np.isfinite(out[i]) & np.isfinite(out[i - 1])
        out[i][both] = 0.5 * out[i][both] + 0.5 * out[i - 1][both]
    return replace(take, landmarks=out.astype(np.float32))


def key_jitter(seconds: float) -> Callable[[Take], Take]:
    """Key onsets (and their releases with them) scattered by another ``seconds`` SD: a less
    precise key sensor, or pianists less even than the generator's."""
    def change(take: Take) -> Take:
        keys = take.keys.copy()
        keys[:, 1:3] += _take_rng(take, "keys").normal(0.0, seconds, (len(keys), 1))
        return replace(take, keys=keys[np.argsort(keys[:, 1], kind="stable")])
    return change


def keys_timed_otherwise(onset_s: float, release_s: float) -> Callable[[Take], Take]:
    """Another key sensor: every key's onset reported ``onset_s`` and its release
    ``release_s`` later (negative: earlier) than the generator's, as another threshold on the
    key's travel, or another digital piano's note-on and note-off, would."""
    def change(take: Take) -> Take:
        keys = take.keys.copy()
        keys[:, 1] += onset_s
        keys[:, 2] = np.maximum(keys[:, 2] + release_s, keys[:, 1])  # never before its onset
        return replace(take, keys=keys)
    return change


def finger_habits(seconds: float) -> Callable[[Take], Take]:
    """Each pianist's own uneven fingers: every finger of each hand strikes early or late by
    its own fixed amount (SD ``seconds``) in all of that pianist's takes, as real players'
    weaker fingers do and the generator's healthy fingers do not."""
    def change(take: Take) -> Take:
        habits = person_habits(str(take.meta.get("participant")), seconds, f"fingers {seconds}")
        return with_finger_habits(take, habits)
    return change


def slips(take: Take) -> Take:
    """A real player's slips: in each hand one note of the score not played and one wrong
    note (a semitone off) struck just after another note."""
    rng = _take_rng(take, "slips")
    keys = take.keys
    pivot = load_protocol().mirror_pivot / 2
    kept, wrong = np.ones(len(keys), dtype=bool), []
    for side in (keys[:, 0] < pivot, keys[:, 0] > pivot):
        index = np.flatnonzero(side)
        if len(index) < 4:
            continue
        missed, slipped = rng.choice(index, 2, replace=False)
        kept[missed] = False
        wrong.append(keys[slipped] + np.array([1.0, 0.02, 0.02, 0.0]))
    keys = np.vstack([keys[kept], *wrong]) if wrong else keys[kept]
    return replace(take, keys=keys[np.argsort(keys[:, 1], kind="stable")])


@dataclass(frozen=True)
class SetUp:
    name: str
    change: Callable[[Take], Take]


SETUPS = (
    SetUp("as generated", lambda take: take),
    SetUp("4:3 image (sides cut off)", cropped_4_3),
    SetUp("camera rolled 20 deg", rolled(20.0)),
    SetUp("camera pitched 10 deg", pitched(10.0)),
    SetUp("30 fps", frame_rate_halved),
    SetUp("depth x 0.5", depth_scaled(0.5)),
    SetUp("depth x 2", depth_scaled(2.0)),
    SetUp("tracker jitter + 1 px", jittered(1.0)),
    SetUp("tracker jitter + 2 px", jittered(2.0)),
    SetUp("smoothing tracker", smoothed),
    SetUp("hands' labels swapped for 3 frames", labels_swapped(3)),
    SetUp("whole hand a palm's length off for 1 frame", hand_displaced(1)),
    SetUp("whole hand a palm's length off for 3 frames", hand_displaced(3)),
    SetUp("filed under the next task", filed_under_the_next_task),
    SetUp("other landmark placement (bones 5 %)", other_landmark_placement(0.05)),
    SetUp("no key data (trimmed by the hands' movement)", without_keys),
    SetUp("key onsets + 5 ms jitter", key_jitter(0.005)),
    SetUp("a missed and a wrong note per hand", slips),
    SetUp("key releases reported 50 ms early", keys_timed_otherwise(0.0, -0.05)),
    SetUp("key releases reported 50 ms late", keys_timed_otherwise(0.0, 0.05)),
    SetUp("key onsets reported 30 ms early", keys_timed_otherwise(-0.03, 0.0)),
    SetUp(f"uneven fingers (each {FINGER_HABIT_SD * 1e3:.0f} ms early or late, as the key "
          "timing norms allow)", finger_habits(FINGER_HABIT_SD)),
    SetUp("uneven fingers (each 6 ms early or late)", finger_habits(0.006)),
)


def robustness(cohort_dir: Path, models: models_mod.ModelSet, tasks: list[int],
               setups: tuple[SetUp, ...] = SETUPS) -> list[dict[str, Any]]:
    """Per set-up: the paper's figures over the cohort's takes of ``tasks``, how much the
    healthy hands' scores moved against the takes as generated (median ratio), the share of
    hands whose tracking the box reports as noisier than the healthy training hands', and
    the share of hands whose keys it reports as not following the task's passage."""
    cohort_dir = Path(cohort_dir)
    tsv = cohort_dir / PARTICIPANTS_FILE
    if not tsv.exists():
        raise CohortError(f"{cohort_dir}: no {PARTICIPANTS_FILE}; the set-up check needs to "
                          "know who is healthy")
    participants = read_participants(tsv)
    missing = [t for t in tasks if t not in models.tasks]
    if missing:
        raise CohortError(f"no model for task {', '.join(map(str, missing))} in {models.root}")
    records: dict[str, list[TakeRecord]] = {s.name: [] for s in setups}
    noisy: dict[str, list[bool]] = {s.name: [] for s in setups}  # per hand with a measure
    off_passage: dict[str, list[bool]] = {s.name: [] for s in setups}  # per hand with keys
    for file in sorted(cohort_dir.glob(TAKE_GLOB)):
        take = takefile.read(file)
        if take.task not in tasks:
            continue
        pid = take.meta.get("participant") or participant_of(file)
        person = participants.get(pid)
        if person is None:
            raise CohortError(f"{file}: participant {pid} is not in {tsv}")
        for setup in setups:
            score = score_take(setup.change(take), models, file)
            ratio = {h: (s.severity if s else None) for h, s in score.hands.items()}
            noisy[setup.name] += [s.tracking.above_limit for s in score.hands.values()
                                  if s is not None and s.tracking is not None]
            off_passage[setup.name] += [not s.passage.as_the_task for s in score.hands.values()
                                        if s is not None and s.passage is not None]
            records[setup.name].append(TakeRecord(str(file), take.task, pid, person.group,
                                                  person.severity, person.affected_hand, ratio,
                                                  score.key_margins))
    if not records[setups[0].name]:
        raise CohortError(f"{cohort_dir}: no takes of task {', '.join(map(str, tasks))}")
    reference = records[setups[0].name]
    out = []
    for setup in setups:
        summary = summarise(records[setup.name])
        moved = [changed / base
                 for ref, now in zip(reference, records[setup.name], strict=True)
                 if ref.group == "healthy"
                 for hand, base in ref.ratio.items()
                 if base and (changed := now.ratio.get(hand)) is not None]
        flagged, off = noisy[setup.name], off_passage[setup.name]
        out.append({"setup": setup.name, **summary,
                    "healthy_score_ratio_median": float(np.median(moved)) if moved else None,
                    "tracking_noisy_share": float(np.mean(flagged)) if flagged else None,
                    "off_passage_share": float(np.mean(off)) if off else None})
    return out


def table(rows: list[dict[str, Any]], tasks: list[int]) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.0f} %"

    lines = [f"Tasks {', '.join(map(str, tasks))} together, per take (abnormal if either hand "
             "is).",
             "",
             "| set-up | specificity | sensitivity | ROC AUC | healthy hands' score, median "
             "x as generated | hands reported as noisily tracked | hands whose keys do not "
             "follow the task | key timing: specificity | sensitivity | ROC AUC |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        auc = "-" if row["auc"] is None else f"{row['auc']:.2f}"
        ratio = row["healthy_score_ratio_median"]
        keys = row.get("key_timing") or {}
        key_auc = "-" if keys.get("auc") is None else f"{keys['auc']:.2f}"
        lines.append(f"| {row['setup']} | {pct(row['specificity'])} | "
                     f"{pct(row['sensitivity'])} | {auc} | "
                     f"{'-' if ratio is None else f'{ratio:.2f}'} | "
                     f"{pct(row.get('tracking_noisy_share'))} | "
                     f"{pct(row.get('off_passage_share'))} | "
                     f"{pct(keys.get('specificity'))} | {pct(keys.get('sensitivity'))} | "
                     f"{key_auc} |")
    return "\n".join(lines)
