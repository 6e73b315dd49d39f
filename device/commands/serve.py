"""``dystonia-box serve [--host H] [--port P]``: the appliance: web page, recording, worker.

``dystonia-box demo``: a complete quick screen on simulated hardware and synthetic data,
end to end, leaving a session in the store."""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from device.commands.take import settings_from
from device.screening import models as models_mod
from device.session.recorder import RecorderError
from device.store import db, recordings, records

log = logging.getLogger(__name__)


def add_parsers(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the appliance (web page, recording, "
                                                "processing)")
    serve.add_argument("--host", default=None, help="address to listen on (default: config)")
    serve.add_argument("--port", type=int, default=None, help="TCP port (default: config)")
    serve.set_defaults(func=run_serve)
    demo = subparsers.add_parser("demo", help="a complete quick screen on simulated hardware; "
                                              "prints the report's path last")
    demo.set_defaults(func=run_demo)


def load_models(context: Any) -> models_mod.ModelSet:
    chosen = context.config["screening"]["models_dir"] or None
    return models_mod.load(Path(chosen) if chosen else None)


def run_serve(args: argparse.Namespace, context: Any) -> int:
    import waitress

    from device.maintenance import recovery, shutdowns
    from device.serving import run_until_stopped
    from device.session.analysis import AnalysisSettings
    from device.session.factory import build_recorder
    from device.session.worker import Worker
    from device.systemd_notify import Notifier
    from device.web.app import create_app

    cfg = context.config
    notifier = Notifier()
    try:
        recorder = build_recorder(cfg, context.data_dir)
        models = load_models(context)
    except (RecorderError, models_mod.ModelError) as exc:
        print(f"dystonia-box: {exc}", file=sys.stderr)
        notifier.status(f"failed: {exc}")
        return 2
    if shutdowns.mark_started(context.data_dir):
        count = shutdowns.unclean_shutdowns(context.data_dir).count
        log.warning("the box did not stop cleanly last time (%d unclean stops so far)", count)
    conn = db.connect(context.data_dir / db.DB_FILE)
    recordings.reconcile(conn, context.data_dir)
    first_start = conn.execute("SELECT COUNT(*) FROM clinician").fetchone()[0] == 0
    conn.close()
    app = create_app(cfg, context.data_dir, recorder, models)
    host = args.host or cfg["web"]["host"]
    port = args.port or cfg["web"]["port"]
    recovery_code = recovery.pending_code(context.data_dir)
    if recovery_code:
        app.config.update(SETUP_CODE=recovery_code, RECOVERY=True)
        print(f"Recovery: open http://{host}:{port}/setup and enter the recovery code "
              f"{recovery_code} to create an account or set a new password", flush=True)
    elif first_start:
        code = recovery.new_code()
        app.config["SETUP_CODE"] = code
        print(f"First start: no clinician account yet. Open http://{host}:{port}/setup and "
              f"enter the one-time code {code}", flush=True)
    vision = cfg["vision"]
    analysis = AnalysisSettings(
        models_dir=Path(vision["models_dir"]) if vision["models_dir"] else None,
        variant=vision["variant"], palm_precision=vision["palm_precision"],
        landmark_precision=vision["landmark_precision"])
    worker = Worker(context.data_dir, models, settings_from(context), analysis=analysis)
    worker.start()
    app.extensions["worker"] = worker
    if not models.clinical_use:
        print(f"Models {models.id} were trained on {models.trained_on} data: not for clinical "
              "use.", flush=True)
    server = waitress.create_server(app, host=host, port=port, threads=6, ident="dystonia-box")
    print(f"Serving on http://{host}:{port}/ (data in {context.data_dir})", flush=True)
    try:
        run_until_stopped(server, notifier, f"serving on {host}:{port}",
                          checks={"processing worker": worker.is_alive})
    finally:
        worker.stop()
        app.extensions["station"].close()
        close = getattr(recorder, "close", None)
        if close is not None:
            close()
        shutdowns.mark_stopped(context.data_dir)
    return 0


def run_demo(args: argparse.Namespace, context: Any) -> int:
    from device import protocol
    from device.auth.passwords import hash_password
    from device.procedures.demo import run_bedside_demo
    from device.reports.load import session_report
    from device.reports.pdf import write_pdf
    from device.reports.summary import summarise
    from device.session import worker
    from device.session.quality import check_take
    from device.session.simulated import SimulatedRecorder
    from device.session.steps import steps_for
    from device.store.transactions import transaction

    try:
        models = load_models(context)
    except models_mod.ModelError as exc:
        print(f"dystonia-box: {exc}", file=sys.stderr)
        return 2
    data_dir = context.data_dir
    conn = db.connect(data_dir / db.DB_FILE)
    recordings.reconcile(conn, data_dir)
    if conn.execute("SELECT COUNT(*) FROM clinician").fetchone()[0] == 0:
        password = secrets.token_urlsafe(9)
        records.add_clinician(conn, "demo", hash_password(password))
        print(f"Created the clinician account 'demo' with password {password}")
    pseudonym = f"DEMO-{time.strftime('%Y%m%d-%H%M%S')}"
    sim = context.config["simulation"]
    patient_id = records.add_patient(conn, pseudonym, handedness="right",
                                     affected_side="unknown",
                                     notes=f"simulated {sim['patient']} pianist, seed "
                                           f"{sim['seed']}")
    session_id = records.start_session(conn, patient_id, "quick")
    recorder = SimulatedRecorder(sim["patient"], sim["seed"])
    proto = protocol.load()
    steps = steps_for("quick")
    for number, step in enumerate(steps, 1):
        recorder.start(step, pseudonym)
        take = recorder.stop()
        quality = check_take(take, proto.task(step.task))
        recordings.store_take(conn, data_dir, session_id, take, then=quality.stored_with_take())
        print(f"[{number:2d}/{len(steps)}] recorded {step.describe()}"
              + ("" if quality.ok else f" (check: {quality.problems[0]})"), flush=True)
    worker.process_all(conn, data_dir, models, settings_from(context))
    run_bedside_demo(conn, data_dir, session_id, sim,
                     say=lambda line: print(f"      {line}", flush=True))
    rows = conn.execute("SELECT r.data_json FROM result r JOIN take t ON t.id = r.take_id "
                        "WHERE t.session_id = ? AND r.kind = 'screening'",
                        (session_id,)).fetchall()
    abnormal = sum(1 for r in rows if json.loads(r[0]).get("abnormal"))
    with transaction(conn):
        conn.execute("UPDATE session SET finished = ? WHERE id = ?", (time.time(), session_id))
    print(f"Session {session_id} of {pseudonym}: {len(rows)} takes scored, {abnormal} "
          f"abnormal (models {models.id}, trained on {models.trained_on} data: "
          f"{'clinical use' if models.clinical_use else 'not for clinical use'})")
    report = session_report(conn, session_id, models, box_name=context.config["box"]["name"],
                            data_dir=data_dir)
    conn.close()
    print(summarise(report).headline)
    pdf = write_pdf(report, data_dir / "reports" / f"session-{session_id:06d}.pdf")
    print(pdf.resolve())
    return 0
