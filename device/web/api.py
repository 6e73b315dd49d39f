"""A small JSON API under /api/ for the same data; login required (the session cookie).
Its description is served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify

from device import __version__
from device.web.app import get_db
from device.web.patients import patient_or_404, sessions_of

bp = Blueprint("api", __name__, url_prefix="/api")

PATIENT_KEYS = ("id", "pseudonym", "year_of_birth", "sex", "handedness", "affected_side",
                "notes", "created")
SESSION_KEYS = ("id", "patient_id", "clinician_id", "protocol", "started", "finished", "notes")
TAKE_KEYS = ("id", "task", "dynamics", "tempo_mode", "file", "sha256", "recorded", "status")


def pick(row: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: row[k] for k in keys}


@bp.get("/patients")
def patients() -> Any:
    rows = get_db().execute("SELECT * FROM patient ORDER BY pseudonym").fetchall()
    return jsonify([pick(r, PATIENT_KEYS) for r in rows])


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int) -> Any:
    conn = get_db()
    row = patient_or_404(conn, patient_id)
    return jsonify({**pick(row, PATIENT_KEYS),
                    "sessions": [pick(s, SESSION_KEYS) for s in sessions_of(conn, patient_id)]})


@bp.get("/sessions/<int:session_id>")
def session(session_id: int) -> Any:
    conn = get_db()
    row = conn.execute("SELECT * FROM session WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        abort(404)
    takes = conn.execute("SELECT * FROM take WHERE session_id = ?", (session_id,)).fetchall()
    return jsonify({**pick(row, SESSION_KEYS), "takes": [pick(t, TAKE_KEYS) for t in takes]})


def _object(keys: tuple[str, ...], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {k: {} for k in keys}
    return {"type": "object", "properties": {**props, **(extra or {})}}


@bp.get("/openapi.json")
def openapi() -> Any:
    cookie = {"cookieAuth": []}
    def op(summary: str, schema: dict[str, Any], param: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "summary": summary, "security": [cookie],
            "responses": {"200": {"description": "OK",
                                  "content": {"application/json": {"schema": schema}}},
                          "401": {"description": "sign-in required"},
                          "404": {"description": "not found"}}}
        if param:
            out["parameters"] = [{"name": param, "in": "path", "required": True,
                                  "schema": {"type": "integer"}}]
        return out
    return jsonify({
        "openapi": "3.0.3",
        "info": {"title": "Dystonia screening box API", "version": __version__},
        "components": {"securitySchemes": {
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "the session cookie from signing in at /login"}}},
        "paths": {
            "/api/patients": {"get": op("All patients", {"type": "array",
                                                         "items": _object(PATIENT_KEYS)})},
            "/api/patients/{patient_id}": {"get": op(
                "One patient with their sessions",
                _object(PATIENT_KEYS, {"sessions": {"type": "array",
                                                    "items": _object(SESSION_KEYS)}}),
                "patient_id")},
            "/api/sessions/{session_id}": {"get": op(
                "One session with its takes",
                _object(SESSION_KEYS, {"takes": {"type": "array", "items": _object(TAKE_KEYS)}}),
                "session_id")},
            "/api/openapi.json": {"get": op("This description", {"type": "object"})},
        },
    })
