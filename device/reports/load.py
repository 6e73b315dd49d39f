"""Building a SessionReport from the store.

A result row of kind ``screening`` holds ``TakeScore.as_contract()`` as JSON for one take;
when a take was scored more than once the newest row counts. The model card comes from the
``model_version`` row of the model that scored the session (what was used, not what is
installed now), else from the installed models.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from device.biomech.norms import Norms
from device.biomech.norms import load as load_norms
from device.procedures.results_store import biomechanics_report, tojt_report
from device.reports.model import (
    Biomechanics,
    CardSummary,
    EarlierSession,
    SessionReport,
    TakeResult,
    Tojt,
    worst_severity_per_task,
)
from device.screening.models import ModelSet

SCREENING = "screening"


def _screening_results(conn: sqlite3.Connection, session_id: int) \
        -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Newest screening result per take, and the model ids in the order they were used."""
    by_take: dict[int, dict[str, Any]] = {}
    models: list[str] = []
    for row in conn.execute(
            "SELECT take_id, model_id, data_json FROM result WHERE session_id = ? AND kind = ? "
            "ORDER BY created, id", (session_id, SCREENING)):
        if row["take_id"] is None:
            continue
        by_take[int(row["take_id"])] = json.loads(row["data_json"])
        if row["model_id"] and row["model_id"] not in models:
            models.append(row["model_id"])
    return by_take, models


def _card(conn: sqlite3.Connection, model_ids: list[str], models: ModelSet | None) \
        -> CardSummary | None:
    for model_id in reversed(model_ids):
        row = conn.execute("SELECT card_json FROM model_version WHERE id = ?",
                           (model_id,)).fetchone()
        if row is not None:
            return CardSummary.from_card(json.loads(row["card_json"]))
    return CardSummary.from_card(models.card) if models is not None else None


def _earlier(conn: sqlite3.Connection, patient_id: int, started: float,
             session_id: int) -> list[EarlierSession]:
    out = []
    for row in conn.execute(
            "SELECT id, started FROM session WHERE patient_id = ? AND id != ? AND started < ? "
            "ORDER BY started", (patient_id, session_id, started)):
        scores, _ = _screening_results(conn, int(row["id"]))
        severities = worst_severity_per_task(list(scores.values()))
        if severities:
            out.append(EarlierSession(int(row["id"]), float(row["started"]), severities))
    return out


def session_report(conn: sqlite3.Connection, session_id: int, models: ModelSet | None,
                   box_name: str = "dystonia-box", data_dir: Path | None = None,
                   norms: Norms | None = None) -> SessionReport:
    """Everything the summary, charts, PDF and export need for one session.

    With `data_dir`, the session's biomechanics (z-scores against `norms`, default the
    shipped ones) and TOJT results are included too.
    """
    biomechanics: Biomechanics | None = None
    tojt: Tojt | None = None
    if data_dir is not None:
        biomechanics = biomechanics_report(conn, session_id, norms or load_norms())
        tojt = tojt_report(conn, data_dir, session_id)
    session = conn.execute(
        "SELECT s.id, s.patient_id, s.protocol, s.started, p.pseudonym, p.year_of_birth, "
        "c.name AS clinician FROM session s JOIN patient p ON p.id = s.patient_id "
        "LEFT JOIN clinician c ON c.id = s.clinician_id WHERE s.id = ?",
        (session_id,)).fetchone()
    if session is None:
        raise ValueError(f"session {session_id} does not exist")
    scores, model_ids = _screening_results(conn, session_id)
    takes = [
        TakeResult(take_id=int(row["id"]), task=int(row["task"]), dynamics=row["dynamics"],
                   tempo_mode=row["tempo_mode"], file=row["file"],
                   recorded=float(row["recorded"]), status=row["status"],
                   score=scores.get(int(row["id"])))
        for row in conn.execute(
            "SELECT id, task, dynamics, tempo_mode, file, recorded, status FROM take "
            "WHERE session_id = ? ORDER BY recorded, id", (session_id,))
    ]
    return SessionReport(
        box_name=box_name, patient_pseudonym=session["pseudonym"],
        year_of_birth=session["year_of_birth"], session_id=session_id,
        started=float(session["started"]), protocol=session["protocol"],
        clinician=session["clinician"] or "", takes=takes,
        card=_card(conn, model_ids, models),
        earlier=_earlier(conn, int(session["patient_id"]), float(session["started"]),
                         session_id),
        biomechanics=biomechanics, tojt=tojt)
