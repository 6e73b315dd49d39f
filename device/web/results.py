"""Results of a session: summary, per task and hand charts, follow-up; the PDF report, the
data as one ZIP, and importing take files recorded elsewhere."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.utils import secure_filename

from device import protocol
from device.reports import charts
from device.reports.export import read_import, write_zip
from device.reports.load import session_report
from device.reports.model import SessionReport, hand_views, key_timing_sentence
from device.reports.pdf import write_pdf
from device.reports.summary import summarise, task_name
from device.session.quality import check_take
from device.store import recordings
from device.web.app import get_db
from device.web.forms import LogoutForm, StepForm
from device.web.wizard import session_or_404

bp = Blueprint("results", __name__)


def build_report(session_id: int) -> SessionReport:
    session_or_404(session_id)
    return session_report(get_db(), session_id, current_app.extensions.get("models"),
                          box_name=current_app.config["BOX_CONFIG"]["box"]["name"],
                          data_dir=current_app.config["DATA_DIR"])


def hand_panels(report: SessionReport) -> list[dict[str, Any]]:
    """Per take, per hand: verdict and the two charts (inline SVG)."""
    panels = []
    for take in sorted(report.takes, key=lambda t: (t.task, t.tempo_mode, t.dynamics)):
        entry: dict[str, Any] = {"take": take, "title": task_name(take.task), "hands": []}
        score = take.score or {}
        for hand, view in hand_views(take.score).items():
            keys = key_timing_sentence(hand, score.get("key_timing", {}).get(hand))
            if view is None:
                entry["hands"].append({"hand": hand, "key_timing": keys, "reason": score.get(
                    "reasons", {}).get(hand, "could not be scored")})
                continue
            norm = report.card.norm_for(take.task, view) if report.card else None
            entry["hands"].append({
                "hand": hand, "view": view, "key_timing": keys,
                "findings": view.findings(motion_note_only=True),  # the summary says the rest
                "score_svg": charts.score_chart(view.error, norm, f"{hand} hand against "
                                                "healthy hands") if norm else "",
                "map_svg": charts.explanation_map(view.explanation, view.window_s,
                                                  f"{hand} hand: where and when")
                if view.explanation else "",
            })
        panels.append(entry)
    return panels


@bp.route("/sessions/<int:session_id>/results")
def show(session_id: int) -> Any:
    report = build_report(session_id)
    followup = charts.followup_chart([*report.earlier, *current_visit(report)]) \
        if report.earlier else ""
    return render_template("results.html", report=report, summary=summarise(report),
                           panels=hand_panels(report), followup=followup,
                           form=StepForm(), logout=LogoutForm(), user=current_user)


def current_visit(report: SessionReport) -> list[Any]:
    from device.reports.model import EarlierSession, worst_severity_per_task

    severities = worst_severity_per_task([t.score for t in report.takes])
    return [EarlierSession(report.session_id, report.started, severities)] if severities else []


def _report_pdf(report: SessionReport) -> Path:
    path = current_app.config["DATA_DIR"] / "reports" / f"session-{report.session_id:06d}.pdf"
    return write_pdf(report, path)


@bp.route("/sessions/<int:session_id>/report.pdf")
def pdf(session_id: int) -> Any:
    report = build_report(session_id)
    path = _report_pdf(report)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=f"{report.patient_pseudonym}-session-{session_id}.pdf")


@bp.route("/sessions/<int:session_id>/export.zip")
def export(session_id: int) -> Any:
    report = build_report(session_id)
    data_dir = current_app.config["DATA_DIR"]
    path = write_zip(report, data_dir, data_dir / "exports" / f"session-{session_id:06d}.zip",
                     pdf=_report_pdf(report))
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"{report.patient_pseudonym}-session-{session_id}.zip")


@bp.route("/sessions/<int:session_id>/import", methods=["POST"])
def import_takes(session_id: int) -> Any:
    form = StepForm()
    row = session_or_404(session_id)
    if not form.validate_on_submit():
        abort(400)
    uploads = [f for f in request.files.getlist("takes") if f and f.filename]
    if not uploads:
        flash("Choose one or more take files (.take.npz) or a ZIP of them.", "error")
        return redirect(url_for("wizard.session", session_id=session_id))
    conn = get_db()
    data_dir = current_app.config["DATA_DIR"]
    stored = 0
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        paths = []
        for number, upload in enumerate(uploads):
            name = secure_filename(upload.filename) or f"upload-{number}"
            path = Path(tmp) / f"{number:03d}" / name  # one folder each: same names may repeat
            path.parent.mkdir()
            upload.save(path)
            paths.append(path)
        result = read_import(paths)
        for item in result.valid:
            take = item.take
            take.meta = {**take.meta, "participant": row["pseudonym"],
                         "imported_from": item.name}
            quality = check_take(take, protocol.load().task(take.task))
            recordings.store_take(conn, data_dir, session_id, take,
                                  then=quality.stored_with_take())
            stored += 1
    for error in result.errors:
        flash(f"Not imported: {error}", "error")
    if stored:
        flash(f"Imported {stored} take(s); they are being processed.", "info")
        worker = current_app.extensions.get("worker")
        if worker is not None:
            worker.wake()
    return redirect(url_for("wizard.session", session_id=session_id))
