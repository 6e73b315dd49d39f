"""The order of takes in a session: each task of the chosen protocol at the fixed tempo
then as fast as possible, each soft (pp) then loud (ff)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from device import protocol

LOUDNESS_WORDS = {"pp": "very softly (pianissimo)", "ff": "very loudly (fortissimo)"}


@dataclass(frozen=True)
class Step:
    task: int
    tempo_mode: str
    dynamics: str

    def describe(self) -> str:
        task = protocol.load().task(self.task)
        tempo = (f"at {task.fixed_bpm:g} beats per minute with the metronome"
                 if self.tempo_mode == "fixed" else "as fast as possible")
        return f"Task {task.number}, {task.name}: {tempo}, {LOUDNESS_WORDS[self.dynamics]}"


def steps_for(protocol_name: str) -> list[Step]:
    proto = protocol.load()
    tasks = proto.quick_screen if protocol_name == "quick" else tuple(sorted(proto.tasks))
    return [Step(t, mode, dyn) for t in tasks for mode in proto.tempo_modes
            for dyn in proto.dynamics]


def done_steps(conn: sqlite3.Connection, session_id: int) -> set[Step]:
    """Steps with a kept take, or with a camera recording still waiting for its analysis
    (one that failed must be recorded again)."""
    rows = conn.execute("SELECT task, tempo_mode, dynamics FROM take WHERE session_id = ? "
                        "AND superseded = 0 UNION SELECT task, tempo_mode, dynamics FROM "
                        "raw_recording WHERE session_id = ? AND status IN ('waiting', "
                        "'analysing')", (session_id, session_id)).fetchall()
    return {Step(r["task"], r["tempo_mode"], r["dynamics"]) for r in rows}


def next_step(conn: sqlite3.Connection, session_id: int, protocol_name: str) -> Step | None:
    done = done_steps(conn, session_id)
    return next((s for s in steps_for(protocol_name) if s not in done), None)
