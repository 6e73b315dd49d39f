"""Force cells: NAU7802 driver against its register-level emulator, the sampling loop, tare,
calibration and its config file, the simulated hand, and the self-test."""

from __future__ import annotations

import itertools
import math
import tomllib

import pytest

from device import config as box_config
from device.hardware import nau7802
from device.hardware.emulated_nau7802 import EmulatedNAU7802, build_force_bus
from device.hardware.force import (
    NOMINAL_NEWTONS_PER_COUNT,
    ForceCellArray,
    NAU7802Bank,
    open_force_cells,
    resolve_source,
)
from device.hardware.force_calibration import (
    calibration_factor,
    guided_calibration,
    write_newtons_per_count,
)
from device.hardware.force_selftest import selftest_force
from device.hardware.i2c import I2CBus, I2CDeviceError
from device.hardware.nau7802 import NAU7802, ForceCellError
from device.hardware.sim_force import (
    Lift,
    Press,
    PressAll,
    Rest,
    SimulatedCells,
    SimulatedHand,
    Tap,
    Weight,
)
from device.protocol import FINGER_NAMES

CPN = nau7802.bridge_counts_per_newton()


class Signal:
    """A force a test can change while the loop samples it."""

    def __init__(self, newtons: float = 0.0) -> None:
        self.newtons = newtons

    def __call__(self, t: float) -> float:
        return self.newtons


def make_cells(forces=None, **bus_options):
    forces = forces or [Signal() for _ in FINGER_NAMES]
    emulated, chips = build_force_bus(forces, **bus_options)
    bus = I2CBus(emulated, sleep=lambda s: None)
    bank = NAU7802Bank(bus, channels=[0, 1, 2, 3, 4], ldo_settle_s=0.0)
    return emulated, chips, bus, ForceCellArray(bank, [0.0] * 5)


def fresh(cells):
    """A sample wholly taken after this call (the round under way may predate it)."""
    cells.read()
    return cells.read()


def one_chip(**options):
    emulated, chips = build_force_bus([Signal() for _ in FINGER_NAMES])
    bus = I2CBus(emulated, sleep=lambda s: None)
    return chips, [NAU7802(bus.device(f"force cell ({f})", 0x2A, c))
                   for c, f in enumerate(FINGER_NAMES)]


# --- conversion maths -----------------------------------------------------------------------
@pytest.mark.parametrize(("data", "value"), [
    (b"\x7f\xff\xff", 8_388_607),
    (b"\x80\x00\x00", -8_388_608),
    (b"\xff\xff\xff", -1),
    (b"\x00\x01\x00", 256),
    (b"\xff\xff\x00", -256),
])
def test_24_bit_twos_complement(data, value):
    assert nau7802.to_signed24(data) == value


def test_saturation_is_the_full_scale_codes():
    assert nau7802.is_saturated(8_388_607) and nau7802.is_saturated(-8_388_608)
    assert not nau7802.is_saturated(8_388_606) and not nau7802.is_saturated(0)


def test_nominal_sensitivity_of_a_10_kg_1_mv_per_v_cell_at_gain_128():
    # 1 mV/V * 128 * 2^23 counts over half the 98.0665 N capacity
    assert pytest.approx(1e-3 * 128 * 8_388_608 / 49.03325) == CPN
    assert pytest.approx(21_898.2, abs=0.1) == CPN


def test_calibration_factor_is_weight_over_count_change():
    # 0.5 kg = 4.903325 N moved the reading from 1000 to 11000 counts
    assert calibration_factor(0.5, 1000, 11_000) == pytest.approx(4.903325 / 10_000)
    assert calibration_factor(1.0, 0, -20_000) == pytest.approx(-9.80665 / 20_000)
    with pytest.raises(ValueError, match="did not change"):
        calibration_factor(1.0, 5, 5)


def test_counts_become_newtons_with_offset_and_factor():
    *_, cells = make_cells()
    cells.offsets = [100.0, -200.0, 0.0, 0.0, 0.0]
    cells.newtons_per_count = [0.001, 0.002, 0.0, 0.001, 0.001]
    sample = cells.convert(1.5, [1100, 300, 21_898, 8_388_607, -8_388_608])
    assert sample.t == 1.5
    assert sample.newtons[0] == pytest.approx(1.0)
    assert sample.newtons[1] == pytest.approx(1.0)
    assert sample.newtons[2] == pytest.approx(21_898 * NOMINAL_NEWTONS_PER_COUNT)  # uncalibrated
    assert sample.saturated == (False, False, False, True, True)
    assert cells.limits()[0] == pytest.approx((8_388_607 - 100) * 0.001)


# --- driver and emulator ------------------------------------------------------------------------
def test_start_up_writes_the_datasheet_configuration():
    chips, drivers = one_chip()
    drivers[1].prepare(rate_sps=320)
    drivers[1].calibrate_offset()
    registers = chips[1].registers
    assert registers[nau7802.CTRL1] == 0b0010_0111  # LDO 3.3 V, gain 128
    assert registers[nau7802.CTRL2] >> 4 & 0b111 == 0b111  # 320 SPS
    assert registers[nau7802.PU_CTRL] & (nau7802.PUD | nau7802.PUA | nau7802.CS | nau7802.AVDDS)
    assert registers[nau7802.ADC_CTRL] == 0x30
    assert registers[nau7802.POWER] & nau7802.PGA_CAP_EN
    assert registers[nau7802.OCAL1_B2:nau7802.OCAL1_B2 + 3] == [0x00, 0x2E, 0xE0]  # 12000
    # after the internal calibration only the bridge's own imbalance is left (index: -1500)
    assert drivers[1].wait_counts(0.5) == -1500


def test_rates_and_gains_outside_the_chip_are_refused():
    _, drivers = one_chip()
    with pytest.raises(ValueError, match="rate must be one of"):
        drivers[0].configure(rate_sps=100)
    with pytest.raises(ValueError, match="gain must be one of"):
        drivers[0].configure(gain=3)


def test_conversion_follows_the_force_and_clips_at_full_scale():
    chip = EmulatedNAU7802(lambda t: 2.0, afe_offset_counts=0.0)
    chip.registers[nau7802.CTRL1] = 7  # gain 128
    assert chip.conversion(0.0) == round(2.0 * CPN)
    chip.force_n = lambda t: 1000.0
    assert chip.conversion(0.0) == nau7802.FULL_SCALE_POSITIVE
    chip.force_n = lambda t: -1000.0
    assert chip.conversion(0.0) == nau7802.FULL_SCALE_NEGATIVE


def test_a_short_nack_is_retried_away():
    chips, drivers = one_chip()
    chips[0].faults.nack_next = 2
    drivers[0].check_identity()


def test_absent_cell_names_finger_and_channel():
    chips, drivers = one_chip()
    chips[2].faults.absent = True
    with pytest.raises(I2CDeviceError, match=r"force cell \(middle\) at 0x2a on multiplexer "
                                             r"channel 2"):
        drivers[2].prepare()


def test_wrong_identity_is_refused():
    chips, drivers = one_chip()
    chips[3].revision = 0x0A
    with pytest.raises(ForceCellError, match=r"force cell \(ring\) .*channel 3: revision register "
                                             r"reads 0xa, a NAU7802 reads 0xf"):
        drivers[3].prepare()


def test_power_up_ready_stuck_low():
    chips, drivers = one_chip()
    chips[4].faults.stuck[nau7802.PU_CTRL] = (nau7802.PUR, 0)
    with pytest.raises(ForceCellError, match=r"force cell \(little\).*did not power up"):
        drivers[4].prepare()


def test_configuration_bit_that_does_not_stick():
    chips, drivers = one_chip()
    chips[0].faults.stuck[nau7802.CTRL1] = (0b100, 0)  # gain bit 2 stuck low
    with pytest.raises(ForceCellError, match=r"force cell \(thumb\).*register 0x01 .*stuck bit"):
        drivers[0].prepare()


def test_failed_internal_calibration():
    chips, drivers = one_chip()
    chips[1].cal_error = True
    drivers[1].prepare()
    with pytest.raises(ForceCellError, match=r"force cell \(index\).*CAL_ERR"):
        drivers[1].calibrate_offset()


def test_conversion_ready_stuck_low_stops_the_loop_with_the_finger_named():
    _, chips, _, cells = make_cells()
    chips[2].faults.stuck[nau7802.PU_CTRL] = (nau7802.CR, 0)
    with pytest.raises(ForceCellError, match=r"force cell \(middle\).*CR stayed 0"):
        cells.read(timeout_s=2.0)
    cells.close()


def test_saturated_adc_is_flagged_and_refused_for_tare():
    _, chips, _, cells = make_cells()
    chips[4].saturated = True
    with cells:
        sample = cells.read()
        assert sample.saturated == (False, False, False, False, True)
        assert sample.newtons[4] == pytest.approx(cells.limits()[4])
        with pytest.raises(ForceCellError, match="little cell reads full scale"):
            cells.tare(0.05)


# --- sampling loop, tare, calibration -------------------------------------------------------------
def test_loop_delivers_every_finger_its_own_force_with_increasing_times():
    forces = [Signal(n) for n in (1.0, 2.0, 3.0, 4.0, 5.0)]
    _, _, _, cells = make_cells(forces)
    with cells:
        samples = cells.collect(0.3)
    assert len(samples) >= 2
    times = [s.t for s in samples]
    assert all(b > a for a, b in itertools.pairwise(times))
    bridge = [1500.0 * (i - 2) for i in range(5)]
    for i, expected in enumerate((1.0, 2.0, 3.0, 4.0, 5.0)):
        newtons = (samples[-1].counts[i] - bridge[i]) * NOMINAL_NEWTONS_PER_COUNT
        assert newtons == pytest.approx(expected, abs=0.01)


def test_tare_zeroes_each_cell_and_later_force_reads_as_the_change():
    forces = [Signal(0.3) for _ in FINGER_NAMES]
    _, _, _, cells = make_cells(forces, noise_counts=20.0)
    with cells:
        offsets = cells.tare(0.1)
        assert all(abs(s) < 0.02 for s in cells.read().newtons)
        forces[1].newtons = 3.3
        sample = fresh(cells)
    assert offsets[1] == pytest.approx(0.3 * CPN + 1500.0 * (1 - 2), abs=20)
    assert sample.newtons[1] == pytest.approx(3.0, abs=0.02)
    assert sample.newtons[0] == pytest.approx(0.0, abs=0.02)


def test_tare_refuses_a_moving_hand():
    class Wobbling:
        def __call__(self, t: float) -> float:
            return 5.0 if int(t * 100) % 2 else 0.0

    _, _, _, cells = make_cells([Signal(), Wobbling(), Signal(), Signal(), Signal()])
    with cells, pytest.raises(ForceCellError, match="index cell changed by"):
        cells.tare(0.1)


def test_calibration_against_a_known_mass():
    forces = [Signal() for _ in FINGER_NAMES]
    _, _, _, cells = make_cells(forces)
    with cells:
        with pytest.raises(ForceCellError, match="tare"):
            cells.calibrate("ring", 1.0)
        cells.tare(0.05)
        forces[3].newtons = 1.0 * 9.80665
        factor = cells.calibrate("ring", 1.0, duration_s=0.1, settle_s=0.05)
        # the emulated cell gives CPN counts per newton, so the factor is its inverse
        assert factor == pytest.approx(1.0 / CPN, rel=1e-4)
        assert cells.read().newtons[3] == pytest.approx(9.80665, rel=1e-4)
        forces[3].newtons = 0.01
        with pytest.raises(ForceCellError, match="ring cell changed by only"):
            cells.calibrate("ring", 1.0, duration_s=0.05, settle_s=0.05)
        with pytest.raises(ValueError, match="positive number of kilograms"):
            cells.calibrate("ring", -1.0)


def test_calibration_is_written_into_the_config_file_keeping_the_rest(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        "# the box by the piano\n[box]\nname = \"studio\"\n\n[force]\n# cells fitted 2026\n"
        "rate_sps = 80\nnewtons_per_count = [\n  0.0, 0.0,\n  0.0, 0.0, 0.0,\n]\n\n"
        "[web]\nport = 9000\n",
        encoding="utf-8",
    )
    values = [4.5e-5, 4.6e-5, 4.4e-5, 4.55e-5, 4.45e-5]
    write_newtons_per_count(path, values)
    text = path.read_text(encoding="utf-8")
    assert "# the box by the piano" in text and "# cells fitted 2026" in text
    loaded = box_config.load(path)
    assert list(loaded["force"]["newtons_per_count"]) == values
    assert loaded["force"]["rate_sps"] == 80
    assert loaded["box"]["name"] == "studio" and loaded["web"]["port"] == 9000
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary left


def test_calibration_goes_into_a_new_force_section_or_a_new_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[web]\nport = 9000\n", encoding="utf-8")
    write_newtons_per_count(path, [1e-5] * 5)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data == {"web": {"port": 9000}, "force": {"newtons_per_count": [1e-5] * 5}}
    fresh = tmp_path / "new" / "config.toml"
    write_newtons_per_count(fresh, [2e-5] * 5)
    assert box_config.load(fresh)["force"]["newtons_per_count"] == [2e-5] * 5


def test_calibration_refuses_files_it_cannot_edit_safely(tmp_path):
    path = tmp_path / "config.toml"
    original = "force.newtons_per_count = [0.0, 0.0, 0.0, 0.0, 0.0]\n"
    path.write_text(original, encoding="utf-8")
    with pytest.raises(box_config.ConfigError, match=r"force\.newtons_per_count"):
        write_newtons_per_count(path, [1e-5] * 5)
    assert path.read_text(encoding="utf-8") == original
    with pytest.raises(ValueError, match="5 numbers"):
        write_newtons_per_count(path, [1e-5] * 4)


def test_guided_calibration_of_the_simulated_box_saves_all_five_factors(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[box]\nname = \"bench\"\n", encoding="utf-8")
    hand = SimulatedHand()
    cells = ForceCellArray(SimulatedCells(hand, seed=3), [0.0] * 5)
    said: list[str] = []

    def technician(prompt: str) -> None:
        for finger in FINGER_NAMES:
            if f"on the middle of the {finger} cell" in prompt:
                hand.set_action(Weight(finger, 0.5))
                return
        hand.set_action(Lift())

    with cells:
        factors = guided_calibration(cells, path, 0.5, ask=technician, say=said.append,
                                     settle_s=0.05, duration_s=0.2)
    assert factors == pytest.approx([1.0 / CPN] * 5, rel=0.01)
    assert box_config.load(path)["force"]["newtons_per_count"] == factors
    assert box_config.load(path)["box"]["name"] == "bench"
    assert said[-1].startswith("Saved force.newtons_per_count")


# --- choosing the source -------------------------------------------------------------------------
def test_configuration_chooses_the_simulation_or_the_real_cells():
    sim = box_config.from_mapping({"force": {"source": "sim"}})
    assert resolve_source(sim) == "sim"
    assert resolve_source(box_config.from_mapping({"box": {"simulate": "real"}})) == "nau7802"
    assert resolve_source(box_config.from_mapping({"box": {"simulate": "sim"}})) == "sim"
    cells = open_force_cells(sim)
    assert isinstance(cells.source, SimulatedCells)
    emulated, _ = build_force_bus([Signal(2.0) for _ in FINGER_NAMES])
    real = box_config.from_mapping({"force": {"source": "nau7802",
                                              "newtons_per_count": [1e-4] * 5}})
    cells = open_force_cells(real, I2CBus(emulated))
    assert isinstance(cells.source, NAU7802Bank)
    assert cells.calibrated == (True,) * 5


def test_simulated_cells_tare_and_press_through_the_same_interface():
    config = box_config.from_mapping({"force": {"source": "sim"},
                                      "simulation": {"patient": "healthy", "seed": 4}})
    with open_force_cells(config) as cells:
        cells.source.set_action(Rest())
        cells.tare(0.1)
        cells.source.set_action(Press("index", rise_s=0.0))
        sample = fresh(cells)
    hand = cells.source.hand
    assert sample.newtons[1] == pytest.approx(hand.max_n[1], abs=1.0)
    assert sample.newtons[2] > 0.1 * sample.newtons[1]  # the middle finger comes along


# --- the simulated hand ---------------------------------------------------------------------------
def test_pressing_finger_pulls_its_neighbours_more_than_distant_fingers():
    hand = SimulatedHand("healthy", seed=2)
    hand.set_action(Press("ring"), at=0.0)
    thumb, index, middle, ring, little = hand.forces(2.0)
    assert ring == pytest.approx(hand.max_n[3], rel=0.02)
    assert 0.1 * ring < middle < 0.6 * ring and 0.1 * ring < little < 0.6 * ring
    assert thumb < 0.1 * ring and index < middle


def test_dystonic_hand_is_less_independent():
    healthy, dystonic = SimulatedHand("healthy", seed=3), SimulatedHand("dystonic", seed=3)
    for hand in (healthy, dystonic):
        hand.set_action(Press("middle", target_n=8.0), at=0.0)
    share = [sum(h.forces(2.0)) / h.forces(2.0)[2] - 1 for h in (healthy, dystonic)]
    assert share[1] > 1.3 * share[0]


def test_independence_target_is_held_at_twenty_percent():
    hand = SimulatedHand("healthy", seed=5)
    target = 0.2 * hand.max_n[1]
    hand.set_action(Press("index", target_n=target, rise_s=0.5), at=10.0)
    assert hand.forces(10.0)[1] < 0.2 * target
    held = [hand.forces(10.5 + k * 0.05)[1] for k in range(40)]
    assert all(abs(f - target) < 0.1 * target for f in held)


def test_tapping_gives_separate_taps_at_a_plausible_rate_with_smaller_neighbours():
    for patient in ("healthy", "dystonic"):
        hand = SimulatedHand(patient, seed=1)
        hand.set_action(Tap("index", peak_n=6.0), at=0.0)
        times = [k / 1000 for k in range(5000)]
        index = [hand.forces(t)[1] for t in times]
        onsets = sum(1 for a, b in itertools.pairwise(index) if a < 1.0 <= b)
        assert 3.5 * 5 <= onsets <= 8.0 * 5, patient
        assert min(index) < 0.2  # the finger leaves the cell between taps
        middle = [hand.forces(t)[2] for t in times]
        assert 0.05 * max(index) < max(middle) < 0.7 * max(index)


def test_all_fingers_together_reach_less_than_their_own_maxima():
    hand = SimulatedHand("healthy", seed=6)
    hand.set_action(PressAll(), at=0.0)
    together = hand.forces(2.0)
    assert all(0.3 * m < f < 0.97 * m for f, m in zip(together, hand.max_n, strict=True))


def test_known_weight_and_lifted_hand():
    hand = SimulatedHand()
    hand.set_action(Weight("little", 0.5), at=0.0)
    assert hand.forces(1.0) == (0.0, 0.0, 0.0, 0.0, pytest.approx(4.903325))
    hand.set_action(Lift(), at=0.0)
    assert hand.forces(1.0) == (0.0,) * 5
    with pytest.raises(ValueError, match="finger must be one of"):
        hand.set_action(Press("pinky"))


def test_strengths_are_plausible_and_ordered_thumb_or_index_to_little():
    for seed in range(1, 8):
        hand = SimulatedHand("healthy", seed=seed)
        assert all(10 < m < 110 for m in hand.max_n)
        assert max(hand.max_n[0], hand.max_n[1]) > hand.max_n[4]
        assert math.isfinite(hand.tap_rate_hz) and 4.0 < hand.tap_rate_hz < 8.0


# --- self-test ---------------------------------------------------------------------------------
def selftest_bus():
    emulated, chips = build_force_bus([Signal(0.2) for _ in FINGER_NAMES])
    return emulated, chips, I2CBus(emulated, sleep=lambda s: None)


REAL = box_config.from_mapping({"force": {"source": "nau7802"}})


def test_selftest_passes_five_good_cells_and_asks_for_calibration():
    _, _, bus = selftest_bus()
    checks = selftest_force(REAL, bus)
    assert [c.device for c in checks] == [f"force cell ({f})" for f in FINGER_NAMES] + [
        "force calibration"]
    assert all(c.ok for c in checks[:5])
    assert "channel 3" in checks[3].detail
    assert not checks[5].ok and "known weight" in checks[5].fix


def test_selftest_names_the_fix_for_each_fault():
    _, chips, bus = selftest_bus()
    chips[0].faults.absent = True
    chips[1].revision = 0x03
    chips[2].saturated = True
    checks = {c.device: c for c in selftest_force(REAL, bus)}
    thumb, index, middle = (checks[f"force cell ({f})"] for f in ("thumb", "index", "middle"))
    assert not thumb.ok and "multiplexer channel 0" in thumb.fix and "cable" in thumb.fix
    assert not index.ok and "force.channels" in index.detail
    assert not middle.ok and "E+, E-, A+, A-" in middle.fix
    assert checks["force cell (ring)"].ok and checks["force cell (little)"].ok


def test_selftest_with_a_silent_multiplexer_gives_one_line():
    emulated, _, bus = selftest_bus()
    emulated.mux.faults.absent = True
    checks = selftest_force(REAL, bus)
    assert len(checks) == 1 and not checks[0].ok and "i2c.mux_address" in checks[0].fix


def test_selftest_of_the_simulation_says_so():
    checks = selftest_force(box_config.from_mapping({"force": {"source": "sim"}}), None)
    assert len(checks) == 1 and checks[0].ok and "simulated" in checks[0].detail
