"""``dystonia-box config`` and ``dystonia-box protocol``: what the box is set up to do."""

from __future__ import annotations

import argparse
from typing import Any

from device import protocol
from device.protocol import FINGER_NAMES


def add_parsers(subparsers: Any) -> None:
    cfg = subparsers.add_parser("config", help="print the effective configuration as TOML")
    cfg.set_defaults(func=show_config)
    proto = subparsers.add_parser("protocol", help="list the piano tasks, or show one")
    proto.add_argument("--task", type=int, help="show the notes and fingering of this task")
    proto.set_defaults(func=show_protocol)


def show_config(args: argparse.Namespace, context: Any) -> int:
    source = context.config.source or "defaults (no configuration file)"
    print(f"# effective configuration; from {source}\n# data directory: {context.data_dir}\n")
    print(context.config.as_toml())
    return 0


def _notes(notes: tuple[int, ...]) -> str:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return "+".join(f"{names[n % 12]}{n // 12 - 1}" for n in notes)


def show_protocol(args: argparse.Namespace, context: Any) -> int:
    proto = protocol.load()
    if args.task is None:
        quick = ", ".join(str(n) for n in proto.quick_screen)
        print(f"protocol version {proto.version}; quick screen: tasks {quick}")
        for task in proto.tasks.values():
            print(
                f"{task.number:2d}  {task.name:<46} {task.kind:<6} {task.fixed_bpm:g} bpm, "
                f"{task.n_events} {'notes' if task.kind == 'single' else 'chords'}, "
                f"{task.duration_s():.1f} s"
            )
        return 0
    try:
        task = proto.task(args.task)
    except protocol.ProtocolError as exc:
        print(f"dystonia-box: {exc}")
        return 2
    print(f"Task {task.number}: {task.name}\n{task.instructions}")
    print(f"Fixed tempo {task.fixed_bpm:g} bpm, {task.beats_per_event:g} beat per "
          f"{'note' if task.kind == 'single' else 'chord'}, played {task.repeats}x; "
          f"then as fast as possible. Each at pp and at ff.")
    print(f"{'#':>3}  {'right hand':<16} {'left hand':<16} fingers")
    for i, event in enumerate(task.events, 1):
        fingers = ", ".join(FINGER_NAMES[f - 1] for f in event.fingers)
        print(f"{i:3d}  {_notes(event.right):<16} {_notes(event.left):<16} {fingers}")
    return 0
