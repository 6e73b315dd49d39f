"""Checks right after a take, in plain words, so the clinician knows at once to retake."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.kinematics.gaps import missing_frames
from device.kinematics.trim import key_window, trim_mask
from device.protocol import Task
from device.takefile import HANDS, Take

MIN_HAND_SHARE = 0.8  # of the playing frames, each hand must be found in at least this share
MIN_KEY_SHARE = 0.5  # of the notes the task has, at least this share must be seen


@dataclass
class QualityCheck:
    ok: bool
    problems: list[str]  # plain-language, each with what to do


def check_take(take: Take, task: Task, keys_expected: bool = True) -> QualityCheck:
    problems: list[str] = []
    n_notes = sum(len(e.right) + len(e.left) for e in task.played())
    window = key_window(take.keys)
    if window is None:
        if keys_expected:
            problems.append("No keystrokes were recorded. Check that the key sensor is "
                            "connected and the patient played, then record the task again.")
        window = (float(take.t[0]), float(take.t[-1]))
    elif take.keys.shape[0] < MIN_KEY_SHARE * n_notes:
        problems.append(f"Only {take.keys.shape[0]} of the {n_notes} notes were played. "
                        "Ask the patient to play the whole passage and record it again.")
    mask = trim_mask(take.t, window)
    frames = int(mask.sum())
    for index, hand in enumerate(HANDS):
        if frames == 0:
            break
        seen = 1.0 - float(np.mean(missing_frames(take.landmarks[mask, index])))
        if seen < MIN_HAND_SHARE:
            problems.append(
                f"The {hand} hand was visible in only {100 * seen:.0f} % of the playing. "
                "Make sure both hands are inside the camera picture and nothing covers them, "
                "then record again.")
    duration = window[1] - window[0]
    nominal = task.duration_s()
    if duration < 0.3 * nominal:
        problems.append(f"The playing lasted only {duration:.1f} s (expected about "
                        f"{nominal:.0f} s at the fixed tempo). Record the whole passage again.")
    elif duration > 3.0 * nominal:
        problems.append(f"The playing lasted {duration:.1f} s, much longer than expected "
                        f"(about {nominal:.0f} s). Stop the recording when the passage ends.")
    return QualityCheck(ok=not problems, problems=problems)
