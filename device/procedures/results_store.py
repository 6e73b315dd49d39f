"""Biomechanics and TOJT results in the session store, with their raw recordings.

Order of writing, as for takes: the recording file first (atomically), then one `result`
row (kind `biomech` or `tojt`) that names the file and its SHA-256. An interrupted step is
stored too (completed false, with its message), so what was recorded is never lost and the
clinician sees why the step has to be repeated. The latest completed row of a step wins.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from device.biomech.measure import Measure
from device.biomech.norms import Norms, asymmetry
from device.digest import sha256_of
from device.procedures.force_run import ForceOutcome
from device.procedures.rom_run import RomOutcome
from device.reports.model import Biomechanics, Tojt, TojtTrial
from device.store.recordings import RECORDINGS
from device.store.transactions import transaction
from device.tojt.runner import TojResult

MEASURE_WORDS = {
    "max_force_n": "maximum force",
    "reduction_rate": "force kept during simultaneous pressing",
    "independence": "finger independence",
    "tapping_rate_hz": "tapping rate",
    "tapping_cv": "tapping irregularity",
    "rom_flexion_extension_rad": "flexion-extension range",
    "rom_abduction_adduction_rad": "abduction-adduction range",
}


def _folder(data_dir: Path, session_id: int) -> Path:
    return data_dir / RECORDINGS / f"session-{session_id:06d}" / "tests"


def _insert(conn: sqlite3.Connection, session_id: int, kind: str, data: dict[str, Any]) -> int:
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO result (session_id, take_id, kind, model_id, data_json, created) "
            "VALUES (?, NULL, ?, NULL, ?, ?)", (session_id, kind, json.dumps(data), time.time()))
        return int(cursor.lastrowid)


def save_outcome(conn: sqlite3.Connection, data_dir: Path, session_id: int,
                 outcome: ForceOutcome | RomOutcome) -> int:
    """Store one step's recording (if any) and result; returns the result id."""
    step = outcome.step
    data: dict[str, Any] = {
        "step": step.key, "kind": step.kind, "hand": step.hand, "finger": step.finger,
        "target_n": step.target_n, "completed": outcome.completed, "message": outcome.message,
        "measures": [m.to_dict() for m in outcome.measures], "file": None, "sha256": None,
    }
    if outcome.recording is not None:
        name = f"{step.kind}_{step.hand}_{step.finger or 'all'}_{time.time_ns()}.npz"
        path = outcome.recording.save(_folder(data_dir, session_id) / name)
        data["file"] = str(path.relative_to(data_dir))
        data["sha256"] = sha256_of(path)
    return _insert(conn, session_id, "biomech", data)


def save_toj(conn: sqlite3.Connection, data_dir: Path, session_id: int,
             result: TojResult) -> int:
    path = result.save(_folder(data_dir, session_id) / f"tojt_{result.hand}_{time.time_ns()}.json")
    data = {"hand": result.hand, "threshold_ms": result.threshold_ms,
            "completed": result.completed, "stop_reason": result.stop_reason,
            "trials": len(result.trials),
            "file": str(path.relative_to(data_dir)), "sha256": sha256_of(path)}
    return _insert(conn, session_id, "tojt", data)


def force_results(conn: sqlite3.Connection, session_id: int) -> dict[str, dict[str, Any]]:
    """The latest stored row of each step (completed or not), by step key."""
    latest: dict[str, dict[str, Any]] = {}
    for row in conn.execute("SELECT id, data_json FROM result WHERE session_id = ? AND "
                            "kind = 'biomech' ORDER BY id", (session_id,)):
        data = json.loads(row["data_json"])
        previous = latest.get(data["step"])
        if data["completed"] or previous is None or not previous["completed"]:
            latest[data["step"]] = {**data, "id": int(row["id"])}
    return latest


def measures_by_hand(conn: sqlite3.Connection, session_id: int) -> dict[str, list[Measure]]:
    out: dict[str, list[Measure]] = {"left": [], "right": []}
    for data in force_results(conn, session_id).values():
        if data["completed"]:
            out[data["hand"]].extend(Measure.from_dict(m) for m in data["measures"])
    return out


def biomechanics_report(conn: sqlite3.Connection, session_id: int,
                        norms: Norms) -> Biomechanics | None:
    """z-scores per measure, hand and finger, and the asymmetry where both hands are done."""
    by_hand = measures_by_hand(conn, session_id)
    z: dict[str, dict[str, float]] = {}
    for hand, measures in by_hand.items():
        for m in measures:
            value = norms.z(m)
            if value is not None:
                words = MEASURE_WORDS.get(m.measure, m.measure)
                z.setdefault(f"{words}, {hand} hand", {})[m.finger] = value
    asymmetries: dict[str, float] = {}
    for name in norms.measures:
        found = asymmetry(norms, name, by_hand["left"], by_hand["right"])
        if found.value is not None:
            asymmetries[MEASURE_WORDS.get(name, name)] = found.value
    return Biomechanics(z=z, asymmetry=asymmetries) if z else None


def tojt_report(conn: sqlite3.Connection, data_dir: Path, session_id: int,
                reference_upper_s: float | None = None) -> Tojt | None:
    rows = conn.execute("SELECT data_json FROM result WHERE session_id = ? AND kind = 'tojt' "
                        "ORDER BY id DESC", (session_id,)).fetchall()
    finished = [d for d in (json.loads(r["data_json"]) for r in rows) if d.get("completed", True)]
    if not finished:
        return None
    data = finished[0]
    result = TojResult.from_json((data_dir / data["file"]).read_text())
    trials = tuple(TojtTrial(t.delivered_soa_ms / 1000.0, bool(t.correct))
                   for t in result.trials if t.correct is not None)
    return Tojt(threshold_s=result.threshold_ms / 1000.0, trials=trials,
                reference_upper_s=reference_upper_s)
