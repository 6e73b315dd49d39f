"""Checks right after a take, in plain words, so the clinician knows at once to retake."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from device.kinematics.gaps import missing_frames
from device.kinematics.trim import key_window, trim_mask
from device.protocol import Task
from device.screening.findings import hand_findings
from device.screening.score import TakeScore
from device.takefile import HANDS, Take

MIN_HAND_SHARE = 0.8  # of the playing frames, each hand must be found in at least this share
MIN_KEY_SHARE = 0.5  # of the notes the task has, at least this share must be seen


@dataclass
class QualityCheck:
    ok: bool
    problems: list[str]  # plain-language, each with what to do

    def stored_with_take(self) -> Callable[[sqlite3.Connection, int], None]:
        """For store_take's ``then``: the checks are written in the transaction that
        registers the take, so the worker never scores a take whose checks are not stored."""
        def store(conn: sqlite3.Connection, take_id: int) -> None:
            conn.execute("UPDATE take SET quality_json = ? WHERE id = ?",
                         (json.dumps({"ok": self.ok, "problems": self.problems}), take_id))
        return store


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


def with_findings(stored: str, score: TakeScore) -> str:
    """The take's stored checks (``quality_json``) with what scoring found that bears on its
    verdicts (device/screening/findings.py: a hand tracked more noisily than the model's
    healthy hands, keys that do not follow the task's passage): reasons to record the task
    again. Playing found from the hands' movement (no key data) is not among them: where a
    key sensor is configured check_take already asks for the keys, and where none is,
    recording again cannot help (the results say it). A take scored again gets the new
    findings in place of the old; with nothing found then or now, the checks are returned as
    they were."""
    try:
        quality = json.loads(stored or "{}")
    except json.JSONDecodeError:
        quality = None
    quality = quality if isinstance(quality, dict) else {}
    before = quality.get("found_when_scored", [])
    found = [finding for name, hand in score.hands.items() if hand is not None
             for finding in hand_findings(name, hand.tracking, hand.passage)]
    if not found and not before:
        return stored
    problems = [p for p in quality.get("problems", []) if p not in before] + found
    return json.dumps({**quality, "ok": not problems, "problems": problems,
                       "found_when_scored": found})
