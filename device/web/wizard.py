"""The session wizard: what to play next, recording, quality checks, retakes."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user

from device import protocol
from device.session.quality import check_take
from device.session.recorder import RawRecording, RecorderError
from device.session.steps import Step, next_step, steps_for
from device.store import raw_recordings, recordings
from device.store.transactions import transaction
from device.web.app import get_db
from device.web.forms import LogoutForm, StepForm
from device.web.keyboard import sequence_text, task_svg

bp = Blueprint("wizard", __name__)


def session_or_404(session_id: int) -> Any:
    row = get_db().execute("SELECT s.*, p.pseudonym FROM session s JOIN patient p "
                           "ON p.id = s.patient_id WHERE s.id = ?", (session_id,)).fetchone()
    if row is None:
        abort(404)
    return row


def _state() -> Any:
    return current_app.extensions["recording"]


@bp.route("/sessions/<int:session_id>")
def session(session_id: int) -> Any:
    conn = get_db()
    row = session_or_404(session_id)
    takes = conn.execute("SELECT * FROM take WHERE session_id = ? ORDER BY id",
                         (session_id,)).fetchall()
    step = next_step(conn, session_id, row["protocol"])
    active = _state().active
    recording_here = active is not None and active.session_id == session_id
    task = protocol.load().task((active.step if recording_here else step).task) \
        if (step or recording_here) else None
    total = len(steps_for(row["protocol"]))
    kept = sum(1 for t in takes if not t["superseded"])
    last = takes[-1] if takes else None
    last_quality = json.loads(last["quality_json"]) if last else {}
    raw = raw_recordings.pending(conn, session_id)
    pending = sum(1 for t in takes if t["status"] in ("recorded", "processing")) \
        + sum(1 for r in raw if r["status"] != "failed")
    return render_template(
        "session.html", session=row, takes=takes, raw=raw, step=step, task=task,
        keyboard=task_svg(task) if task else "", sequence=sequence_text(task) if task else [],
        recording=recording_here, busy=active is not None and not recording_here,
        active=active, total=total, kept=kept, last=last, last_quality=last_quality,
        pending=pending, form=StepForm(), logout=LogoutForm(), user=current_user)


@bp.route("/sessions/<int:session_id>/record/start", methods=["POST"])
def start(session_id: int) -> Any:
    form = StepForm()
    row = session_or_404(session_id)
    if not form.validate_on_submit():
        abort(400)
    step = next_step(get_db(), session_id, row["protocol"])
    if step is None:
        flash("Every task of this session has been recorded.", "info")
        return redirect(url_for("wizard.session", session_id=session_id))
    try:
        _state().start(session_id, step, row["pseudonym"])
    except RecorderError as exc:
        flash(str(exc), "error")
    return redirect(url_for("wizard.session", session_id=session_id))


@bp.route("/sessions/<int:session_id>/record/stop", methods=["POST"])
def stop(session_id: int) -> Any:
    form = StepForm()
    session_or_404(session_id)
    if not form.validate_on_submit():
        abort(400)
    try:
        step, recorded = _state().stop(session_id)
    except RecorderError as exc:
        flash(str(exc), "error")
        return redirect(url_for("wizard.session", session_id=session_id))
    conn = get_db()
    if isinstance(recorded, RawRecording):
        raw_recordings.store_raw(conn, current_app.config["DATA_DIR"], session_id, recorded)
        flash("Recorded. The hands are found in the video in the background; the quality "
              "checks appear in the takes table when that is done.", "info")
    else:
        quality = check_take(recorded, protocol.load().task(step.task),
                             keys_expected=current_app.config["KEYS_EXPECTED"])
        recordings.store_take(conn, current_app.config["DATA_DIR"], session_id, recorded,
                              then=quality.stored_with_take())
    worker = current_app.extensions.get("worker")
    if worker is not None:
        worker.wake()
    return redirect(url_for("wizard.session", session_id=session_id))


@bp.route("/sessions/<int:session_id>/takes/<int:take_id>/retake", methods=["POST"])
def retake(session_id: int, take_id: int) -> Any:
    form = StepForm()
    session_or_404(session_id)
    if not form.validate_on_submit():
        abort(400)
    conn = get_db()
    with transaction(conn):
        changed = conn.execute("UPDATE take SET superseded = 1 WHERE id = ? AND session_id = ?",
                               (take_id, session_id)).rowcount
    if not changed:
        abort(404)
    flash("The take is kept for the record; the task will be recorded again.", "info")
    return redirect(url_for("wizard.session", session_id=session_id))


@bp.route("/camera/preview")
def preview() -> Any:
    picture = _state().recorder.preview()
    if picture is None:
        abort(503)
    data, mimetype = picture
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "no-store"})


@bp.app_template_filter("step_text")
def step_text(step: Step | None) -> str:
    return step.describe() if step else ""
