"""The box's status page: disk space, unclean shutdowns, models, and a backup download.

Warnings that need action (a disk filling up, a box switched off without shutting down)
also appear at the top of every page.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, after_this_request, current_app, render_template, send_file
from flask_login import current_user

from device import __version__
from device.maintenance import backup
from device.maintenance.shutdowns import unclean_shutdowns
from device.maintenance.storage import disk_state
from device.web.forms import LogoutForm, StepForm

bp = Blueprint("status", __name__)


def warnings() -> list[str]:
    """What the clinician should know on every page."""
    data_dir: Path = current_app.config["DATA_DIR"]
    config = current_app.config["BOX_CONFIG"]
    out = []
    disk = disk_state(data_dir, config["storage"])
    if disk.warning:
        out.append(disk.message)
    stops = unclean_shutdowns(data_dir)
    if stops.count:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(stops.last)) if stops.last else "?"
        out.append(f"The box was switched off without shutting down {stops.count} time(s), "
                   f"last noticed {when}. Completed takes are kept; shut down from the page "
                   "or hold the power button briefly next time.")
    return out


@bp.app_context_processor
def _box_warnings() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"box_warnings": []}
    return {"box_warnings": warnings()}


@bp.route("/status")
def page() -> Any:
    data_dir: Path = current_app.config["DATA_DIR"]
    config = current_app.config["BOX_CONFIG"]
    models = current_app.extensions.get("models")
    return render_template(
        "status.html", version=__version__, disk=disk_state(data_dir, config["storage"]),
        stops=unclean_shutdowns(data_dir), models=models, box=config["box"]["name"],
        form=StepForm(), logout=LogoutForm(), user=current_user)


@bp.route("/status/backup", methods=["POST"])
def download_backup() -> Any:
    if not StepForm().validate_on_submit():
        abort(400)
    config = current_app.config["BOX_CONFIG"]
    folder = Path(tempfile.mkdtemp(prefix="dystonia-backup-"))
    name = f"dystonia-backup-{config['box']['name']}-{time.strftime('%Y%m%d-%H%M%S')}.tar"
    path = backup.create(current_app.config["DATA_DIR"], folder / name, config.source,
                         config["box"]["name"])

    @after_this_request
    def _remove(response: Any) -> Any:
        path.unlink(missing_ok=True)
        folder.rmdir()
        return response

    return send_file(path, as_attachment=True, download_name=name,
                     mimetype="application/x-tar")
