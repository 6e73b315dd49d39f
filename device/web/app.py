"""The Flask application: sign-in, patients, sessions, and a small JSON API."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, redirect, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from device.config import Config
from device.procedures.station import BedsideStation
from device.screening.models import ModelSet
from device.session.recorder import Recorder, RecordingState
from device.store import db
from device.web.ratelimit import LoginRateLimit
from device.web.secrets import secret_key
from device.web.users import Clinician, load_clinician

PUBLIC_ENDPOINTS = {"auth.login", "setup.first_account", "static"}


def get_db() -> sqlite3.Connection:
    """One connection per request, closed at its end."""
    if "db" not in g:
        from flask import current_app

        g.db = db.connect(current_app.config["DATA_DIR"] / db.DB_FILE)
    return g.db


def _datetime(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def create_app(config: Config, data_dir: Path, recorder: Recorder,
               models: ModelSet | None = None, *, testing: bool = False,
               keys_expected: bool = True) -> Flask:
    """The app; ``recorder`` records takes (simulated or real, chosen by the caller) and
    ``models`` are the installed screening models (for the results pages)."""
    app = Flask(__name__)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    db.connect(data_dir / db.DB_FILE).close()  # create and migrate before the first request
    app.config.update(
        SECRET_KEY=secret_key(data_dir),
        DATA_DIR=data_dir,
        BOX_CONFIG=config,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # The box serves plain HTTP on its own hotspot; behind HTTPS set web.https = true.
        SESSION_COOKIE_SECURE=bool(config["web"].get("https", False)),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=256 * 1024 * 1024,
        KEYS_EXPECTED=keys_expected,
    )
    app.extensions["recording"] = RecordingState(recorder)
    app.extensions["models"] = models
    app.extensions["station"] = BedsideStation(config, data_dir)
    app.extensions["login_rate_limit"] = LoginRateLimit()
    app.jinja_env.filters["datetime"] = _datetime
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = "Please sign in."

    @login.user_loader
    def _load(user_id: str) -> Clinician | None:
        return load_clinician(get_db(), user_id)

    @login.unauthorized_handler
    def _unauthorized() -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error="sign-in required"), 401
        return redirect(url_for("auth.login", next=request.path))

    @app.before_request
    def _require_login() -> Any:
        if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
            return None
        return login.unauthorized()

    # After the sign-in check, so a request without a session is told to sign in first.
    CSRFProtect(app)

    @app.teardown_appcontext
    def _close(_: BaseException | None) -> None:
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
        return response

    from device.web import api, auth, bedside, patients, results, setup, status, wizard

    app.register_blueprint(auth.bp)
    app.register_blueprint(setup.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(wizard.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(bedside.bp)
    app.register_blueprint(status.bp)
    return app
