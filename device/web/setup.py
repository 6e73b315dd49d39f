"""First start: with no clinician account yet, the box prints a one-time code on its console;
whoever can read the console creates the first account here. There is no default password."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for

from device.auth.passwords import PasswordPolicyError, hash_password
from device.store import records
from device.web.app import get_db
from device.web.forms import SetupForm

bp = Blueprint("setup", __name__)


def new_code() -> str:
    raw = secrets.token_hex(4).upper()
    return f"{raw[:4]}-{raw[4:]}"


def needs_setup() -> bool:
    return get_db().execute("SELECT COUNT(*) FROM clinician").fetchone()[0] == 0


@bp.route("/setup", methods=["GET", "POST"])
def first_account() -> Any:
    code = current_app.config.get("SETUP_CODE")
    if not code or not needs_setup():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        if not hmac.compare_digest(form.code.data.strip().upper(), code):
            flash("The code is wrong. It is printed on the box's console.", "error")
        elif form.password.data != form.confirm.data:
            flash("The two passwords differ.", "error")
        else:
            try:
                records.add_clinician(get_db(), form.name.data,
                                      hash_password(form.password.data))
            except (PasswordPolicyError, ValueError) as exc:
                flash(str(exc), "error")
            else:
                current_app.config["SETUP_CODE"] = None
                flash("Account created. Please sign in.", "info")
                return redirect(url_for("auth.login"))
    return render_template("setup.html", form=form)
