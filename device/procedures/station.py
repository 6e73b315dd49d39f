"""The bedside tests as the page drives them: one test at a time, in a background thread.

The station opens the configured hardware when a test first needs it (so the page works on a
box whose force cells are unplugged, and says so when a test is started), runs the step,
stores its outcome with its recording, and keeps a live view the page polls.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.biomech.measure import Measure
from device.hardware.force import ForceCells, open_force_cells
from device.procedures.force_plan import ForceStep, force_plan, max_steps
from device.procedures.force_run import LiveForce, Performer, run_force_step
from device.procedures.results_store import force_results, save_force_outcome
from device.procedures.simulated_patient import SimulatedForcePatient
from device.store import db

log = logging.getLogger(__name__)


class StationBusyError(RuntimeError):
    """Another test is running on this box."""


@dataclass
class LiveState:
    """What the page shows about the test in progress (or the last one)."""

    running: bool = False
    session_id: int | None = None
    title: str = ""
    instruction: str = ""
    elapsed_s: float = 0.0
    duration_s: float = 0.0
    go: bool = False
    newtons: tuple[float, ...] = ()
    finger: str | None = None
    target_n: float | None = None
    message: str = ""  # the outcome of the last step, in words

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def stored_maxima(rows: Mapping[str, dict[str, Any]], hand: str) -> dict[str, Measure]:
    out = {}
    for row in rows.values():
        if row["hand"] == hand and row["kind"] == "max" and row["completed"]:
            measure = Measure.from_dict(row["measures"][0])
            out[measure.finger] = measure
    return out


def hand_plan(conn: sqlite3.Connection, session_id: int, hand: str) \
        -> list[tuple[ForceStep, dict[str, Any] | None]]:
    """Each force step of a hand with its latest stored result (None when not yet run)."""
    rows = force_results(conn, session_id)
    maxima = stored_maxima(rows, hand)
    maxima_n = {f: float(m.value) for f, m in maxima.items() if m.ok and m.value > 0}
    steps = force_plan(hand, maxima_n) if maxima_n else max_steps(hand)
    return [(step, rows.get(step.key)) for step in steps]


def next_force_step(conn: sqlite3.Connection, session_id: int, hand: str) -> ForceStep | None:
    return next((step for step, row in hand_plan(conn, session_id, hand)
                 if row is None or not row["completed"]), None)


class TestStation:
    """Runs bedside tests for the page; `open_cells` is injectable for tests."""

    def __init__(self, config: Mapping[str, Mapping[str, Any]], data_dir: Path, *,
                 open_cells: Callable[[], ForceCells] | None = None) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self._open_cells = open_cells or (lambda: open_force_cells(config))
        self._cells: ForceCells | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.live = LiveState()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cells(self) -> ForceCells:
        if self._cells is None:
            self._cells = self._open_cells()
        return self._cells

    def _performer(self, cells: ForceCells) -> Performer | None:
        source = getattr(cells, "source", None)
        return SimulatedForcePatient(source) if hasattr(source, "set_action") else None

    def start_force_step(self, session_id: int, step: ForceStep) -> None:
        """Start `step` in the background; raises StationBusyError or the hardware's error."""
        with self._lock:
            if self.running:
                raise StationBusyError("another test is running on this box; wait until it ends")
            cells = self.cells()
            conn = db.connect(self.data_dir / db.DB_FILE)
            maxima = stored_maxima(force_results(conn, session_id), step.hand)
            conn.close()
            self._cancel.clear()
            self.live = LiveState(running=True, session_id=session_id, title=step.key,
                                  instruction=step.instruction, duration_s=step.duration_s,
                                  finger=step.finger, target_n=step.target_n)
            self._thread = threading.Thread(
                target=self._run_force, args=(session_id, step, cells, maxima),
                name="bedside-test", daemon=True)
            self._thread.start()

    def _run_force(self, session_id: int, step: ForceStep, cells: ForceCells,
                   maxima: dict[str, Measure]) -> None:
        def show(view: LiveForce) -> None:
            self.live.elapsed_s = view.elapsed_s
            self.live.go = view.go
            self.live.newtons = view.newtons

        perform = self._performer(cells)
        try:
            if step == max_steps(step.hand)[0] or not getattr(cells, "tared", True):
                if perform is not None:
                    perform(step, "done")  # fingers resting on their pads
                cells.tare()  # zero with this hand resting, before its first test
            outcome = run_force_step(cells, step, maxima=maxima, on_live=show,
                                     perform=perform, cancel=self._cancel)
            conn = db.connect(self.data_dir / db.DB_FILE)
            try:
                save_force_outcome(conn, self.data_dir, session_id, outcome)
            finally:
                conn.close()
            self.live.message = outcome.message or "Done."
        except Exception as error:  # shown on the page; the thread must not die silently
            log.exception("bedside test %s failed", step.key)
            self.live.message = f"The test could not run: {error}"
        finally:
            self.live.running = False

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def close(self) -> None:
        self.cancel()
        self.wait(5.0)
        if self._cells is not None:
            self._cells.close()
