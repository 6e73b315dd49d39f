"""The IMU pair against the register-level ICM-20948 emulator: faults, units, banks, angles."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from device.biomech.recording import Recording
from device.biomech.rom import range_of_motion
from device.config import ConfigError, from_mapping
from device.hardware import icm20948 as reg
from device.hardware.emulated_i2c import EmulatedBus
from device.hardware.emulated_icm20948 import (
    EARTH_FIELD,
    NO_ERRORS,
    EmulatedIcm20948,
    body_rate,
)
from device.hardware.i2c import I2CBus, I2CDeviceError, I2CError
from device.hardware.icm20948 import Icm20948, Icm20948Error
from device.hardware.imu import (
    ImuError,
    ImuPair,
    angle_arrays,
    joint_angles,
    open_imus,
    selftest_imu,
    triad,
)
from device.hardware.sim_imu import GuidedMovement, attach_simulated_imus
from device.hardware.virtual_clock import VirtualClock


def still(orientation: Rotation):
    return lambda t: orientation


def one_sensor(motion=None, *, errors=NO_ERRORS, channel=5, **driver_options):
    clock = VirtualClock()
    emulated = EmulatedBus()
    emulated.attach_mux()
    chip = EmulatedIcm20948(motion or still(Rotation.identity()), errors=errors, clock=clock)
    emulated.attach(0x68, chip, channel=channel)
    bus = I2CBus(emulated, sleep=lambda s: None)
    driver = Icm20948(bus.device("IMU (hand dorsum)", 0x68, channel), clock=clock,
                      sleep=clock.sleep, **driver_options)
    return emulated, chip, driver, clock


def pair_on(movement: GuidedMovement, *, errors=None, rate_hz=100.0):
    clock = VirtualClock()
    movement.restart(clock())
    emulated = EmulatedBus()
    options = {} if errors is None else {"errors": errors}
    chips = attach_simulated_imus(emulated, movement, seed=4, clock=clock, **options)
    bus = I2CBus(emulated, sleep=lambda s: None)
    sensors = [Icm20948(bus.device(name, 0x68, channel), rate_hz=400.0, clock=clock,
                        sleep=clock.sleep)
               for name, channel in (("IMU (hand dorsum)", 5), ("IMU (proximal phalanx)", 6))]
    pair = ImuPair(*sensors, rate_hz=rate_hz, clock=clock, sleep=clock.sleep)
    pair.begin()
    return pair, chips, clock


# --- faults ---------------------------------------------------------------------------------

def test_absent_sensor_is_named_with_address_and_channel():
    _, chip, driver, _ = one_sensor()
    chip.faults.absent = True
    with pytest.raises(I2CDeviceError, match="IMU \\(hand dorsum\\) at 0x68 on multiplexer "
                                             "channel 5, register 0x"):
        driver.begin()


def test_transient_nacks_are_retried():
    _, chip, driver, _ = one_sensor()
    chip.faults.nack_next = 2
    driver.begin()
    assert driver.read().mag is not None


def test_wrong_identity_says_what_answered():
    _, chip, driver, _ = one_sensor()
    chip.identity = 0x71
    with pytest.raises(Icm20948Error, match="WHO_AM_I is 0x71, expected 0xea"):
        driver.begin()


def test_reset_bit_stuck_high_is_reported():
    _, chip, driver, _ = one_sensor()
    chip.faults.stuck[reg.PWR_MGMT_1] = (reg.DEVICE_RESET, reg.DEVICE_RESET)
    with pytest.raises(Icm20948Error, match="DEVICE_RESET did not clear"):
        driver.begin()


def test_sleep_bit_stuck_high_is_reported():
    _, chip, driver, _ = one_sensor()
    chip.faults.stuck[reg.PWR_MGMT_1] = (reg.SLEEP, reg.SLEEP)
    with pytest.raises(Icm20948Error, match="SLEEP bit stays set"):
        driver.begin()


def test_missing_magnetometer_is_reported():
    _, chip, driver, _ = one_sensor()
    chip.magnetometer.absent = True
    with pytest.raises(Icm20948Error, match="magnetometer \\(AK09916 at 0x0c"):
        driver.begin()


def test_wrong_magnetometer_identity_is_reported():
    _, chip, driver, _ = one_sensor()
    chip.magnetometer.identity = 0x05
    with pytest.raises(Icm20948Error, match="WIA2\\) is 0x05, expected 0x09"):
        driver.begin()


def test_magnetometer_overflow_gives_no_field_and_a_flag():
    _, chip, driver, clock = one_sensor()
    driver.begin()
    chip.magnetometer.overflow = True
    clock.sleep(0.02)
    reading = driver.read()
    assert reading.mag is None and reading.mag_overflow
    assert reading.accel is not None


def test_overflow_falls_back_to_gyroscope_and_gravity_and_is_counted():
    pair, chips, clock = pair_on(GuidedMovement())
    pair.read()
    chips[1].magnetometer.overflow = True
    clock.sleep(0.02)
    samples = pair.record(0.5)
    assert pair.mag_overflows == [0, len(samples)]
    assert all(math.isfinite(s.flexion) for s in samples)


# --- units and registers -----------------------------------------------------------------------

def burst(accel, gyro, temp, mag, st1=0x01, st2=0x00) -> bytes:
    return (struct.pack(">7h", *accel, *gyro, temp) + bytes([st1]) + struct.pack("<3h", *mag)
            + bytes([0, st2]))


def test_conversion_of_hand_computed_register_values():
    _, _, driver, _ = one_sensor(accel_range_g=4, gyro_range_dps=500)
    # 8192 LSB = 1 g at +-4 g; 655 LSB = 10 dps at 500 dps; 3339 LSB = 31.0 degC;
    # 200 LSB = 30 uT; the magnetometer's Y and Z are flipped into the accelerometer's axes.
    reading = driver.convert(burst([8192, -4096, 0], [655, 0, -131], 3339, [200, -100, 40]), 5.0)
    assert reading.t == 5.0
    np.testing.assert_allclose(reading.accel, [9.80665, -4.903325, 0.0])
    np.testing.assert_allclose(reading.gyro, [math.radians(10.0), 0.0, -math.radians(2.0)])
    assert reading.temperature_c == pytest.approx(31.0, abs=0.01)
    np.testing.assert_allclose(reading.mag, [30e-6, 15e-6, -6e-6])
    assert reading.mag_fresh and not reading.mag_overflow


def test_conversion_follows_the_configured_full_scale():
    _, _, driver, _ = one_sensor(accel_range_g=16, gyro_range_dps=2000)
    reading = driver.convert(burst([2048, 0, 0], [164, 0, 0], 0, [0, 0, 0], st1=0), 0.0)
    assert reading.accel[0] == pytest.approx(9.80665)
    assert reading.gyro[0] == pytest.approx(math.radians(10.0))
    assert reading.temperature_c == pytest.approx(21.0)
    assert not reading.mag_fresh


def test_overflow_bit_in_st2_drops_the_field():
    _, _, driver, _ = one_sensor()
    reading = driver.convert(burst([0, 0, 0], [0, 0, 0], 0, [1, 2, 3], st2=reg.ST2_HOFL), 0.0)
    assert reading.mag is None and reading.mag_overflow


def test_emulated_readings_of_a_still_sensor_match_the_physics():
    tilt = Rotation.from_euler("ZYX", [30.0, 10.0, -20.0], degrees=True)
    _, _, driver, clock = one_sensor(still(tilt), accel_range_g=2, gyro_range_dps=250)
    driver.begin()
    clock.sleep(0.05)
    reading = driver.read()
    lsb_accel = 2 * 9.80665 / 32768
    np.testing.assert_allclose(reading.accel, tilt.inv().apply([0, 0, 9.80665]),
                               atol=lsb_accel)
    np.testing.assert_allclose(reading.gyro, 0.0, atol=1e-9)
    np.testing.assert_allclose(reading.mag, tilt.inv().apply(EARTH_FIELD), atol=0.15e-6)


def test_rotation_rate_is_measured_in_sensor_axes():
    spin = math.radians(30.0)  # about the sensor's own x axis, while tilted
    tilt = Rotation.from_euler("Y", 40.0, degrees=True)
    motion = lambda t: tilt * Rotation.from_rotvec([spin * t, 0.0, 0.0])  # noqa: E731
    np.testing.assert_allclose(body_rate(motion, 1000.0), [spin, 0.0, 0.0], atol=1e-6)
    _, _, driver, clock = one_sensor(motion)
    driver.begin()
    clock.sleep(0.05)
    np.testing.assert_allclose(driver.read().gyro, [spin, 0.0, 0.0],
                               atol=math.radians(1 / 65.5))


def test_configuration_lands_in_bank_2_and_nothing_strays():
    _, chip, driver, _ = one_sensor(accel_range_g=16, gyro_range_dps=1000, rate_hz=100.0)
    driver.begin()
    assert chip.stray == []
    assert (chip.accel_range_g, chip.gyro_range_dps) == (16, 1000)
    assert chip.gyro_rate_hz == pytest.approx(100.0)
    assert not chip.asleep
    assert chip.banks[2][reg.GYRO_CONFIG_1] == reg.DLPF_CFG << 3 | 2 << 1 | reg.FCHOICE
    assert chip.magnetometer.mode == reg.MAG_MODES[100]


class BankForgettingDriver(Icm20948):
    """A driver with the classic bug: it never switches banks."""

    def select_bank(self, bank: int) -> None:
        pass


def test_a_driver_that_forgets_to_switch_banks_is_caught():
    emulated, chip, _, clock = one_sensor()
    bus = I2CBus(emulated, sleep=lambda s: None)
    forgetful = BankForgettingDriver(bus.device("IMU (hand dorsum)", 0x68, 5), clock=clock,
                                     sleep=clock.sleep)
    with pytest.raises(Icm20948Error, match="bank 2\\): wrote"):
        forgetful.begin()
    assert ("write", 0, reg.ACCEL_CONFIG) in chip.stray


def test_samples_need_no_bank_switch():
    emulated, _, driver, _ = one_sensor()
    driver.begin()
    before = emulated.transactions
    for _ in range(5):
        driver.read()
    assert emulated.transactions - before == 5  # one burst each, no REG_BANK_SEL writes


# --- orientation and joint angles -----------------------------------------------------------

def test_joint_angles_of_known_rotations():
    dorsum = Rotation.from_euler("ZYX", [50.0, 5.0, -3.0], degrees=True)
    joint = Rotation.from_euler("YZ", [30.0, -12.0], degrees=True)
    mount = Rotation.from_euler("xyz", [4.0, -6.0, 2.0], degrees=True)
    flexion, abduction = joint_angles(dorsum, dorsum * joint * mount, mount)
    assert math.degrees(flexion) == pytest.approx(30.0)
    assert math.degrees(abduction) == pytest.approx(-12.0)


def test_triad_recovers_an_exact_orientation():
    truth = Rotation.from_euler("ZYX", [120.0, -35.0, 15.0], degrees=True)
    found = triad(truth.inv().apply([0, 0, 9.8]), truth.inv().apply(EARTH_FIELD))
    assert (found.inv() * truth).magnitude() < 1e-9


TILT = Rotation.from_euler("ZYX", [70.0, -30.0, 20.0], degrees=True)


class TiltedStillHand(GuidedMovement):
    def dorsum(self, t: float) -> Rotation:
        return TILT


def test_static_tilt_is_recovered_with_noise_bias_and_drift():
    truth = TILT
    pair, _, _ = pair_on(TiltedStillHand())
    samples = pair.record(3.0)
    found = samples[-1].dorsum_orientation
    assert math.degrees((found.inv() * truth).magnitude()) < 3.0
    up_found, up_true = found.inv().apply([0, 0, 1]), truth.inv().apply([0, 0, 1])
    assert math.degrees(math.acos(min(1.0, float(up_found @ up_true)))) < 2.0


def flexion_sweep() -> GuidedMovement:
    """Flexion only, 0 to 80 degrees, then the rest of the guided movement."""
    return GuidedMovement(flexion_rad=math.radians(80.0))


def test_relative_flexion_sweep_is_recovered_within_a_few_degrees():
    movement = flexion_sweep()
    pair, _, _ = pair_on(movement)
    pair.calibrate_neutral(1.5)
    samples = pair.record(movement.duration_s - 1.5)
    truth = np.degrees([movement.joint_angles(s.t) for s in samples])
    found = np.array([[s.flexion_deg, s.abduction_deg] for s in samples])
    assert truth[:, 0].max() == pytest.approx(80.0, abs=0.1)  # the sweep was in there
    assert np.max(np.abs(found[:, 0] - truth[:, 0])) < 3.0
    assert np.max(np.abs(found[:, 1] - truth[:, 1])) < 4.0
    peak = int(np.argmax(truth[:, 0]))
    assert found[peak, 0] == pytest.approx(80.0, abs=3.0)


def test_without_neutral_calibration_the_mounting_twist_shows():
    movement = flexion_sweep()
    pair, _, _ = pair_on(movement)
    sample = pair.record(0.5)[-1]
    twisted = joint_angles(movement.dorsum(sample.t), movement.phalanx(sample.t),
                           Rotation.identity())
    assert abs(sample.flexion - twisted[0]) < math.radians(2.0)
    assert abs(math.degrees(twisted[0])) > 2.0  # the mount is not neutral on its own


def test_moving_during_calibration_is_refused():
    movement = GuidedMovement()
    pair, _, clock = pair_on(movement)
    clock.sleep(3.0)  # into the flexion: the finger moves
    with pytest.raises(ImuError, match="moved during the neutral calibration"):
        pair.calibrate_neutral(1.0)


def test_angles_feed_the_range_of_motion_measure():
    movement = GuidedMovement()
    pair, _, _ = pair_on(movement)
    pair.calibrate_neutral(1.5)
    t, angles = angle_arrays(pair.record(movement.duration_s - 1.5))
    rec = Recording(kind="rom", hand="right", finger="index", t=t, values=angles)
    measures = {m.measure: m.value for m in range_of_motion(rec)}
    true_flexion = movement.flexion_rad + movement.extension_rad
    true_abduction = movement.abduction_rad + movement.adduction_rad
    assert math.degrees(abs(measures["rom_flexion_extension_rad"] - true_flexion)) < 3.0
    assert math.degrees(abs(measures["rom_abduction_adduction_rad"] - true_abduction)) < 4.0


# --- configuration, factory, self-test -------------------------------------------------------

def test_new_imu_keys_are_checked():
    with pytest.raises(ConfigError, match=r"imu\.accel_range_g: must be one of 2, 4, 8, 16"):
        from_mapping({"imu": {"accel_range_g": 3}})


def test_auto_source_without_a_bus_device_gives_the_simulated_finger():
    clock = VirtualClock()
    config = from_mapping({"i2c": {"bus": 19}, "imu": {"source": "auto"}})
    pair = open_imus(config, clock=clock, sleep=clock.sleep)
    assert pair.simulation is not None
    pair.calibrate_neutral(1.0)
    assert abs(pair.read().flexion) < math.radians(3.0)


def test_real_source_without_a_bus_device_says_how_to_enable_it():
    config = from_mapping({"i2c": {"bus": 19}, "imu": {"source": "icm20948"}})
    with pytest.raises(I2CError, match="/dev/i2c-19 does not exist"):
        open_imus(config)


def test_selftest_on_the_simulated_finger_passes():
    checks = selftest_imu(from_mapping({"imu": {"source": "sim"}}))
    assert [c.ok for c in checks] == [True, True]
    assert "gravity 9.8" in checks[0].detail and "uT" in checks[0].detail


def test_selftest_names_the_failing_sensor_and_its_channel():
    emulated = EmulatedBus()
    dorsum, phalanx = attach_simulated_imus(emulated, GuidedMovement())
    phalanx.faults.absent = True
    dorsum.magnetometer.overflow = True
    checks = selftest_imu(from_mapping({}), I2CBus(emulated, sleep=lambda s: None))
    assert not checks[0].ok and "overflow" in checks[0].detail and "magnets" in checks[0].fix
    assert not checks[1].ok and "channel 6" in checks[1].detail and "channel 6" in checks[1].fix


def test_selftest_without_the_bus_device_fails_both_with_the_reason():
    checks = selftest_imu(from_mapping({"i2c": {"bus": 19}, "imu": {"source": "icm20948"}}))
    assert [c.ok for c in checks] == [False, False]
    assert all("/dev/i2c-19 does not exist" in c.detail for c in checks)
