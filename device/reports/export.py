"""One ZIP download of a session's data, and validating take files recorded elsewhere.

The archive holds the take files, ``results.json`` (session, patient pseudonym only, takes
with their scoring results, model card summary), ``results.csv`` (one row per take and
hand) and the PDF when given. Nothing identifying beyond the pseudonym and year of birth
leaves the box.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device import takefile
from device.atomic import atomic_open
from device.reports.model import SessionReport, TakeResult, hand_views

CSV_COLUMNS = ("take_id", "task", "dynamics", "tempo_mode", "hand", "error", "threshold",
               "abnormal", "severity", "worst_finger", "worst_moment_start_s",
               "worst_moment_end_s", "reason", "key_timing_score", "key_timing_threshold",
               "key_timing_abnormal", "key_timing_finger", "key_timing_reason",
               "tracking_noise", "tracking_noise_limit", "notes_followed", "notes_expected",
               "plays_the_task", "trimmed_by")
TAKES_DIR = "takes"
MAX_MEMBER_BYTES = 1 << 30  # a take of ten minutes at 60 fps is ~20 MB; refuse ZIP bombs


def results_json(report: SessionReport) -> dict[str, Any]:
    return {
        "format": "dystonia-session-export/1",
        "box": report.box_name,
        "session": {"id": report.session_id, "started": report.started,
                    "protocol": report.protocol, "clinician": report.clinician},
        "patient": {"pseudonym": report.patient_pseudonym,
                    "year_of_birth": report.year_of_birth},
        "takes": [{"id": t.take_id, "task": t.task, "dynamics": t.dynamics,
                   "tempo_mode": t.tempo_mode, "file": f"{TAKES_DIR}/{Path(t.file).name}",
                   "recorded": t.recorded, "status": t.status, "result": t.score}
                  for t in report.takes],
        "model": report.card.as_dict() if report.card else None,
    }


def _csv_rows(take: TakeResult) -> list[dict[str, Any]]:
    base = {"take_id": take.take_id, "task": take.task, "dynamics": take.dynamics,
            "tempo_mode": take.tempo_mode}
    if take.score is None:
        return [{**base, "reason": f"not scored (status {take.status})"}]
    reasons = take.score.get("reasons", {})
    rows = []
    for hand, view in hand_views(take.score).items():
        keys = _key_timing_columns(take.score.get("key_timing", {}).get(hand))
        if view is None:
            rows.append({**base, "hand": hand, **keys,
                         "reason": reasons.get(hand) or take.score.get("reason", "")})
            continue
        window = view.worst_window_s
        rows.append({**base, "hand": hand, **keys, "error": f"{view.error:.6g}",
                     "threshold": f"{view.threshold:.6g}", "abnormal": str(view.abnormal).lower(),
                     "severity": f"{view.severity:.4f}", "worst_finger": view.worst_finger or "",
                     "trimmed_by": view.trimmed_by,
                     "worst_moment_start_s": f"{window[0]:.3f}" if window else "",
                     "worst_moment_end_s": f"{window[1]:.3f}" if window else "",
                     **({"tracking_noise": f"{view.tracking.noise:.5f}",
                         "tracking_noise_limit": f"{view.tracking.limit:.5f}"}
                        if view.tracking else {}),
                     **({"notes_followed": view.passage.followed,
                         "notes_expected": view.passage.expected,
                         "plays_the_task": str(view.passage.as_the_task).lower()}
                        if view.passage else {})})
    return rows


def _key_timing_columns(result: dict[str, Any] | None) -> dict[str, str]:
    """The second measure's columns (device/screening/key_timing.py); empty without it."""
    if not result:
        return {}
    if result.get("abnormal") is None:
        return {"key_timing_reason": str(result.get("reason", ""))}
    return {"key_timing_score": f"{result['score']:.3f}",
            "key_timing_threshold": f"{result['threshold']:.3f}",
            "key_timing_abnormal": str(result["abnormal"]).lower(),
            "key_timing_finger": result["finger"]}


def results_csv(report: SessionReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for take in report.takes:
        writer.writerows(_csv_rows(take))
    return out.getvalue()


def write_zip(report: SessionReport, data_dir: Path, path: Path,
              pdf: Path | None = None) -> Path:
    """Write the session's archive atomically to ``path``; returns ``path``.

    A take file missing on disk is a ``FileNotFoundError`` naming it: an export that leaves
    out recorded data silently would be worse than none.
    """
    path = Path(path)
    with atomic_open(path) as handle, \
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for take in report.takes:
            source = Path(data_dir) / take.file
            if not source.is_file():
                raise FileNotFoundError(f"take {take.take_id}: file {source} is missing")
            archive.write(source, f"{TAKES_DIR}/{source.name}")
        archive.writestr("results.json", json.dumps(results_json(report), indent=1))
        archive.writestr("results.csv", results_csv(report))
        if pdf is not None:
            archive.write(pdf, "report.pdf")
    return path


@dataclass
class ImportedTake:
    name: str  # the file's name as the user gave it (a ZIP member is "archive.zip:member")
    take: takefile.Take


@dataclass
class ImportResult:
    valid: list[ImportedTake] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per refused file


def _read_one(result: ImportResult, name: str, path: Path) -> None:
    try:
        take = takefile.read(path)
    except takefile.TakeFileError as exc:
        where = f"key '{exc.key}': " if exc.key else ""
        result.errors.append(f"{name}: {where}{exc.problem}")
        return
    result.valid.append(ImportedTake(name, take))


def read_import(paths: list[Path]) -> ImportResult:
    """Validate take files (``.take.npz``) or ZIP archives of them for import.

    A ZIP's members are read one by one through a temporary file (the take reader wants a
    path); members that are not take files are reported, never silently skipped.
    """
    result = ImportResult()
    for path in map(Path, paths):
        if path.suffix.lower() != ".zip":
            _read_one(result, path.name, path)
            continue
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            result.errors.append(f"{path.name}: not a readable ZIP archive ({exc})")
            continue
        with archive, tempfile.TemporaryDirectory(prefix="import-") as tmp:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if not members:
                result.errors.append(f"{path.name}: the archive is empty")
            for member in members:
                name = f"{path.name}:{member.filename}"
                if not member.filename.endswith(".take.npz"):
                    result.errors.append(f"{name}: not a take file (*.take.npz)")
                    continue
                if member.file_size > MAX_MEMBER_BYTES:
                    result.errors.append(f"{name}: {member.file_size} bytes unpacked, more "
                                         f"than any take file ({MAX_MEMBER_BYTES} allowed)")
                    continue
                target = Path(tmp) / "member.take.npz"
                try:
                    target.write_bytes(archive.read(member))
                except (zipfile.BadZipFile, OSError) as exc:
                    result.errors.append(f"{name}: damaged in the archive ({exc})")
                    continue
                _read_one(result, name, target)
    return result
