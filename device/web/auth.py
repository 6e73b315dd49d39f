"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from device.auth.passwords import needs_rehash, spend_verification_time, verify
from device.web.forms import LoginForm, LogoutForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("patients.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    limit = current_app.extensions["login_rate_limit"]
    key = request.remote_addr or "?"
    if form.validate_on_submit():
        wait = limit.wait_s(key)
        if wait > 0:
            flash(f"Too many failed sign-ins. Try again in {int(wait) + 1} s.", "error")
            return render_template("login.html", form=form), 429
        from device.web.app import get_db
        from device.web.users import Clinician

        conn = get_db()
        row = conn.execute("SELECT id, name, password_hash FROM clinician "
                           "WHERE name = ? AND disabled = 0", (form.name.data,)).fetchone()
        if row is not None and verify(row["password_hash"], form.password.data):
            limit.succeeded(key)
            if needs_rehash(row["password_hash"]):
                from device.auth.passwords import hash_password

                conn.execute("UPDATE clinician SET password_hash = ? WHERE id = ?",
                             (hash_password(form.password.data), row["id"]))
            login_user(Clinician(row["id"], row["name"]))
            return redirect(_safe_next(request.args.get("next")))
        if row is None:
            spend_verification_time(form.password.data)
        limit.failed(key)
        flash("Name or password is wrong.", "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
