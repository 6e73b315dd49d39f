"""Key events from a standard MIDI file, checked against the task's notes.

Times are the file's own seconds (tempo changes applied by mido), with MIDI time 0 placed
at the video's first frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device.hardware.key_source import keys_array
from device.hardware.midi import MidiError, read_midi_file
from device.protocol import Task

# A file whose onsets are mostly not the task's notes, or that plays too few of the task's
# different notes, is taken to belong to another task. A pianist's few wrong notes pass.
MIN_SHARE_ON_TASK_NOTES = 0.8
MIN_SHARE_OF_TASK_NOTES_PLAYED = 0.5


class MidiKeysError(ValueError):
    """A MIDI file that cannot be read or does not fit the task; the message says why."""


def read_keys(path: Path | str, offset_s: float = 0.0) -> np.ndarray:
    """Key events (N, 4): note, onset s, release s, velocity 0..1, sorted by onset (the take
    file's `keys`), from the file read by the key sensors' MIDI reader.

    A note-on with velocity 0 counts as a note-off. A note still held at the end of the
    file is released at the file's end.
    """
    try:
        events = read_midi_file(path)
    except MidiError as error:
        raise MidiKeysError(str(error)) from None
    keys = keys_array(events)
    keys[:, 1:3] += offset_s
    return keys


def check_task(keys: np.ndarray, task: Task, source: str) -> None:
    """Raise MidiKeysError unless the notes fit ``task`` (both hands' notes)."""
    if keys.shape[0] == 0:
        raise MidiKeysError(f"{source}: has no notes")
    expected = {n for event in task.events for n in event.right + event.left}
    notes = keys[:, 0].astype(int)
    on_task = np.isin(notes, sorted(expected))
    played = expected & set(notes.tolist())
    if on_task.mean() < MIN_SHARE_ON_TASK_NOTES \
            or len(played) < MIN_SHARE_OF_TASK_NOTES_PLAYED * len(expected):
        foreign = sorted(set(notes[~on_task].tolist()))
        raise MidiKeysError(
            f"{source}: its notes do not match task {task.number} ({task.name}): "
            f"{(~on_task).sum()} of {len(notes)} notes are not in the task"
            + (f" (e.g. {', '.join(str(n) for n in foreign[:8])})" if foreign else "")
            + f", and it plays {len(played)} of the task's {len(expected)} different notes"
        )
