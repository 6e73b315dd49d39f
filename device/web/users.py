"""Clinicians as Flask-Login users."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask_login import UserMixin


@dataclass
class Clinician(UserMixin):
    id: int
    name: str

    def get_id(self) -> str:
        return str(self.id)


def load_clinician(conn: sqlite3.Connection, user_id: str) -> Clinician | None:
    try:
        key = int(user_id)
    except ValueError:
        return None
    row = conn.execute("SELECT id, name FROM clinician WHERE id = ? AND disabled = 0",
                       (key,)).fetchone()
    return Clinician(row["id"], row["name"]) if row else None
