"""Clinicians, patients and sessions."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from device.store.transactions import transaction

PATIENT_FIELDS = ("year_of_birth", "sex", "handedness", "affected_side", "notes")


def add_clinician(conn: sqlite3.Connection, name: str, password_hash: str) -> int:
    name = name.strip()
    if not name:
        raise ValueError("a clinician needs a name")
    try:
        with transaction(conn):
            cursor = conn.execute(
                "INSERT INTO clinician (name, password_hash, created) VALUES (?, ?, ?)",
                (name, password_hash, time.time()))
    except sqlite3.IntegrityError:
        raise ValueError(f"a clinician named {name!r} already exists") from None
    return int(cursor.lastrowid)


def add_patient(conn: sqlite3.Connection, pseudonym: str, **fields: Any) -> int:
    pseudonym = pseudonym.strip()
    if not pseudonym:
        raise ValueError("a patient needs a pseudonym")
    unknown = set(fields) - set(PATIENT_FIELDS)
    if unknown:
        raise ValueError(f"unknown patient field(s): {', '.join(sorted(unknown))}")
    columns = ["pseudonym", "created", *fields]
    values = [pseudonym, time.time(), *fields.values()]
    try:
        with transaction(conn):
            cursor = conn.execute(
                f"INSERT INTO patient ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})", values)
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" in str(exc):
            raise ValueError(f"a patient with pseudonym {pseudonym!r} already exists") from None
        raise ValueError(f"patient {pseudonym!r}: invalid value ({exc})") from None
    return int(cursor.lastrowid)


def start_session(conn: sqlite3.Connection, patient_id: int, protocol: str,
                  clinician_id: int | None = None) -> int:
    if protocol not in ("full", "quick"):
        raise ValueError(f"protocol must be full or quick, got {protocol!r}")
    try:
        with transaction(conn):
            cursor = conn.execute(
                "INSERT INTO session (patient_id, clinician_id, protocol, started) "
                "VALUES (?, ?, ?, ?)", (patient_id, clinician_id, protocol, time.time()))
    except sqlite3.IntegrityError:
        raise ValueError(f"patient {patient_id} does not exist") from None
    return int(cursor.lastrowid)
