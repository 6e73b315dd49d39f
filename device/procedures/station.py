"""The bedside tests as the page drives them: one test at a time, in a background thread.

The station opens the configured hardware when a test first needs it (so the page works on a
box whose sensors are unplugged, and says so when a test is started), runs the step, stores
its outcome with its recording, and keeps a live view the page polls. TOJT answers come
from the response buttons or from the page, whichever is first.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from device.biomech.measure import Measure
from device.hardware.force import ForceCells, open_force_cells
from device.hardware.imu import ImuPair, open_imus
from device.hardware.stimulator import Stimulator, StimulatorError
from device.hardware.stimulator_factory import open_stimulator, toj_io
from device.procedures.force_plan import ForceStep, force_plan, max_steps
from device.procedures.force_run import LiveForce, Performer, run_force_step
from device.procedures.results_store import force_results, save_outcome, save_toj
from device.procedures.rom_run import LiveAngles, RomStep, run_rom_step
from device.procedures.simulated_patient import SimulatedForcePatient
from device.protocol import FINGER_NAMES
from device.store import db
from device.tojt import Zest
from device.tojt.runner import FINGERS, RunAbortedError, run_toj

log = logging.getLogger(__name__)


class StationBusyError(RuntimeError):
    """Another test is running on this box."""


@dataclass
class LiveState:
    """What the page shows about the test in progress (or the last one)."""

    running: bool = False
    session_id: int | None = None
    test: str = ""  # force, rom or tojt
    title: str = ""
    instruction: str = ""
    elapsed_s: float = 0.0
    duration_s: float = 0.0
    go: bool = False
    newtons: tuple[float, ...] = ()
    finger: str | None = None
    target_n: float | None = None
    prompt: str = ""
    angles_deg: tuple[float, float] = (0.0, 0.0)
    trial: int = 0
    threshold_ms: float | None = None
    waiting_for_answer: bool = False
    message: str = ""  # the outcome of the last test, in words

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def stored_maxima(rows: Mapping[str, dict[str, Any]], hand: str) -> dict[str, Measure]:
    out = {}
    for row in rows.values():
        if row["hand"] == hand and row["kind"] == "max" and row["completed"]:
            measure = Measure.from_dict(row["measures"][0])
            out[measure.finger] = measure
    return out


def hand_plan(conn: sqlite3.Connection, session_id: int, hand: str) \
        -> list[tuple[ForceStep | RomStep, dict[str, Any] | None]]:
    """Each test step of a hand (force, then range of motion) with its latest stored result
    (None when not yet run). Independence appears once the maxima are known."""
    rows = force_results(conn, session_id)
    maxima = stored_maxima(rows, hand)
    maxima_n = {f: float(m.value) for f, m in maxima.items() if m.ok and m.value > 0}
    steps: list[ForceStep | RomStep] = [
        *(force_plan(hand, maxima_n) if maxima_n else max_steps(hand)),
        *(RomStep(hand, finger) for finger in FINGER_NAMES)]
    return [(step, rows.get(step.key)) for step in steps]


def next_step(conn: sqlite3.Connection, session_id: int, hand: str,
              kind: type[ForceStep] | type[RomStep]) -> ForceStep | RomStep | None:
    return next((step for step, row in hand_plan(conn, session_id, hand)
                 if isinstance(step, kind) and (row is None or not row["completed"])), None)


class BedsideStation:
    """Runs bedside tests for the page. The openers are injectable for tests."""

    def __init__(self, config: Mapping[str, Mapping[str, Any]], data_dir: Path, *,
                 open_cells: Callable[[], ForceCells] | None = None,
                 open_imu_pair: Callable[[], ImuPair] | None = None,
                 open_stim: Callable[[], Stimulator] | None = None,
                 toj_pause_s: float = 0.5, toj_settings: Mapping[str, Any] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self._openers: dict[str, Callable[[], Any]] = {
            "force": open_cells or (lambda: open_force_cells(config)),
            "imu": open_imu_pair or (lambda: open_imus(config)),
            "stimulator": open_stim or (lambda: open_stimulator(config)),  # type: ignore[arg-type]
        }
        self._devices: dict[str, Any] = {}
        self.toj_pause_s = toj_pause_s
        self.toj_settings = dict(toj_settings or {})
        self.clock = clock  # the clock the sensors' samples are on, and its sleep
        self.sleep = sleep
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._answers: queue.Queue[str] = queue.Queue()
        self.live = LiveState()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def device(self, name: str) -> Any:
        if name not in self._devices:
            self._devices[name] = self._openers[name]()
        return self._devices[name]

    def _launch(self, live: LiveState, device: str,
                work: Callable[[Any], str]) -> None:
        with self._lock:
            if self.running:
                raise StationBusyError("another test is running on this box; wait until it "
                                       "ends")
            hardware = self.device(device)
            self._cancel.clear()
            self._answers = queue.Queue()
            self.live = live

            def body() -> None:
                try:
                    self.live.message = work(hardware) or "Done."
                except Exception as error:  # shown on the page; never a silent thread death
                    log.exception("bedside test %s failed", live.title)
                    self.live.message = f"The test could not run: {error}"
                finally:
                    self.live.running = False

            self._thread = threading.Thread(target=body, name="bedside-test", daemon=True)
            self._thread.start()

    def _store(self, save: Callable[[sqlite3.Connection], int]) -> None:
        conn = db.connect(self.data_dir / db.DB_FILE)
        try:
            save(conn)
        finally:
            conn.close()

    # --- force --------------------------------------------------------------------------
    def start_force_step(self, session_id: int, step: ForceStep) -> None:
        conn = db.connect(self.data_dir / db.DB_FILE)
        maxima = stored_maxima(force_results(conn, session_id), step.hand)
        conn.close()
        live = LiveState(running=True, session_id=session_id, test="force", title=step.key,
                         instruction=step.instruction, duration_s=step.duration_s,
                         finger=step.finger, target_n=step.target_n)

        def work(cells: ForceCells) -> str:
            source = getattr(cells, "source", None)
            perform: Performer | None = (SimulatedForcePatient(source, clock=self.clock)
                                         if hasattr(source, "set_action") else None)
            if step == max_steps(step.hand)[0] or not getattr(cells, "tared", True):
                if perform is not None:
                    perform(step, "done")  # fingers resting on their pads
                cells.tare()  # zero with this hand resting, before its first test

            def show(view: LiveForce) -> None:
                self.live.elapsed_s, self.live.go = view.elapsed_s, view.go
                self.live.newtons = view.newtons

            outcome = run_force_step(cells, step, maxima=maxima, on_live=show, perform=perform,
                                     cancel=self._cancel, clock=self.clock)
            self._store(lambda c: save_outcome(c, self.data_dir, session_id, outcome))
            return outcome.message

        self._launch(live, "force", work)

    # --- range of motion ------------------------------------------------------------------
    def start_rom_step(self, session_id: int, step: RomStep) -> None:
        live = LiveState(running=True, session_id=session_id, test="rom", title=step.key,
                         instruction=step.instruction, duration_s=step.duration_s,
                         finger=step.finger)

        def work(imus: ImuPair) -> str:
            def show(view: LiveAngles) -> None:
                self.live.elapsed_s, self.live.prompt = view.elapsed_s, view.prompt
                self.live.angles_deg = (view.flexion_deg, view.abduction_deg)

            outcome = run_rom_step(imus, step, on_live=show, cancel=self._cancel,
                                   clock=self.clock, sleep=self.sleep)
            self._store(lambda c: save_outcome(c, self.data_dir, session_id, outcome))
            return outcome.message

        self._launch(live, "imu", work)

    # --- temporal order judgement ---------------------------------------------------------
    def start_toj(self, session_id: int, hand: str) -> None:
        live = LiveState(running=True, session_id=session_id, test="tojt",
                         title=f"tojt:{hand}", instruction=(
                             f"Rest the tips of the {hand} index and middle fingers on the two "
                             "tappers. After each pair of taps, press the button under the "
                             "finger that was tapped first (or answer on this page). Guess if "
                             "unsure."))
        staircase = Zest(**self.toj_settings)

        def work(stim: Stimulator) -> str:
            io = toj_io(stim, self.config, pause_s=self.toj_pause_s)  # type: ignore[arg-type]
            timeout_s = io.response_timeout_s

            def stimulate(first: str, soa_ms: float) -> float:
                if self._cancel.is_set():
                    raise RunAbortedError("stopped by the clinician")
                self.live.trial += 1
                try:
                    return io.stimulate(first, soa_ms)
                except (StimulatorError, OSError) as error:
                    raise RunAbortedError(f"the stimulator failed ({error})") from error

            def respond(trial: int) -> str | None:
                since = io.pairs[-1].taps[1].on_s
                deadline = time.monotonic() + timeout_s
                self.live.waiting_for_answer = True
                if stim.led is not None:
                    stim.led.on()  # the patient's cue to answer
                try:
                    while time.monotonic() < deadline:
                        if self._cancel.is_set():
                            raise RunAbortedError("stopped by the clinician")
                        # the buttons' window runs from `since` (their perf_counter clock)
                        window = max(time.perf_counter() - since, 0.0) + 0.05
                        pressed = stim.buttons.wait(window, since=since) if stim.buttons else None
                        if pressed is not None and pressed.finger is not None:
                            return pressed.finger
                        try:
                            return self._answers.get_nowait()
                        except queue.Empty:
                            continue
                    return None
                finally:
                    if stim.led is not None:
                        stim.led.off()
                    self.live.waiting_for_answer = False
                    self.live.threshold_ms = staircase.threshold_ms

            result = run_toj(staircase, stimulate, respond, rng=np.random.default_rng(),
                             hand=hand)
            self._store(lambda c: save_toj(c, self.data_dir, session_id, result))
            if not result.completed:
                return (f"The TOJT stopped after {len(result.trials)} trials: "
                        f"{result.stop_reason}. Its trials are kept; start it again to measure "
                        "the threshold.")
            return (f"TOJT finished: threshold {result.threshold_ms:.0f} ms after "
                    f"{len(result.trials)} trials ({result.stop_reason}).")

        self._launch(live, "stimulator", work)

    def answer(self, finger: str) -> None:
        """An answer given on the page for the current TOJT trial."""
        if finger not in FINGERS:
            raise ValueError(f"answer must be one of {FINGERS}, got {finger!r}")
        self._answers.put(finger)

    # --- control --------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def close(self) -> None:
        self.cancel()
        self.wait(10.0)
        for device in self._devices.values():
            device.close()
        self._devices.clear()
