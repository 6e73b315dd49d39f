"""The hand tests page end to end on simulated hardware: force, range of motion, TOJT."""

from __future__ import annotations

import json
import time

import pytest

from device import config
from device.auth.passwords import hash_password
from device.config import from_mapping
from device.hardware.force import ForceCellArray
from device.hardware.imu import open_imus
from device.hardware.sim_force import SimulatedCells, SimulatedHand
from device.hardware.stimulator_factory import open_stimulator
from device.procedures.simulated_patient import SpeededClock
from device.procedures.station import BedsideStation
from device.session.simulated import SimulatedRecorder
from device.store import db, records
from device.web.app import create_app
from tests.test_web import PASSWORD, csrf, sign_in

SPEED = 8.0  # where the simulated cells keep up on a loaded core
SIM = from_mapping({"force": {"source": "sim"}, "imu": {"source": "sim"},
                    "stimulator": {"source": "sim"},
                    "simulation": {"patient": "dystonic", "seed": 3}})


@pytest.fixture
def signed_in(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password(PASSWORD))
    patient = records.add_patient(conn, "P-9")
    session_id = records.start_session(conn, patient, "quick")
    conn.close()
    app = create_app(config.load(None), tmp_path, SimulatedRecorder("dystonic", 5),
                     testing=True)
    clock = SpeededClock(SPEED)
    hand = SimulatedHand("dystonic", seed=3)
    station = BedsideStation(
        SIM, tmp_path, clock=clock.now, sleep=clock.sleep, toj_pause_s=0.0,
        toj_settings={"max_trials": 6},
        open_cells=lambda: ForceCellArray(
            SimulatedCells(hand, clock=clock.now, sleep=clock.sleep), [0.0] * 5),
        open_imu_pair=lambda: open_imus(SIM, clock=clock.now, sleep=clock.sleep),
        open_stim=lambda: open_stimulator(SIM))
    app.extensions["station"] = station
    client = app.test_client()
    sign_in(client)
    yield client, station, session_id, tmp_path
    station.close()


def start(client, session_id, test, hand):
    page = f"/sessions/{session_id}/tests"
    return client.post(f"{page}/{test}/{hand}/start", data={"csrf_token": csrf(client, page)})


def finish(client, station, session_id):
    seen_running = False
    for _ in range(600):
        state = client.get(f"/sessions/{session_id}/tests/live").get_json()
        seen_running |= state["running"]
        if not state["running"]:
            return state
        time.sleep(0.05)
    raise AssertionError("the test never finished")


def test_force_steps_run_in_order_and_show_their_results(signed_in):
    client, station, session_id, _ = signed_in
    page = client.get(f"/sessions/{session_id}/tests").get_data(as_text=True)
    assert "Start: max:right:thumb" in page and "independence" not in page
    for _ in range(5):
        assert start(client, session_id, "force", "right").status_code == 302
        state = finish(client, station, session_id)
        assert state["message"] == "Done.", state
    page = client.get(f"/sessions/{session_id}/tests").get_data(as_text=True)
    assert "Start: simultaneous:right:all" in page
    assert page.count("maximum force") == 5
    assert "independence (hold 20 %)" in page  # its targets are known now


def test_range_of_motion_and_tojt_are_stored_and_reported(signed_in):
    client, station, session_id, data_dir = signed_in
    assert start(client, session_id, "rom", "left").status_code == 302
    assert finish(client, station, session_id)["message"] == "Done."
    page = client.get(f"/sessions/{session_id}/tests").get_data(as_text=True)
    assert "flexion-extension range" in page and "°" in page
    assert start(client, session_id, "tojt", "right").status_code == 302
    state = finish(client, station, session_id)
    assert state["message"].startswith("TOJT finished"), state
    conn = db.connect(data_dir / db.DB_FILE)
    row = conn.execute("SELECT data_json FROM result WHERE kind = 'tojt'").fetchone()
    stored = json.loads(row["data_json"])
    assert stored["trials"] == 6 and (data_dir / stored["file"]).is_file()
    results = client.get(f"/sessions/{session_id}/results").get_data(as_text=True)
    assert "Temporal order judgement: threshold" in results
    assert "range" in results


def test_a_second_test_while_one_runs_is_refused_with_a_message(signed_in):
    client, station, session_id, _ = signed_in
    start(client, session_id, "rom", "right")
    response = start(client, session_id, "force", "right")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "another test is running" in page
    client.post(f"/sessions/{session_id}/tests/cancel",
                data={"csrf_token": csrf(client, f"/sessions/{session_id}/tests")})
    assert "Stopped by the clinician" in finish(client, station, session_id)["message"]


def test_a_stimulator_failure_stops_the_tojt_and_keeps_its_trials(signed_in):
    client, station, session_id, data_dir = signed_in
    stim = station.device("stimulator")
    original, calls = stim.tap_pair, 0

    def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls > 3:
            raise OSError("solenoid driver not answering")
        return original(*args, **kwargs)

    stim.tap_pair = failing
    start(client, session_id, "tojt", "right")
    state = finish(client, station, session_id)
    assert "stopped after 3 trials" in state["message"]
    assert "solenoid driver not answering" in state["message"]
    conn = db.connect(data_dir / db.DB_FILE)
    stored = json.loads(conn.execute("SELECT data_json FROM result WHERE kind = 'tojt'")
                        .fetchone()["data_json"])
    assert stored["completed"] is False and stored["trials"] == 3
    assert (data_dir / stored["file"]).is_file()
    page = client.get(f"/sessions/{session_id}/tests").get_data(as_text=True)
    assert "stopped after 3 trials" in page
    results = client.get(f"/sessions/{session_id}/results").get_data(as_text=True)
    assert "Temporal order judgement: threshold" not in results  # an aborted run is not used
