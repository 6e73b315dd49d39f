"""The screening protocol (``protocol.toml``): the eleven piano tasks and how to play them."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from device.takefile import MIDI_HIGH, MIDI_LOW, N_TASKS

FINGER_NAMES = ("thumb", "index", "middle", "ring", "little")


class ProtocolError(ValueError):
    """The protocol file is inconsistent; the message names the task and field."""


@dataclass(frozen=True)
class Event:
    """One note or chord: what each hand strikes and with which fingers (1 thumb .. 5 little)."""

    right: tuple[int, ...]
    left: tuple[int, ...]
    fingers: tuple[int, ...]


@dataclass(frozen=True)
class Task:
    number: int
    name: str
    kind: str  # "single" (one note at a time) or "chord"
    instructions: str
    fixed_bpm: float
    beats_per_event: float
    repeats: int
    events: tuple[Event, ...]  # one pass; the sequence is played `repeats` times

    @property
    def n_events(self) -> int:
        return len(self.events) * self.repeats

    def duration_s(self, bpm: float | None = None) -> float:
        """Length of the whole task at ``bpm`` (default: the fixed tempo), onset to onset."""
        return self.n_events * self.beats_per_event * 60.0 / (bpm or self.fixed_bpm)

    def played(self) -> tuple[Event, ...]:
        return self.events * self.repeats


@dataclass(frozen=True)
class Protocol:
    version: int
    dynamics: tuple[str, ...]
    tempo_modes: tuple[str, ...]
    quick_screen: tuple[int, ...]
    mirror_pivot: int
    tasks: dict[int, Task]

    def task(self, number: int) -> Task:
        try:
            return self.tasks[number]
        except KeyError:
            raise ProtocolError(
                f"unknown task {number}; the protocol has tasks 1..{len(self.tasks)}"
            ) from None


def _as_chord(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def _parse_task(raw: dict[str, Any], pivot: int) -> Task:
    number = raw.get("number")
    where = f"protocol task {number}"
    try:
        right, left, fingers = raw["right_notes"], raw["left_notes"], raw["fingers"]
        name, kind = raw["name"], raw["kind"]
        instructions = raw["instructions"]
        bpm, beats, repeats = raw["fixed_bpm"], raw["beats_per_event"], raw["repeats"]
    except KeyError as exc:
        raise ProtocolError(f"{where}: missing field {exc.args[0]}") from None
    if kind not in ("single", "chord"):
        raise ProtocolError(f"{where}: kind must be single or chord, got {kind!r}")
    if not len(right) == len(left) == len(fingers) > 0:
        raise ProtocolError(
            f"{where}: right_notes, left_notes and fingers must have the same non-zero length "
            f"({len(right)}, {len(left)}, {len(fingers)})"
        )
    events = []
    for i, (r, lft, f) in enumerate(zip(right, left, fingers, strict=True)):
        r, lft, f = _as_chord(r), _as_chord(lft), _as_chord(f)
        if not len(r) == len(lft) == len(f):
            raise ProtocolError(f"{where}, event {i}: notes and fingers differ in number")
        if kind == "single" and len(r) != 1:
            raise ProtocolError(f"{where}, event {i}: a single-note task has one note per event")
        for note in r + lft:
            if not MIDI_LOW <= note <= MIDI_HIGH:
                raise ProtocolError(f"{where}, event {i}: note {note} outside the piano")
        if any(not 1 <= finger <= 5 for finger in f) or len(set(f)) != len(f):
            raise ProtocolError(f"{where}, event {i}: fingers must be distinct, 1..5, got {f}")
        if tuple(pivot - n for n in r) != lft:
            raise ProtocolError(
                f"{where}, event {i}: left hand {lft} is not the mirror image of right {r} "
                f"about {pivot / 2:g}"
            )
        events.append(Event(right=r, left=lft, fingers=f))
    if bpm <= 0 or beats <= 0 or repeats < 1:
        raise ProtocolError(f"{where}: tempo, beats_per_event and repeats must be positive")
    return Task(
        number=int(number), name=name, kind=kind, instructions=instructions,
        fixed_bpm=float(bpm), beats_per_event=float(beats), repeats=int(repeats),
        events=tuple(events),
    )


def parse(text: str) -> Protocol:
    data = tomllib.loads(text)
    head = data["protocol"]
    pivot = int(head["mirror_pivot"])
    tasks = {}
    for raw in data.get("task", []):
        task = _parse_task(raw, pivot)
        if task.number in tasks:
            raise ProtocolError(f"protocol task {task.number} is defined twice")
        tasks[task.number] = task
    if sorted(tasks) != list(range(1, N_TASKS + 1)):
        raise ProtocolError(f"protocol must define tasks 1..{N_TASKS}, has {sorted(tasks)}")
    quick = tuple(int(n) for n in head["quick_screen"])
    if not set(quick) <= set(tasks):
        raise ProtocolError(f"protocol quick_screen names unknown tasks: {quick}")
    return Protocol(
        version=int(head["version"]), dynamics=tuple(head["dynamics"]),
        tempo_modes=tuple(head["tempo_modes"]), quick_screen=quick, mirror_pivot=pivot,
        tasks=tasks,
    )


@functools.cache
def load() -> Protocol:
    """The protocol shipped in the package."""
    return parse(resources.files("device").joinpath("protocol.toml").read_text("utf-8"))
