"""Measures checked against force curves whose answers are worked out by hand."""

import json
import math

import numpy as np
import pytest

from device.biomech import (
    Measure,
    Recording,
    RecordingError,
    independence,
    max_force,
    measures_from,
    range_of_motion,
    recompute,
    reduction_rates,
    tapping,
)
from device.protocol import FINGER_NAMES

RATE = 100.0


def record(kind, finger, forces, *, rate=RATE, limit=None, target=None, hand="right"):
    forces = np.asarray(forces, dtype=float)
    t = 20.0 + np.arange(forces.shape[0]) / rate
    return Recording(kind=kind, hand=hand, finger=finger, t=t, values=forces, limit=limit,
                     target=target)


def trapezoid(n, rise, plateau, level):
    """0 -> level over ``rise`` samples, ``plateau`` samples at level, back to 0."""
    up = np.linspace(0, level, rise)
    curve = np.concatenate([up, np.full(plateau, level), up[::-1]])
    return np.pad(curve, (0, n - curve.size))


def test_max_force_ignores_a_one_sample_spike():
    forces = np.zeros((300, 5))
    forces[:, 0] = trapezoid(300, 50, 100, 42.0)
    forces[:, 1] = 0.2 * forces[:, 0]  # enslaved index
    forces[120, 0] = 80.0  # one glitch sample
    m = max_force(record("max", "thumb", forces))
    assert m.value == pytest.approx(42.0) and m.flags == () and m.unit == "N"


def test_max_force_of_a_clipped_sensor_is_its_limit_and_flagged():
    forces = np.zeros((300, 5))
    forces[:, 2] = np.minimum(trapezoid(300, 50, 100, 60.0), 50.0)
    limit = np.full(5, 50.0)
    m = max_force(record("max", "middle", forces, limit=limit))
    assert m.value == 50.0 and "clipped" in m.flags and "higher" in m.note


def _maxima(values, flags=None):
    flags = flags or {}
    return {f: Measure("max_force_n", f, v, "N", source="x", flags=flags.get(f, ()))
            for f, v in zip(FINGER_NAMES, values, strict=True)}


def test_reduction_rate_at_the_peak_of_total_force():
    n = 301
    shape = np.minimum(1.0, 1.1 * (1 - np.abs(np.arange(n) - 150) / 150))  # flat top 137-163
    peaks = np.array([30.0, 33.0, 25.0, 20.0, 12.0])
    forces = shape[:, None] * peaks[None, :]
    rates = reduction_rates(record("simultaneous", None, forces),
                            _maxima([50.0, 55.0, 50.0, 40.0, 30.0]))
    assert [m.finger for m in rates] == list(FINGER_NAMES)
    assert [m.value for m in rates] == pytest.approx([0.6, 0.6, 0.5, 0.5, 0.4])
    assert all(21.37 <= m.detail["t_peak_s"] <= 21.63 for m in rates)


def test_reduction_rate_without_or_with_a_clipped_maximum():
    n = 301
    shape = np.minimum(1.0, 1.1 * (1 - np.abs(np.arange(n) - 150) / 150))
    forces = shape[:, None] * np.full((1, 5), 20.0)
    maxima = _maxima([50.0, 40.0, None, 40.0, 40.0], flags={"index": ("clipped",)})
    rates = {m.finger: m for m in reduction_rates(record("simultaneous", None, forces), maxima)}
    assert rates["middle"].value is None and "no_maximum" in rates["middle"].flags
    assert rates["index"].value == pytest.approx(0.5) and "max_clipped" in rates["index"].flags
    assert rates["thumb"].value == pytest.approx(0.4) and rates["thumb"].flags == ()


def independence_curves(n, index_level, ramp_s=1.0):
    t = np.arange(n) / RATE
    forces = np.zeros((n, 5))
    forces[:, 1] = index_level * np.minimum(t / ramp_s, 1.0)
    forces[:, 2] = 1.5   # middle, enslaved
    forces[:, 3] = 0.5   # ring
    forces[:, 4] = -0.3  # little lifted off its tared cell: counts as zero
    return forces


def test_independence_over_the_hold_window():
    rec = record("independence", "index", independence_curves(651, 10.0), target=10.0)
    m = independence(rec)
    # reaches 8 N (80 % of target) at 0.8 s; window 1.3 s .. 5.8 s after the start
    assert m.detail["t_reach_s"] == pytest.approx(20.8)
    assert m.detail["window_s"] == pytest.approx([21.3, 25.8])
    assert m.value == pytest.approx(1 - (1.5 + 0.5) / 10.0)
    assert m.flags == ()


def test_independence_when_the_finger_never_reaches_the_target():
    rec = record("independence", "index", independence_curves(651, 6.0), target=10.0)
    m = independence(rec)
    assert m.value is None and m.flags == ("target_not_reached",)
    assert "peak 6.0 N" in m.note and "target 10.0 N" in m.note


def test_independence_with_too_short_a_hold_and_with_clipping():
    short = record("independence", "index", independence_curves(161, 10.0), target=10.0)
    assert independence(short).flags == ("hold_too_short",)
    limit = np.array([np.inf, np.inf, 1.5, np.inf, np.inf])  # middle's cell saturated
    clipped = record("independence", "index", independence_curves(651, 10.0), target=10.0,
                     limit=limit)
    m = independence(clipped)
    assert m.value == pytest.approx(0.8) and "clipped" in m.flags


def tap_train(onsets, amplitudes, n=300, rate=1000.0, width=0.06):
    """Half-sine taps; with on = 50 % of the peak each onset is 10 ms after the tap starts."""
    t = np.arange(n * 10) / rate
    f = np.zeros_like(t)
    for start, amp in zip(onsets, amplitudes, strict=True):
        inside = (t >= start) & (t <= start + width)
        f[inside] = amp * np.sin(np.pi * (t[inside] - start) / width)
    forces = np.zeros((t.size, 5))
    forces[:, 3] = f
    forces[:, 2] = 0.1 * f  # the middle finger moves a little too
    return forces


def test_tapping_rate_and_cv_hand_computed():
    starts = [0.50, 0.70, 0.92, 1.10, 1.30, 1.52, 1.70]
    forces = tap_train(starts, [8.0] * 7)
    rec = record("tapping", "ring", forces, rate=1000.0)
    rate, cv = tapping(rec)
    # intervals 0.20 0.22 0.18 0.20 0.22 0.18: mean 0.2 s, SD sqrt(4 * 0.02**2 / 5)
    assert rate.value == pytest.approx(5.0, rel=1e-3)
    assert cv.value == pytest.approx(math.sqrt(0.0016 / 5) / 0.2, rel=1e-2)
    assert rate.detail["n_taps"] == 7 and rate.flags == ()
    assert rate.detail["onsets_s"][0] == pytest.approx(20.51, abs=1e-3)


def test_a_missed_tap_shows_as_a_long_interval():
    starts = [0.5 + 0.2 * k for k in range(10)]
    amplitudes = [8.0] * 10
    amplitudes[5] = 3.0  # too light to cross 4 N
    rate, cv = tapping(record("tapping", "ring", tap_train(starts, amplitudes), rate=1000.0))
    # intervals: seven of 0.2 s and one of 0.4 s
    assert rate.detail["n_taps"] == 9
    assert rate.value == pytest.approx(1 / 0.225, rel=1e-3)
    assert cv.value == pytest.approx(math.sqrt(0.035 / 7) / 0.225, rel=1e-2)
    assert "long_interval" in rate.flags and rate.detail["long_intervals"] == [4]


def test_tapping_too_few_taps_and_clipping():
    rate, cv = tapping(record("tapping", "ring", tap_train([0.5, 0.7], [8.0, 8.0]),
                              rate=1000.0))
    assert rate.value is None and cv.value is None and "too_few_taps" in rate.flags
    limit = np.array([np.inf, np.inf, np.inf, 7.0, np.inf])
    forces = np.minimum(tap_train([0.5 + 0.2 * k for k in range(6)], [8.0] * 6), limit)
    rate, _ = tapping(record("tapping", "ring", forces, rate=1000.0, limit=limit))
    assert rate.value == pytest.approx(5.0, rel=1e-3) and "clipped" in rate.flags


def test_range_of_motion_ignores_a_spike():
    t = np.arange(4000) / 1000.0
    angles = np.stack([0.45 + 0.95 * np.sin(np.pi * t), 0.3 * np.cos(np.pi * t)], axis=1)
    angles[700, 0] = 3.0
    rec = Recording(kind="rom", hand="left", finger="index", t=t, values=angles)
    fe, aa = range_of_motion(rec)
    assert fe.measure == "rom_flexion_extension_rad" and fe.value == pytest.approx(1.9, abs=1e-3)
    assert aa.value == pytest.approx(0.6, abs=1e-3)
    assert fe.detail["range_deg"] == pytest.approx(math.degrees(1.9), abs=0.1)


def test_recordings_reject_bad_input_and_round_trip(tmp_path):
    forces = independence_curves(651, 10.0)
    with pytest.raises(RecordingError, match="NaN"):
        record("independence", "index", np.where(np.arange(651)[:, None] == 9, np.nan, forces),
               target=10.0)
    with pytest.raises(RecordingError, match="target"):
        record("independence", "index", forces)
    with pytest.raises(RecordingError, match="shape"):
        record("max", "index", forces[:, :4])
    with pytest.raises(RecordingError, match="designated finger"):
        record("tapping", None, forces)
    rec = record("independence", "index", forces, target=10.0)
    loaded = Recording.load(rec.save(tmp_path / "ind.npz"))
    assert loaded.digest() == rec.digest()
    stored = measures_from(rec, reach_fraction=0.9)[0]
    assert recompute(stored, loaded).value == pytest.approx(stored.value)
    assert stored.params["reach_fraction"] == 0.9
    assert Measure.from_dict(json.loads(json.dumps(stored.to_dict()))) == stored
    tampered = Measure.from_dict({**stored.to_dict(), "value": 0.5})
    with pytest.raises(ValueError, match="recomputed"):
        recompute(tampered, loaded)
    forces[300, 2] += 1.0
    with pytest.raises(ValueError, match="digest"):
        recompute(stored, record("independence", "index", forces, target=10.0))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(RecordingError, match=r"junk\.npz"):
        Recording.load(tmp_path / "junk.npz")
