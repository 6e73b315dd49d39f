"""Force procedures on the cells: live feedback, measures, drop-outs, and the store."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from device.biomech.norms import load as load_norms
from device.hardware.emulated_nau7802 import build_force_bus
from device.hardware.force import ForceCellArray, ForceSample, NAU7802Bank
from device.hardware.i2c import I2CBus
from device.hardware.sim_force import SimulatedCells, SimulatedHand
from device.procedures import force_plan, simulated_patient
from device.procedures.force_run import LiveForce, next_sample, run_force_step, run_force_tests
from device.procedures.results_store import (
    biomechanics_report,
    force_results,
    save_outcome,
)
from device.procedures.simulated_patient import SimulatedForcePatient, SpeededClock
from device.store import db, records


def fast_cells(patient: str = "healthy", speed: float = 4.0):
    """Cells on a clock `speed` times real time. The sampling thread held up for
    0.5 s / speed of real time is a force drop-out, as it should be; at 8x, 60 ms of a
    loaded 2-core CI machine was enough, so the tests run at 4x."""
    clock = SpeededClock(speed)
    hand = SimulatedHand(patient=patient, seed=7)
    cells = ForceCellArray(SimulatedCells(hand, clock=clock.now, sleep=clock.sleep),
                           [0.0] * 5)
    return cells, clock, SimulatedForcePatient(cells.source, clock=clock.now)


def test_plan_holds_the_papers_tests_in_order_with_a_20_percent_target():
    plan = force_plan.force_plan("left", {"index": 40.0, "ring": 20.0})
    kinds = [s.kind for s in plan]
    assert kinds[:5] == ["max"] * 5 and kinds[5] == "simultaneous"
    independence = [s for s in plan if s.kind == "independence"]
    assert [(s.finger, s.target_n) for s in independence] == [("index", 8.0), ("ring", 4.0)]
    assert kinds[-5:] == ["tapping"] * 5
    assert all("left hand" in s.instruction for s in plan)
    with pytest.raises(ValueError, match="left or right"):
        force_plan.force_plan("both", {})


def test_whole_force_battery_on_the_simulated_hand_gives_every_measure():
    cells, clock, patient = fast_cells()
    live: list[LiveForce] = []
    with cells:
        outcomes = run_force_tests(cells, "right", perform=patient, on_live=live.append,
                                   clock=clock.now)
    assert all(o.completed for o in outcomes), [o.message for o in outcomes]
    assert [o.step.kind for o in outcomes].count("independence") == 5
    by_kind = {(m.measure, m.finger): m for o in outcomes for m in o.measures}
    hand = cells.source.hand
    for i, finger in enumerate(("thumb", "index", "middle", "ring", "little")):
        measured = by_kind[("max_force_n", finger)].value
        assert measured == pytest.approx(hand.max_n[i], rel=0.1)
        assert 0.0 < by_kind[("reduction_rate", finger)].value < 1.0
        assert by_kind[("independence", finger)].value is not None
        assert 3.0 < by_kind[("tapping_rate_hz", finger)].value < 9.0
    # live feedback: the bar turns green after the lead-in, never before
    assert any(v.go for v in live) and all(v.elapsed_s >= force_plan.LEAD_IN_S
                                           for v in live if v.go)


def test_sensor_that_drops_out_stops_the_step_keeps_the_samples_and_can_be_repeated():
    forces = [lambda t: 0.0] * 5
    emulated, chips = build_force_bus(forces)
    bus = I2CBus(emulated, sleep=lambda s: None)
    cells = ForceCellArray(NAU7802Bank(bus, channels=range(5), ldo_settle_s=0.0), [0.0] * 5)
    step = replace(force_plan.max_steps("right")[1], duration_s=3.0)
    seen = 0

    def unplug_after_some_samples(view: LiveForce) -> None:
        nonlocal seen
        seen += 1
        if seen == 40:
            chips[1].faults.absent = True

    with cells:
        outcome = run_force_step(cells, step, on_live=unplug_after_some_samples)
    assert not outcome.completed and outcome.measures == []
    assert "stopped answering" in outcome.message and "repeat this test" in outcome.message
    assert "index" in outcome.message  # the failing cell is named
    assert outcome.recording is not None and outcome.recording.t.size >= 30
    chips[1].faults.absent = False  # cable fixed: the same step runs again
    with cells:
        again = run_force_step(cells, replace(step, duration_s=1.2))
    assert again.completed and again.measures[0].measure == "max_force_n"


def test_samples_missing_inside_a_step_fail_it_instead_of_giving_a_measure():
    """The box fell behind for a second mid-step: no maximum from a recording with a hole."""
    calls = 0

    def clock_that_loses_a_second() -> float:
        nonlocal calls
        calls += 1
        return time.monotonic() + (1.0 if calls > 600 else 0.0)

    hand = SimulatedHand(seed=7)
    source = SimulatedCells(hand, clock=clock_that_loses_a_second)
    cells = ForceCellArray(source, [0.0] * 5)
    step = replace(force_plan.max_steps("right")[1], duration_s=3.0)
    with cells:
        outcome = run_force_step(cells, step, perform=SimulatedForcePatient(source),
                                 clock=clock_that_loses_a_second)
    assert not outcome.completed and outcome.measures == []
    assert "1.0 s of force samples are missing" in outcome.message
    assert "repeat this test" in outcome.message
    assert outcome.recording is not None and outcome.recording.t[-1] >= 3.0


class CellsThatAnswerLate:
    """`read` times out `misses` times (the sampling thread held up), then answers."""

    def __init__(self, misses: int) -> None:
        self.misses = misses
        self.reads = 0

    def read(self, timeout_s: float = 1.0) -> ForceSample:
        self.reads += 1
        if self.reads <= self.misses:
            raise TimeoutError("no sample yet")
        return ForceSample(t=1.0, newtons=(0.0,) * 5, counts=(0,) * 5, saturated=(False,) * 5)


def test_waiting_for_a_sample_is_measured_on_the_steps_clock():
    standing_still = CellsThatAnswerLate(misses=30)
    assert next_sample(standing_still, 0.5, clock=lambda: 0.0).t == 1.0
    ticks = iter(np.arange(0.0, 100.0, 0.1))
    silent = CellsThatAnswerLate(misses=10**6)
    with pytest.raises(TimeoutError, match=r"no force sample within 0\.5 s"):
        next_sample(silent, 0.5, clock=lambda: float(next(ticks)))
    assert silent.reads == 6  # 0.6 s on the step's clock, not 30 waits


def test_speeded_clock_stands_still_while_the_process_is_stalled(monkeypatch):
    real = [100.0]
    monkeypatch.setattr(simulated_patient.time, "monotonic", lambda: real[0])
    monkeypatch.setattr(simulated_patient.time, "sleep", lambda s: real.__setitem__(0, real[0] + s))
    clock = SpeededClock(8.0)
    start = clock.now()
    real[0] += 0.01  # running normally: 8 times real time
    assert clock.now() - start == pytest.approx(0.08)
    real[0] += 3.0  # a stall of 3 s counts as at most MAX_REAL_STEP_S
    assert clock.now() - start == pytest.approx(0.08 + 8 * SpeededClock.MAX_REAL_STEP_S)
    before = clock.now()
    clock.sleep(2.0)  # a sleep still lasts what it asked for
    assert clock.now() - before == pytest.approx(2.0)


def test_cancel_stops_the_step_and_keeps_what_was_recorded():
    cells, clock, patient = fast_cells()
    cancel = threading.Event()
    step = force_plan.tapping_steps("left")[0]

    def stop_soon(view: LiveForce) -> None:
        if view.elapsed_s > 2.0:
            cancel.set()

    with cells:
        outcome = run_force_step(cells, step, perform=patient, on_live=stop_soon, cancel=cancel,
                                 clock=clock.now)
    assert not outcome.completed and "Stopped by the clinician" in outcome.message
    assert outcome.recording is not None and outcome.recording.t[-1] >= 2.0


def test_outcomes_are_stored_with_their_recordings_and_reported_as_z_scores(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    patient_id = records.add_patient(conn, "P-1")
    session_id = records.start_session(conn, patient_id, "quick")
    cells, clock, patient = fast_cells("dystonic")
    with cells:
        for hand in ("left", "right"):
            for outcome in run_force_tests(cells, hand, perform=patient, clock=clock.now):
                save_outcome(conn, tmp_path, session_id, outcome)
    stored = force_results(conn, session_id)
    assert len(stored) == 2 * 16, {k: v["message"] for k, v in stored.items()
                                   if not v["completed"]}
    first = next(iter(stored.values()))
    from device.biomech.recording import Recording
    from device.digest import sha256_of
    path = tmp_path / first["file"]
    assert sha256_of(path) == first["sha256"]
    assert Recording.load(path).digest() == first["measures"][0]["source"]
    report = biomechanics_report(conn, session_id, load_norms())
    assert report is not None
    assert set(report.z["maximum force, right hand"]) == {"thumb", "index", "middle", "ring",
                                                          "little"}
    assert report.asymmetry["maximum force"] >= 0.0
    assert np.isfinite(report.asymmetry["finger independence"])


def test_imu_that_drops_out_stops_range_of_motion_and_keeps_the_samples():
    import time

    from device.config import from_mapping
    from device.hardware.emulated_i2c import EmulatedBus
    from device.hardware.imu import open_imus
    from device.hardware.sim_imu import attach_simulated_imus, movement_for
    from device.procedures.rom_run import LiveAngles, RomStep, run_rom_step

    emulated = EmulatedBus()
    emulated.attach_mux(0x70)
    movement = movement_for(2)
    _, phalanx = attach_simulated_imus(emulated, movement)
    bus = I2CBus(emulated, sleep=lambda s: None)
    imus = open_imus(from_mapping({"imu": {"source": "icm20948"}}), bus=bus)
    movement.restart(time.monotonic())  # the person holds still for the calibration
    seen = 0

    def unplug(view: LiveAngles) -> None:
        nonlocal seen
        seen += 1
        if seen == 30:
            phalanx.faults.absent = True

    outcome = run_rom_step(imus, RomStep("right", "middle"), on_live=unplug)
    assert not outcome.completed and outcome.measures == []
    assert "motion sensors stopped answering" in outcome.message
    assert "proximal phalanx" in outcome.message and "repeat this test" in outcome.message
    assert outcome.recording is not None and outcome.recording.t.size >= 29
