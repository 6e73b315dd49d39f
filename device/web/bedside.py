"""The bedside tests page: force tests per hand with live bars, drop-outs, repeats."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user

from device.procedures.force_plan import FINGER_WORDS, ForceStep
from device.procedures.results_store import MEASURE_WORDS
from device.procedures.rom_run import RomStep
from device.procedures.station import BedsideStation, StationBusyError, hand_plan, next_step
from device.tojt.runner import FINGERS
from device.web.app import get_db
from device.web.forms import LogoutForm, StepForm
from device.web.wizard import session_or_404

bp = Blueprint("bedside", __name__)
HANDS = ("left", "right")
KIND_WORDS = {"max": "maximum strength", "simultaneous": "all five together",
              "independence": "independence (hold 20 %)", "tapping": "tapping",
              "rom": "range of motion"}
STEP_KINDS = {"force": ForceStep, "rom": RomStep}


def _value(m: dict[str, Any]) -> str:
    if m["value"] is None:
        return "—"
    if m["unit"] == "rad":  # angles are shown to people in degrees
        return f"{math.degrees(m['value']):.0f}°"
    return f"{m['value']:.2f} {m['unit']}"


def _station() -> BedsideStation:
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
            "test": "rom" if step.kind == "rom" else "force",
            "results": [f"{MEASURE_WORDS.get(m['measure'], m['measure'])} {_value(m)}"
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
                    "next": {test: next_step(conn, session_id, hand, kind)
                             for test, kind in STEP_KINDS.items()}} for hand in HANDS}
    here = station.live.session_id == session_id
    toj = [json.loads(r["data_json"]) for r in conn.execute(
        "SELECT data_json FROM result WHERE session_id = ? AND kind = 'tojt' ORDER BY id",
        (session_id,))]
    return render_template("tests.html", session=row, hands=hands, live=station.live, toj=toj,
                           running=station.running and here,
                           busy=station.running and not here, form=StepForm(),
                           logout=LogoutForm(), user=current_user)


@bp.route("/sessions/<int:session_id>/tests/<test>/<hand>/start", methods=["POST"])
def start(session_id: int, test: str, hand: str) -> Any:
    session_or_404(session_id)
    if hand not in HANDS or test not in (*STEP_KINDS, "tojt"):
        abort(404)
    if not StepForm().validate_on_submit():
        abort(400)
    station = _station()
    try:
        if test == "tojt":
            station.start_toj(session_id, hand)
        else:
            step = next_step(get_db(), session_id, hand, STEP_KINDS[test])
            if step is None:
                flash(f"Every {KIND_WORDS.get(test, test)} test of the {hand} hand is done.",
                      "info")
            elif isinstance(step, RomStep):
                station.start_rom_step(session_id, step)
            else:
                station.start_force_step(session_id, step)
    except (StationBusyError, OSError, RuntimeError, ValueError) as error:
        flash(f"The test could not start: {error}", "error")
    return redirect(url_for("bedside.page", session_id=session_id))


@bp.route("/sessions/<int:session_id>/tests/tojt/answer/<finger>", methods=["POST"])
def answer(session_id: int, finger: str) -> Any:
    session_or_404(session_id)
    if finger not in FINGERS:
        abort(404)
    if not StepForm().validate_on_submit():
        abort(400)
    _station().answer(finger)
    return ("", 204)


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
