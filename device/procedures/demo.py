"""The bedside tests of the demo session: a simulated patient on simulated hardware.

Runs the same procedures as the page (force tests of both hands, range of motion of both
index fingers, the TOJT of the right hand as in the paper) and stores every result with its
recording. The force tests run on a clock `FORCE_SPEED` times faster than real time (the simulated
cells keep up with that at 320 samples per second on a laptop core; faster, they drop
conversions and taps go missing); the IMU simulation is costlier, so range of motion runs
at `ROM_SPEED`. A simulated dystonic patient's right hand is the
affected one; the left hand is a healthy hand of the same person.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from device.config import from_mapping
from device.hardware.force import ForceCellArray
from device.hardware.imu import open_imus
from device.hardware.sim_force import SimulatedCells, SimulatedHand
from device.hardware.stimulator_factory import open_stimulator, toj_io
from device.procedures.force_run import run_force_tests
from device.procedures.results_store import save_outcome, save_toj
from device.procedures.rom_run import RomStep, run_rom_step
from device.procedures.simulated_patient import SimulatedForcePatient, SpeededClock
from device.tojt import Zest, run_toj

FORCE_SPEED = 8.0
FORCE_RATE_SPS = 320
ROM_SPEED = 2.0


def run_bedside_demo(conn: sqlite3.Connection, data_dir: Path, session_id: int,
                     simulation: Mapping[str, Any],
                     say: Callable[[str], None] = print) -> None:
    patient, seed = simulation["patient"], simulation["seed"]
    sim = from_mapping({"force": {"source": "sim"}, "imu": {"source": "sim"},
                        "stimulator": {"source": "sim"},
                        "simulation": {"patient": patient, "seed": seed}})
    clock = SpeededClock(FORCE_SPEED)
    hands = {"left": SimulatedHand("healthy", seed + 1), "right": SimulatedHand(patient, seed)}
    source = SimulatedCells(hands["left"], rate_sps=FORCE_RATE_SPS, clock=clock.now,
                            sleep=clock.sleep)
    with ForceCellArray(source, [0.0] * 5) as cells:
        for hand in ("left", "right"):
            source.hand = hands[hand]
            outcomes = run_force_tests(cells, hand, clock=clock.now,
                                       perform=SimulatedForcePatient(source, clock.now))
            for outcome in outcomes:
                save_outcome(conn, data_dir, session_id, outcome)
            say(f"force tests, {hand} hand: {sum(o.completed for o in outcomes)} of "
                f"{len(outcomes)} steps done")
    clock = SpeededClock(ROM_SPEED)
    imus = open_imus(sim, clock=clock.now, sleep=clock.sleep)
    try:
        for hand in ("left", "right"):
            outcome = run_rom_step(imus, RomStep(hand, "index"), clock=clock.now,
                                   sleep=clock.sleep)
            save_outcome(conn, data_dir, session_id, outcome)
            say(f"range of motion, {hand} index finger: "
                + ("done" if outcome.completed else outcome.message))
    finally:
        imus.close()
    with open_stimulator(sim) as stimulator:
        io = toj_io(stimulator, sim, pause_s=0.0)
        result = run_toj(Zest(), io.stimulate, io.respond,
                         rng=np.random.default_rng(seed), hand="right")
    save_toj(conn, data_dir, session_id, result)
    say(f"temporal order judgement, right hand: threshold {result.threshold_ms:.0f} ms after "
        f"{len(result.trials)} trials")
