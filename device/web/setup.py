"""First start: with no clinician account yet, the box prints a one-time code on its console;
whoever can read the console creates the first account here. There is no default password.

After a physical reset (device/maintenance/recovery.py) the same form takes the recovery
code: it creates a new account, or sets a new password for an existing one (re-enabling
it), so a locked-out box is recovered without losing data."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for

from device.auth.passwords import PasswordPolicyError, hash_password
from device.maintenance import recovery
from device.store import records
from device.store.transactions import transaction
from device.web.app import get_db
from device.web.forms import SetupForm

bp = Blueprint("setup", __name__)


def needs_setup() -> bool:
    return get_db().execute("SELECT COUNT(*) FROM clinician").fetchone()[0] == 0


@bp.route("/setup", methods=["GET", "POST"])
def first_account() -> Any:
    code = current_app.config.get("SETUP_CODE")
    recovering = bool(current_app.config.get("RECOVERY"))
    if not code or not (recovering or needs_setup()):
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        if not hmac.compare_digest(form.code.data.strip().upper(), code):
            flash("The code is wrong. It is printed on the box's console.", "error")
        elif form.password.data != form.confirm.data:
            flash("The two passwords differ.", "error")
        else:
            try:
                done = _save_account(form.name.data, hash_password(form.password.data),
                                     recovering)
            except (PasswordPolicyError, ValueError) as exc:
                flash(str(exc), "error")
            else:
                current_app.config["SETUP_CODE"] = None
                if recovering:
                    current_app.config["RECOVERY"] = False
                    recovery.consume(current_app.config["DATA_DIR"],
                                     f"used: {done} {form.name.data.strip()!r}")
                flash(f"Account {done}. Please sign in.", "info")
                return redirect(url_for("auth.login"))
    return render_template("setup.html", form=form, recovering=recovering)


def _save_account(name: str, password_hash: str, recovering: bool) -> str:
    """Create the account; in recovery, an existing one gets the new password instead."""
    conn = get_db()
    if recovering:
        with transaction(conn):
            cursor = conn.execute("UPDATE clinician SET password_hash = ?, disabled = 0 "
                                  "WHERE name = ?", (password_hash, name.strip()))
        if cursor.rowcount:
            return "password reset"
    records.add_clinician(conn, name, password_hash)
    return "created"
