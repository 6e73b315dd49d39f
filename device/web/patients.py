"""Patients and their sessions."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from device.store import records
from device.web.app import get_db
from device.web.forms import LogoutForm, PatientForm, SessionForm

bp = Blueprint("patients", __name__)


def patient_or_404(conn: sqlite3.Connection, patient_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM patient WHERE id = ?", (patient_id,)).fetchone()
    if row is None:
        abort(404)
    return row


def sessions_of(conn: sqlite3.Connection, patient_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT s.*, (SELECT COUNT(*) FROM take t WHERE t.session_id = s.id) AS n_takes "
        "FROM session s WHERE s.patient_id = ? ORDER BY s.started DESC", (patient_id,)
    ).fetchall()


@bp.route("/")
def index() -> Any:
    conn = get_db()
    patients = conn.execute(
        "SELECT p.*, (SELECT MAX(started) FROM session s WHERE s.patient_id = p.id) AS last "
        "FROM patient p ORDER BY p.pseudonym").fetchall()
    return render_template("patients.html", patients=patients, form=PatientForm(),
                           logout=LogoutForm(), user=current_user)


@bp.route("/patients", methods=["POST"])
def create() -> Any:
    form = PatientForm()
    if not form.validate_on_submit():
        conn = get_db()
        patients = conn.execute("SELECT p.*, NULL AS last FROM patient p "
                                "ORDER BY p.pseudonym").fetchall()
        return render_template("patients.html", patients=patients, form=form,
                               logout=LogoutForm(), user=current_user), 400
    fields = {k: getattr(form, k).data for k in records.PATIENT_FIELDS}
    fields = {k: v for k, v in fields.items() if v not in (None, "")}
    try:
        patient_id = records.add_patient(get_db(), form.pseudonym.data, **fields)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("patients.index"))
    return redirect(url_for("patients.show", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>")
def show(patient_id: int) -> Any:
    conn = get_db()
    patient = patient_or_404(conn, patient_id)
    return render_template("patient.html", patient=patient,
                           sessions=sessions_of(conn, patient_id), form=SessionForm(),
                           logout=LogoutForm(), user=current_user)


@bp.route("/patients/<int:patient_id>/sessions", methods=["POST"])
def start_session(patient_id: int) -> Any:
    form = SessionForm()
    conn = get_db()
    patient_or_404(conn, patient_id)
    if not form.validate_on_submit():
        abort(400)
    session_id = records.start_session(conn, patient_id, form.protocol.data,
                                       int(current_user.get_id()))
    return redirect(url_for("wizard.session", session_id=session_id))
