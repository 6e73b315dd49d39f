"""The bedside tests page: force tests per hand with live bars, drop-outs, repeats."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user

from device.procedures.force_plan import FINGER_WORDS
from device.procedures.results_store import MEASURE_WORDS
from device.procedures.station import StationBusyError, TestStation, hand_plan, next_force_step
from device.web.app import get_db
from device.web.forms import LogoutForm, StepForm
from device.web.wizard import session_or_404

bp = Blueprint("bedside", __name__)
HANDS = ("left", "right")
KIND_WORDS = {"max": "maximum strength", "simultaneous": "all five together",
              "independence": "independence (hold 20 %)", "tapping": "tapping"}


def _station() -> TestStation:
    return current_app.extensions["station"]


def _rows(session_id: int, hand: str) -> list[dict[str, Any]]:
    rows = []
    for step, stored in hand_plan(get_db(), session_id, hand):
        measures = stored["measures"] if stored else []
        rows.append({
            "step": step, "what": KIND_WORDS[step.kind],
            "finger": FINGER_WORDS.get(step.finger or "", "all fingers"),
            "state": "to do" if stored is None else ("done" if stored["completed"]
                                                      else "interrupted"),
            "message": stored["message"] if stored else "",
            "values": [f"{MEASURE_WORDS.get(m['measure'], m['measure'])} "
                       + ("—" if m["value"] is None else f"{m['value']:.2f} {m['unit']}")
                       + (f" ({', '.join(m['flags'])})" if m["flags"] else "")
                       for m in measures],
        })
    return rows


@bp.route("/sessions/<int:session_id>/tests")
def page(session_id: int) -> Any:
    row = session_or_404(session_id)
    conn = get_db()
    station = _station()
    hands = {hand: {"rows": _rows(session_id, hand),
                    "next": next_force_step(conn, session_id, hand)} for hand in HANDS}
    here = station.live.session_id == session_id
    return render_template("tests.html", session=row, hands=hands, live=station.live,
                           running=station.running and here,
                           busy=station.running and not here, form=StepForm(),
                           logout=LogoutForm(), user=current_user)


@bp.route("/sessions/<int:session_id>/tests/force/<hand>/start", methods=["POST"])
def start_force(session_id: int, hand: str) -> Any:
    session_or_404(session_id)
    if hand not in HANDS:
        abort(404)
    if not StepForm().validate_on_submit():
        abort(400)
    step = next_force_step(get_db(), session_id, hand)
    if step is None:
        flash(f"Every force test of the {hand} hand is done.", "info")
    else:
        try:
            _station().start_force_step(session_id, step)
        except (StationBusyError, OSError, ValueError) as error:
            flash(f"The test could not start: {error}", "error")
    return redirect(url_for("bedside.page", session_id=session_id))


@bp.route("/sessions/<int:session_id>/tests/cancel", methods=["POST"])
def cancel(session_id: int) -> Any:
    session_or_404(session_id)
    if not StepForm().validate_on_submit():
        abort(400)
    _station().cancel()
    return redirect(url_for("bedside.page", session_id=session_id))


@bp.route("/sessions/<int:session_id>/tests/live")
def live(session_id: int) -> Any:
    session_or_404(session_id)
    station = _station()
    if station.live.session_id != session_id:
        return jsonify(running=False)
    return jsonify(station.live.as_json())
