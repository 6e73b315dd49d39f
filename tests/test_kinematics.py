import contextlib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from device.kinematics import (
    BOTH_HANDS_TRIM,
    MOVEMENT_ONLY,
    N_SAMPLES,
    POSTURE_KEPT,
    UNFILTERED_RESAMPLE,
)
from device.kinematics.augment import PARENT, augment, scale_bones, scale_xy
from device.kinematics.depth import DEPTH_REFERENCE, depth_ratio, rescale_depth
from device.kinematics.errors import HandUnusableError, TakeUnusableError
from device.kinematics.frames import mirror, normalise, rotate_xy, to_pixels
from device.kinematics.gaps import fill_gaps
from device.kinematics.prepare import Settings, prepare
from device.kinematics.resample import lowpass_resample, resample
from device.kinematics.trim import hand_keys, key_window, motion_window, trim_mask
from tests.helpers import make_take

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.just(21), st.just(3)), elements=finite))
def test_mirroring_twice_is_identity(hand):
    np.testing.assert_array_equal(mirror(mirror(hand)), hand)


@given(
    n=st.integers(8, 400),
    freq=st.floats(0.1, 2.0),
    phase=st.floats(0, 6.3),
    jitter=st.floats(0.0, 0.3),
    seed=st.integers(0, 2**16),
)
def test_resampling_reproduces_a_smooth_signal(n, freq, phase, jitter, seed):
    rng = np.random.default_rng(seed)
    # frames at a nominal 60 fps with timing jitter; the signal has at least 30 samples
    # per period, as a hand's movement has at the camera's rate
    duration = n / 60.0
    freq = min(freq, 60.0 / 30.0)
    steps = (1.0 + jitter * rng.uniform(-1, 1, n - 1)) / 60.0
    t = np.concatenate([[0.0], np.cumsum(steps)])
    values = np.sin(2 * np.pi * freq * t + phase)[:, None] * np.ones((1, 3))
    out = resample(t, values)
    truth = np.sin(2 * np.pi * freq * np.linspace(t[0], t[-1], N_SAMPLES) + phase)
    assert out.shape == (N_SAMPLES, 3)
    assert np.max(np.abs(out[:, 0] - truth)) < 2e-3 + 0.0 * duration


@settings(deadline=None)
@given(
    fps=st.sampled_from([25.0, 30.0, 60.0, 120.0]),
    duration=st.floats(2.0, 30.0),
    slope=st.floats(-5, 5),
    offset=st.floats(-100, 100),
    timing=st.floats(0.0, 0.3),
    seed=st.integers(0, 2**16),
)
def test_lowpass_resampling_keeps_a_straight_line_exactly_up_to_both_ends(
        fps, duration, slope, offset, timing, seed):
    rng = np.random.default_rng(seed)
    n = int(duration * fps)
    t = np.cumsum((1.0 + timing * rng.uniform(-1, 1, n)) / fps)
    line = offset + slope * t
    out = lowpass_resample(t, np.stack([line, -line], axis=1))
    truth = offset + slope * np.linspace(t[0], t[-1], N_SAMPLES)
    np.testing.assert_allclose(out[:, 0], truth, atol=1e-6 * (1 + abs(offset)))
    np.testing.assert_allclose(out[:, 1], -truth, atol=1e-6 * (1 + abs(offset)))


def every_frame_weighed(t: np.ndarray, values: np.ndarray, sd: float = 0.5) -> np.ndarray:
    """The low-pass fit of kinematics/5 with every frame weighed: what the band must equal."""
    interval = float(np.median(np.diff(t)))
    clock = np.linspace(t[0], t[-1], max(round((t[-1] - t[0]) / interval) + 1, 2))
    regular = np.stack([np.interp(clock, t, v) for v in values.T], axis=1)
    samples = np.linspace(t[0], t[-1], N_SAMPLES)
    width = max(sd * (t[-1] - t[0]) / (N_SAMPLES - 1), interval)
    offset = (clock[None, :] - samples[:, None]) / width
    weight = np.exp(-0.5 * offset ** 2)
    s0, s1, s2 = (np.sum(weight * offset ** k, axis=1) for k in range(3))
    m0, m1 = weight @ regular, (weight * offset) @ regular
    return (s2[:, None] * m0 - s1[:, None] * m1) / (s0 * s2 - s1 ** 2)[:, None]


@settings(max_examples=60, deadline=None)
@given(
    fps=st.sampled_from([24.0, 30.0, 60.0, 120.0]),
    duration=st.floats(0.0, 12.0),
    timing=st.floats(0.0, 0.4),
    stall=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**16),
)
def test_lowpass_resampling_reads_only_nearby_frames_yet_equals_weighing_every_frame(
        fps, duration, timing, stall, seed):
    rng = np.random.default_rng(seed)
    n = max(int(duration * fps), 2)
    t = np.cumsum((1.0 + timing * rng.uniform(-1, 1, n)) / fps)
    t[rng.integers(1, n):] += stall  # the camera stopped for a while
    values = np.cumsum(rng.normal(0.0, 1.0, (n, 3)), axis=0)
    np.testing.assert_allclose(lowpass_resample(t, values), every_frame_weighed(t, values),
                               rtol=0, atol=1e-9 * (1 + np.max(np.abs(values))))


@pytest.mark.parametrize("fps", [30.0, 60.0, 120.0])
def test_lowpass_resampling_averages_tracker_jitter_and_keeps_the_movement(fps):
    rng = np.random.default_rng(3)
    t = np.arange(int(8 * fps)) / fps  # an 8 s passage: 16 samples a second
    movement = np.sin(2 * np.pi * 1.5 * t)  # a 1.5 Hz keystroke rhythm
    noisy = (movement + rng.normal(0.0, 0.1, t.size))[:, None]
    truth = np.sin(2 * np.pi * 1.5 * np.linspace(t[0], t[-1], N_SAMPLES))
    lowpassed = lowpass_resample(t, noisy)[:, 0] - truth
    splined = resample(t, noisy)[:, 0] - truth
    # the spline keeps each sample's jitter (SD 0.1); the low-pass averages the frames
    # around each sample: the more frames per sample, the less is left
    assert np.std(splined) > 0.09
    assert np.std(lowpassed) < 0.1 * min(1.0, 1.6 * np.sqrt(16.0 / fps))
    # the movement itself passes with at most 8 % lost (a bias of the fitted curve)
    clean = lowpass_resample(t, movement[:, None])[:, 0]
    assert np.max(np.abs(clean - truth)) < 0.08


def test_lowpass_resampling_bridges_a_stall_of_the_camera():
    t = np.concatenate([np.arange(100), 100 + 60 + np.arange(100)]) / 60.0  # 1 s without frames
    values = np.stack([t, t ** 2], axis=1)
    out = lowpass_resample(t, values)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 0], np.linspace(t[0], t[-1], N_SAMPLES), atol=1e-9)


@given(
    n=st.integers(2, 300),
    t0=st.floats(-100, 100),
    onsets=st.lists(st.floats(-5, 10), min_size=1, max_size=30),
    holds=st.lists(st.floats(0, 2), min_size=1, max_size=30),
)
def test_trimming_never_keeps_frames_outside_the_keystrokes(n, t0, onsets, holds):
    t = t0 + np.arange(n) / 60.0
    m = min(len(onsets), len(holds))
    on = t0 + np.array(onsets[:m])
    keys = np.stack([np.full(m, 60.0), on, on + np.array(holds[:m]), np.full(m, np.nan)], axis=1)
    window = key_window(keys)
    mask = trim_mask(t, window)
    first_onset, last_release = on.min(), (on + np.array(holds[:m])).max()
    assert np.all(t[mask] >= first_onset)
    assert np.all(t[mask] <= last_release)
    # and everything between is kept
    inside = (t >= first_onset) & (t <= last_release)
    np.testing.assert_array_equal(mask, inside)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_frames=st.integers(12, 400),
    fps=st.sampled_from([25.0, 30.0, 50.0, 60.0, 120.0]),
    missing=st.lists(st.integers(0, 399), max_size=30),
    with_keys=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_output_is_always_128_by_21_by_3(n_frames, fps, missing, with_keys, seed):
    take = make_take(n_frames=n_frames, fps=fps, with_keys=False)
    rng = np.random.default_rng(seed)
    take.landmarks += rng.normal(0, 0.002, take.landmarks.shape).astype(np.float32)
    for i in missing:
        if i < n_frames:
            take.landmarks[i, rng.integers(2)] = np.nan
    if with_keys:
        on = np.sort(rng.uniform(take.t[0], take.t[-1], 5))
        take.keys = np.stack([np.full(5, 64.0), on, np.minimum(on + 0.1, take.t[-1]),
                              np.full(5, 0.5)], axis=1)
    try:
        prepared = prepare(take, Settings(max_gap_s=0.25, max_missing_fraction=0.2))
    except TakeUnusableError as exc:
        assert "frames" in str(exc) or "movement" in str(exc)
        return
    for hand in prepared.hands.values():
        if hand.data is None:
            assert hand.reason
            continue
        assert hand.data.shape == (N_SAMPLES, 21, 3)
        assert hand.data.dtype == np.float32
        assert np.all(np.isfinite(hand.data))


@settings(deadline=None)
@given(
    angle=st.floats(-np.pi, np.pi),
    scale=st.floats(0.3, 3.0),
    shift=st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
)
def test_normalisation_removes_camera_rotation_scale_and_position(angle, scale, shift):
    take = make_take(n_frames=60)
    hand = to_pixels(take.hand("right"), take.image_size)
    moved = rotate_xy(hand, angle) * scale
    moved[..., 0] += shift[0]
    moved[..., 1] += shift[1]
    np.testing.assert_allclose(normalise(moved), normalise(hand), atol=1e-6)


def test_left_hand_is_mirrored_into_the_right_hands_frame():
    prepared = prepare(make_take())
    left, right = prepared.hands["left"].data, prepared.hands["right"].data
    np.testing.assert_allclose(left, right, atol=1e-4)


def test_motion_trim_finds_the_playing():
    take = make_take(n_frames=600, with_keys=False)
    still = (take.t < take.t[0] + 3.0) | (take.t > take.t[0] + 7.0)
    take.landmarks[still] = take.landmarks[still][0:1]
    pixels = np.stack([to_pixels(take.hand(h), take.image_size) for h in ("left", "right")], 1)
    start, end = motion_window(take.t, pixels)
    assert abs(start - (take.t[0] + 3.0)) < 0.15
    assert abs(end - (take.t[0] + 7.0)) < 0.15
    assert prepare(take).trimmed_by == "motion"


def test_motion_trim_without_hands():
    take = make_take(with_keys=False)
    take.landmarks[:] = np.nan
    with pytest.raises(TakeUnusableError, match="no hand was found"):
        prepare(take)


def test_too_few_frames_between_keystrokes():
    take = make_take()
    take.keys = np.array([[60.0, take.t[50], take.t[53], 0.5]])
    with pytest.raises(TakeUnusableError, match="only 4 video frames"):
        prepare(take)


def test_short_gap_is_filled_and_counted():
    take = make_take()
    take.landmarks[100:106, 1] = np.nan  # 0.1 s
    prepared = prepare(take)
    assert prepared.hands["right"].n_filled == 6
    assert prepared.hands["right"].data is not None


def test_long_gap_refuses_the_hand_but_keeps_the_other():
    take = make_take()
    take.landmarks[60:90, 0] = np.nan  # 0.5 s of the left hand
    prepared = prepare(take)
    assert prepared.hands["left"].data is None
    assert "left hand was lost for 0.52 s" in prepared.hands["left"].reason
    assert prepared.hands["right"].data is not None


def test_too_many_missing_frames_says_how_many():
    t = np.arange(100) / 60.0
    hand = np.zeros((100, 21, 3))
    hand[::3] = np.nan  # 34 of 100 frames, each gap short
    with pytest.raises(HandUnusableError, match=r"not found in 34 of 100 frames \(34 %\)"):
        fill_gaps(t, hand, name="right", max_gap_s=0.25, max_missing_fraction=0.2)


def test_frames_with_only_some_values_nan_count_as_not_found_and_the_message_says_so():
    t = np.arange(100) / 60.0
    hand = np.zeros((100, 21, 3))
    hand[:, 8, 0] = np.nan  # one coordinate of one landmark in every frame
    with pytest.raises(HandUnusableError) as info:
        fill_gaps(t, hand, name="left", max_gap_s=0.25, max_missing_fraction=0.2)
    assert "not found in any of the 100 frames (in 100 of those frames only some of its " \
           "values were NaN" in str(info.value)
    hand[:, 8, 0] = 0.0
    hand[::3] = np.nan  # whole frames: the message does not mention partial NaN
    with pytest.raises(HandUnusableError) as info:
        fill_gaps(t, hand, name="left", max_gap_s=0.25, max_missing_fraction=0.2)
    assert "only some" not in str(info.value)


def test_missing_hand_entirely():
    take = make_take()
    take.landmarks[:, 1] = np.nan
    prepared = prepare(take)
    assert "right hand was not found in any" in prepared.hands["right"].reason
    assert prepared.hands["left"].data is not None


def test_gap_filling_interpolates_linearly():
    t = np.arange(10) / 10.0
    hand = np.repeat(t[:, None, None], 21, axis=1).repeat(3, axis=2)
    hand[3:5] = np.nan
    filled, n = fill_gaps(t, hand, name="right", max_gap_s=1.0, max_missing_fraction=0.5)
    assert n == 2
    np.testing.assert_allclose(filled[:, 0, 0], t)


@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["rotate", "scale", "both"]))
def test_augmentation_kinds(seed, kind):
    hand = prepare(make_take(n_frames=120)).hands["right"].data
    rng = np.random.default_rng(seed)
    out = augment(hand, rng, kind=kind, max_angle_deg=10, max_scale=0.1)
    assert out.shape == hand.shape and out.dtype == hand.dtype
    norms_in = np.linalg.norm(hand[..., :2], axis=-1)
    norms_out = np.linalg.norm(out[..., :2], axis=-1)
    if kind == "rotate":
        np.testing.assert_allclose(norms_out, norms_in, rtol=1e-4, atol=1e-5)
    else:
        assume(not np.allclose(out, hand))
        assert np.all(norms_out <= norms_in * 1.1 + 1e-5)
        assert np.all(norms_out >= norms_in * 0.9 - 1e-5)
    np.testing.assert_array_equal(out[..., 2], hand[..., 2])


@given(seed=st.integers(0, 10_000))
def test_set_up_deviations_scale_depth_and_bones_within_their_ranges(seed):
    # the hand with its posture (kinematics/2), so every bone has a length to compare;
    # both deviations are linear, so they act alike on kinematics/3's movement-only hands
    hand = prepare(make_take(n_frames=120), Settings(representation=POSTURE_KEPT)
                   ).hands["right"].data.astype(np.float64)
    depth = augment(hand, np.random.default_rng(seed), kind="scale", max_scale=0.0,
                    max_depth_gain=2.0)
    gain = depth[..., 2][hand[..., 2] != 0] / hand[..., 2][hand[..., 2] != 0]
    assert np.ptp(gain) < 1e-5 and 0.5 - 1e-6 <= gain[0] <= 2.0 + 1e-6
    np.testing.assert_allclose(depth[..., :2], hand[..., :2], atol=1e-6)
    boned = augment(hand, np.random.default_rng(seed), kind="scale", max_scale=0.0,
                    bone_sd=0.05)
    ratio = [np.linalg.norm(boned[:, j] - (boned[:, PARENT[j]] if PARENT[j] else 0), axis=-1)
             / np.linalg.norm(hand[:, j] - (hand[:, PARENT[j]] if PARENT[j] else 0), axis=-1)
             for j in range(1, 21)]
    # each bone keeps one factor for the whole take, within 3 SD
    assert all(np.ptp(r) < 1e-4 for r in ratio)
    assert all(0.85 - 1e-6 <= r[0] <= 1.15 + 1e-6 for r in ratio)
    np.testing.assert_array_equal(boned[:, 0], hand[:, 0])  # the wrist's travel is untouched


def test_scaling_bones_keeps_the_joint_angles():
    hand = prepare(make_take(n_frames=60), Settings(representation=POSTURE_KEPT)
                   ).hands["right"].data.astype(np.float64)
    np.testing.assert_allclose(scale_bones(hand, np.ones(21)), hand)
    longer = scale_bones(hand, np.full(21, 1.1))
    np.testing.assert_allclose(longer[:, 1:], 1.1 * hand[:, 1:], rtol=1e-9)
    with pytest.raises(ValueError, match="max_depth_gain must be at least 1"):
        augment(hand, np.random.default_rng(0), max_depth_gain=0.5)


def test_normalisation_ignores_camera_rotation_even_when_the_wrist_travels_unevenly():
    """kinematics/3 takes the wrist's median in the hand's frame. Along the image axes (as
    kinematics/2 did) a median per axis does not turn with the camera: a wrist that travels
    unevenly is centred differently once the camera is rolled."""
    take = make_take(n_frames=240)
    hand = to_pixels(take.hand("right"), take.image_size)
    u = np.linspace(0.0, 1.0, len(hand))
    hand[..., 0] += (300 * u ** 3)[:, None]  # along the keys, faster and faster
    hand[..., 1] += (100.0 * ((u > 0.3) & (u < 0.5)))[:, None]  # and forward for a while
    turned = rotate_xy(hand, np.radians(20.0))
    np.testing.assert_allclose(normalise(turned), normalise(hand), atol=1e-6)
    old = (normalise(turned, movement_only=False)
           - normalise(hand, movement_only=False))
    assert np.abs(old[:, 0]).max() > 0.05  # the wrist moved by 5 % of a palm or more


def test_kinematics_3_keeps_how_the_hand_moves_not_its_posture():
    """Another habitual posture (fingertips held 3 px further in, the same in every frame)
    changes nothing; the same change coming and going during the passage stays."""
    take = make_take(n_frames=240)
    hand = to_pixels(take.hand("right"), take.image_size)
    tips = [4, 8, 12, 16, 20]
    held = hand.copy()
    held[:, tips, 1] += 3.0
    np.testing.assert_allclose(normalise(held), normalise(hand), atol=1e-9)
    assert not np.allclose(normalise(held, movement_only=False),
                           normalise(hand, movement_only=False), atol=1e-3)
    curling = hand.copy()
    curling[120:180, tips, 1] += 3.0
    assert np.abs(normalise(curling) - normalise(hand)).max() > 0.02


@settings(deadline=None)
@given(gain=st.floats(0.2, 5.0), angle=st.floats(-np.pi, np.pi))
def test_depth_is_brought_to_one_scale_whatever_the_tracker_and_the_cameras_roll(gain, angle):
    take = make_take(n_frames=120)
    hand = to_pixels(take.hand("right"), take.image_size)
    other = rotate_xy(hand, angle)
    other[..., 2] *= gain
    assert depth_ratio(other) == pytest.approx(gain * depth_ratio(hand), rel=1e-9)
    assert depth_ratio(rescale_depth(other)) == pytest.approx(DEPTH_REFERENCE, rel=1e-9)
    np.testing.assert_allclose(normalise(rescale_depth(other)), normalise(rescale_depth(hand)),
                               atol=1e-6)


def test_kinematics_4_prepares_a_deeper_tracker_alike_and_kinematics_3_does_not():
    take = make_take(n_frames=120)
    deeper = take.landmarks.copy()
    deeper[..., 2] *= 2.0
    deep_take = replace(take, landmarks=deeper)
    for hand in ("left", "right"):
        np.testing.assert_allclose(prepare(deep_take).hands[hand].data,
                                   prepare(take).hands[hand].data, atol=1e-5)
    legacy = Settings(representation=MOVEMENT_ONLY)
    z_then, z_now = (prepare(t, legacy).hands["right"].data[..., 2] for t in (take, deep_take))
    np.testing.assert_allclose(z_now, 2.0 * z_then, atol=1e-5)
    assert np.abs(z_then).max() > 1e-3


def test_kinematics_5_takes_most_of_a_noisier_trackers_jitter_out_and_kinematics_4_does_not():
    take = make_take(n_frames=600)  # 10 s at 60 fps: 4.7 frames per sample
    rng = np.random.default_rng(5)
    noisier = replace(take, landmarks=take.landmarks + rng.normal(
        0.0, 2.0 / 1280, take.landmarks.shape).astype(np.float32))  # + 2 px on every axis

    def change(settings_: Settings) -> float:
        clean, noisy = (prepare(t, settings_).hands["right"].data for t in (take, noisier))
        return float(np.sqrt(np.mean((noisy - clean) ** 2)))

    assert change(Settings()) < 0.6 * change(Settings(representation=UNFILTERED_RESAMPLE))


def test_a_tracker_without_depth_is_left_as_it_is():
    take = make_take(n_frames=60)
    hand = to_pixels(take.hand("right"), take.image_size)
    hand[..., 2] = 0.0
    assert depth_ratio(hand) == 0.0
    assert rescale_depth(hand) is hand
    still = np.repeat(hand[:1], 10, axis=0)  # no movement in the image plane either
    assert depth_ratio(still) == 0.0


def test_scaling_is_separate_per_axis():
    hand = np.ones((4, 21, 3))
    out = scale_xy(hand, 2.0, 0.5)
    assert np.all(out[..., 0] == 2.0) and np.all(out[..., 1] == 0.5) and np.all(out[..., 2] == 1)


def test_paper_representation_keeps_image_coordinates():
    from device.kinematics import PAPER_PREPROCESSING

    take = make_take()
    prepared = prepare(take, Settings(representation=PAPER_PREPROCESSING))
    right, left = prepared.hands["right"].data, prepared.hands["left"].data
    assert 0.0 < right[..., 0].mean() < 1.0 and 0.0 < right[..., 1].mean() < 1.0
    # left hand mirrored as x -> 1 - x: it sits right of the image centre after mirroring
    assert left[..., 0].mean() > 0.5
    with pytest.raises(ValueError, match="unknown preprocessing"):
        Settings(representation="raw")


def _keys(notes_onsets: list[tuple[float, float, float]]) -> np.ndarray:
    return np.array([[note, on, off, 0.5] for note, on, off in notes_onsets])


def test_keys_go_to_the_hand_on_their_side_of_the_mirror_pivot():
    keys = _keys([(60, 1.0, 1.1), (52, 1.0, 1.1), (56, 2.0, 2.1), (84, 3.0, 3.1)])
    assert hand_keys(keys, "right", 56.0)[:, 0].tolist() == [60, 56, 84]
    assert hand_keys(keys, "left", 56.0)[:, 0].tolist() == [52, 56]


def test_each_hand_is_trimmed_to_its_own_keystrokes():
    """kinematics/2: a hand is judged on its own playing, not on what it does while the other
    hand is still on the keys; the older representations keep both hands' window."""
    take = make_take(n_frames=300)
    t = take.t
    take.keys = _keys([(60, t[20], t[200]), (52, t[20], t[120])])
    prepared = prepare(take)
    assert prepared.hands["left"].window == (t[20], t[120])
    assert prepared.hands["right"].window == (t[20], t[200])
    assert prepared.window == (t[20], t[200])
    assert prepared.hands["left"].n_frames == 101
    union = prepare(take, Settings(representation=BOTH_HANDS_TRIM))
    assert union.hands["left"].window == union.hands["right"].window == (t[20], t[200])
    assert union.hands["left"].n_frames == 181
    assert not np.allclose(union.hands["left"].data, prepared.hands["left"].data)


def test_a_hand_without_keystrokes_on_its_side_falls_back_to_all_keys():
    """Key data from another set-up, or a hand the key sensor missed: that hand is trimmed as
    the paper trims both, the other by its own keys."""
    take = make_take(n_frames=300)
    t = take.t
    take.keys = _keys([(60, t[20], t[200]), (64, t[40], t[250])])
    prepared = prepare(take)
    assert prepared.hands["left"].window == (t[20], t[250])
    assert prepared.hands["right"].window == (t[20], t[250])
    assert prepared.hands["left"].data is not None


def test_a_hand_with_too_few_frames_is_refused_and_the_other_prepared():
    take = make_take()
    t = take.t
    take.keys = _keys([(60, t[20], t[200]), (52, t[50], t[53])])
    prepared = prepare(take)
    assert "only 4 video frames between this hand's first keystroke" \
        in prepared.hands["left"].reason
    assert prepared.hands["right"].data is not None


def test_a_hand_whose_keys_run_past_the_video_is_refused_with_the_clocks_named():
    """Key sensor and camera on clocks that disagree (or a camera stopped early): the part of
    the playing without video cannot be judged, so the hand is refused, not scored on a
    shortened passage; 0.25 s may be missing, as inside the take."""
    take = make_take(n_frames=300)
    t = take.t
    take.keys = _keys([(60, t[20], t[-1] + 0.5), (52, t[20], t[-1] + 0.2)])
    prepared = prepare(take)
    assert prepared.hands["left"].data is not None
    reason = prepared.hands["right"].reason
    assert f"keys run {t[20]:.2f}-{t[-1] + 0.5:.2f} s but the video {t[0]:.2f}-{t[-1]:.2f} s" \
        in reason
    assert "0.50 s of its playing has no video" in reason
    assert "one clock" in reason


def test_keys_entirely_outside_the_video_say_where_the_video_runs():
    take = make_take()
    take.keys = take.keys + np.array([0.0, 60.0, 60.0, 0.0])
    with pytest.raises(TakeUnusableError,
                       match=rf"only 0 video frames .*the video runs {take.t[0]:.2f}-"):
        prepare(take)


def test_trim_search_keeps_the_lowest_score_and_leaves_out_ends_the_video_lacks():
    """The key window and its end moved by each shift are judged in one batch; the lowest
    score wins with its window and data. Here the keys end 0.19 s after the last frame: the
    window 75 ms later would lack 0.265 s of video (more than 0.25 s), so it is left out."""
    from device.kinematics.prepare import DEFAULT_SETTINGS, prepare_hand
    from device.screening.trim_search import TrimSearch, best_window

    take = make_take(n_frames=300)
    t = take.t
    end = t[-1] + 0.19
    take.keys = _keys([(60, t[20], end), (52, t[20], t[200])])
    right = prepare(take).hands["right"]
    batches = []

    def judge(batch):
        batches.append(batch)
        return np.arange(len(batch), 0, -1.0)  # the last candidate scores lowest

    best = best_window(take, "right", right.data, right.window, DEFAULT_SETTINGS, TrimSearch(),
                       judge)
    assert [len(b) for b in batches] == [6]  # key window, -75, -50, -25, +25, +50 ms
    assert np.array_equal(batches[0][0], right.data)
    assert best.score == 1.0 and best.end_moved_s == 0.05
    assert best.window == (t[20], t[-1])  # the frames its samples span
    assert np.array_equal(best.data, prepare_hand(take, "right", (t[20], end + 0.05),
                                                  DEFAULT_SETTINGS)[0])


def test_without_key_data_a_hand_is_judged_at_its_best_start_and_end_around_its_movement():
    """A take without keys is trimmed by the hands' movement. With a search in the card each
    hand is judged over that window with its start moved later and its end earlier, none
    shorter than MIN_MOTION_WINDOW_S: first every other shift of each (the window as found
    among them), then the pairs next to the three lowest of those. The lowest score wins with
    its window and data. Without a search, as prepared."""
    from device.kinematics.prepare import DEFAULT_SETTINGS, prepare_hand
    from device.screening.trim_search import (
        MIN_MOTION_WINDOW_S,
        MOTION_END_SHIFTS_S,
        MOTION_START_SHIFTS_S,
        TrimSearch,
        judge_hand,
    )

    take = make_take(n_frames=600, with_keys=False)
    prepared = prepare(take)
    assert prepared.trimmed_by == "motion"
    start, end = prepared.hands["right"].window
    windows = {}  # every pair the video holds (prepare_hand refuses the others)
    for a in MOTION_START_SHIFTS_S:
        for b in MOTION_END_SHIFTS_S:
            with contextlib.suppress(HandUnusableError):
                windows[a, b] = prepare_hand(take, "right", (start + a, end + b),
                                             DEFAULT_SETTINGS)[0]
    batches = []

    def judge(batch):  # one valley, at shifts of odd index: found by the fine pass only
        batches.append(batch)
        moves = [next(m for m, y in windows.items() if np.array_equal(x, y)) for x in batch]
        return np.array([abs(a - 0.5) + abs(b + 0.3) for a, b in moves])

    best = judge_hand(take, "right", prepared, DEFAULT_SETTINGS, TrimSearch(), judge)
    assert best.score == pytest.approx(0.0)
    assert (best.start_moved_s, best.end_moved_s) == (0.5, -0.3)
    assert best.window == pytest.approx((start + 0.5, end - 0.3))
    coarse = [(a, b) for a in MOTION_START_SHIFTS_S[::2] for b in MOTION_END_SHIFTS_S[::2]
              if end + b - start - a >= MIN_MOTION_WINDOW_S and (a, b) in windows]
    assert len(MOTION_START_SHIFTS_S) * len(MOTION_END_SHIFTS_S) == 169
    assert (0.0, 0.0) in coarse and len(coarse) > 40
    assert len(batches) == 2 and len(batches[0]) == len(coarse)
    assert any(np.array_equal(x, prepared.hands["right"].data) for x in batches[0])
    assert 8 <= len(batches[1]) <= 3 * 8  # the neighbours of the three lowest, once each
    plain = judge_hand(take, "right", prepared, DEFAULT_SETTINGS, None, judge)
    assert plain.start_moved_s is None and plain.window == (start, end)


def palm_track(n: int = 300, fps: float = 60.0, seed: int = 0) -> np.ndarray:
    """(n, 21, 3) normalised landmarks of a hand carried across the image, turned, tilted
    and brought nearer the camera (an affine map per frame), its fingers curling on their
    own; no tracker noise."""
    rng = np.random.default_rng(seed)
    shape = rng.uniform(-0.05, 0.05, (21, 2))
    shape[[0, 5, 9, 13, 17]] = [[0, 0.06], [-0.03, 0], [-0.01, -0.01], [0.01, -0.01], [0.03, 0]]
    t = np.arange(n) / fps
    out = np.zeros((n, 21, 3))
    for i, s in enumerate(t):
        angle, gain, shear = 0.4 * np.sin(2 * s), 1 + 0.2 * s / t[-1], 0.1 * np.sin(3 * s)
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shape_now = shape.copy()
        shape_now[[4, 8, 12, 16, 20]] += 0.02 * np.sin(9 * s + np.arange(5))[:, None]
        out[i, :, :2] = shape_now @ (gain * turn @ [[1, shear], [0, 1]]).T + [0.3 + 0.1 * s, 0.5]
    return out


def test_tracking_noise_sees_the_trackers_wobble_not_the_hands_movement():
    from device.kinematics.tracking_noise import tracking_noise

    size = (1280, 720)
    still = palm_track()
    assert tracking_noise(still, size) < 1e-9  # carried, turned, tilted, fingers moving
    rng = np.random.default_rng(1)
    palm = np.median(np.linalg.norm(to_pixels(still, size)[:, 9, :2]
                                    - to_pixels(still, size)[:, 0, :2], axis=-1))
    measured = []
    for px in (1.0, 2.0, 4.0):
        noisy = still + rng.normal(0, px, still.shape) / np.array([1280, 720, 1280])
        measured.append(tracking_noise(noisy, size) * palm)
    # two frames' noise on the 4 coordinates the map leaves free: about 1.3 px per px
    assert measured[0] == pytest.approx(1.3, rel=0.15)
    assert measured[1] / measured[0] == pytest.approx(2.0, rel=0.1)
    assert measured[2] / measured[0] == pytest.approx(4.0, rel=0.1)
    # a fraction of the palm's length: the same wobble at twice the resolution is the same
    doubled = still + rng.normal(0, 2.0, still.shape) / np.array([2560, 1440, 2560])
    assert tracking_noise(doubled, (2560, 1440)) == pytest.approx(measured[0] / palm, rel=0.1)


def test_tracking_noise_skips_frames_without_the_hand_and_needs_a_few_pairs():
    from device.kinematics.tracking_noise import MIN_PAIRS, tracking_noise

    hand = palm_track(n=40) + np.random.default_rng(2).normal(0, 1e-3, (40, 21, 3))
    whole = tracking_noise(hand, (1280, 720))
    gappy = hand.copy()
    gappy[5:15] = np.nan
    assert tracking_noise(gappy, (1280, 720)) == pytest.approx(whole, rel=0.25)
    sparse = hand.copy()
    sparse[::2] = np.nan  # no two frames in a row
    assert tracking_noise(sparse, (1280, 720)) is None
    assert tracking_noise(hand[:MIN_PAIRS], (1280, 720)) is None
    assert tracking_noise(hand[:MIN_PAIRS + 1], (1280, 720)) is not None


def test_frames_that_hold_the_other_hand_are_bridged_and_counted():
    """A tracker that swapped the hands' labels for three frames: those frames of each track
    hold the other hand (its mirror-image shape, far away); they are bridged exactly as if
    the tracker had not found the hands in them."""
    take = make_take()
    swapped, lost = take.landmarks.copy(), take.landmarks.copy()
    swapped[100:103] = take.landmarks[100:103, ::-1]
    lost[100:103] = np.nan
    prepared = prepare(replace(take, landmarks=swapped))
    missing = prepare(replace(take, landmarks=lost))
    for name in ("left", "right"):
        hand = prepared.hands[name]
        assert (hand.n_other_hand, hand.n_filled) == (3, 3)
        np.testing.assert_array_equal(hand.data, missing.hands[name].data)
        assert missing.hands[name].n_other_hand == 0


def _displaced(take, frames, palms=1.0, angle=0.7):
    """``take`` with both hands put ``palms`` palm lengths away in ``frames``, shape intact."""
    width, height = take.image_size
    landmarks = take.landmarks.copy()
    for h in range(2):
        pixels = take.landmarks[:, h, :, :2] * np.array([width, height])
        palm = float(np.median(np.linalg.norm(pixels[:, 9] - pixels[:, 0], axis=1)))
        landmarks[frames, h, :, :2] += palms * palm * np.array(
            [np.cos(angle) / width, np.sin(angle) / height])
    return replace(take, landmarks=landmarks)


@pytest.mark.parametrize("frames", [[100], [100, 101, 102]])
def test_frames_that_put_the_whole_hand_elsewhere_are_bridged_and_counted(frames):
    """A tracker that lost the hands for one to three frames and put them, shape intact, a
    palm's length away: those frames are bridged exactly as if it had not found the hands in
    them, and counted."""
    from device.kinematics.displaced import displaced_frames

    take = make_take()
    lost = take.landmarks.copy()
    lost[frames] = np.nan
    moved = _displaced(take, frames)
    for h in range(2):
        found = displaced_frames(moved.landmarks[:, h], moved.t, moved.image_size)
        assert list(np.flatnonzero(found)) == frames
        assert not displaced_frames(take.landmarks[:, h], take.t, take.image_size).any()
    prepared, missing = prepare(moved), prepare(replace(take, landmarks=lost))
    for name in ("left", "right"):
        hand = prepared.hands[name]
        assert (hand.n_displaced, hand.n_filled, hand.n_other_hand) == (len(frames),) * 2 + (0,)
        np.testing.assert_array_equal(hand.data, missing.hands[name].data)
        assert prepare(take).hands[name].n_displaced == 0


def test_the_displacement_limit_grows_with_the_frame_interval():
    """At 30 fps a hand moves twice as far between frames as at 60, and the limit is twice as
    far: a displacement of 0.9 palm lengths is caught at 60 fps, not at 30; 1.5 at both. A
    frame beside lost frames is not judged on too few neighbours."""
    from device.kinematics.displaced import displaced_frames

    for fps, caught in ((60.0, {0.9: True, 1.5: True}), (30.0, {0.9: False, 1.5: True})):
        take = make_take(fps=fps)
        for palms, expected in caught.items():
            moved = _displaced(take, [100], palms)
            assert displaced_frames(moved.landmarks[:, 1], moved.t, moved.image_size)[100] \
                == expected
    take = make_take()
    gappy = _displaced(take, [100]).landmarks.copy()
    gappy[[97, 98, 99, 101, 102]] = np.nan  # two of its six neighbours left
    assert not displaced_frames(gappy[:, 1], take.t, take.image_size).any()


def test_the_frame_checks_see_the_frames_just_outside_the_window():
    """The checks run once over the hand's whole track (device/kinematics/track_checks.py).
    A hand put elsewhere in its window's first or last frame, the two frames inside the
    window next to it lost, is found from the frames outside the window (within the window
    alone one of its six neighbours holds the hand, too few to judge it) and bridged as if
    the tracker had lost the hand there. A frame put elsewhere just outside the window is not
    counted as the window's."""
    take = make_take()
    window = prepare(take).hands["right"].window
    inside = np.flatnonzero((take.t >= window[0]) & (take.t <= window[1]))
    first, last = int(inside[0]), int(inside[-1])
    assert first >= 3 and last <= take.n_frames - 4
    for edge, lost_next in ((first, [first + 1, first + 2]), (last, [last - 1, last - 2])):
        moved = _displaced(take, [edge])
        moved.landmarks[lost_next] = np.nan
        lost = moved.landmarks.copy()
        lost[edge] = np.nan
        hand = prepare(moved).hands["right"]
        assert hand.n_displaced == 1
        np.testing.assert_array_equal(
            hand.data, prepare(replace(take, landmarks=lost)).hands["right"].data)
    outside = prepare(_displaced(take, [first - 1, last + 1])).hands["right"]
    assert outside.n_displaced == 0
    np.testing.assert_array_equal(outside.data, prepare(take).hands["right"].data)


def test_a_hand_refused_for_displaced_frames_is_told_why():
    """Every fourth frame put elsewhere (a tracker that keeps losing the hand): a quarter of
    the frames count as missing, more than the fifth allowed, and the reason says why."""
    take = make_take()
    moved = _displaced(take, list(range(2, take.n_frames, 4)))
    reason = prepare(moved).hands["right"].reason
    assert reason.startswith("right hand was not found in 47 of 190 frames (25 %)")
    assert ("of the 190 frames count as missing because the whole right hand was put "
            "somewhere else in them for a moment: the tracker may have lost it") in reason


@pytest.mark.parametrize("how", ["labels the other way round", "a mirrored camera"])
def test_a_track_that_holds_the_other_hand_throughout_is_refused_with_the_reason(how):
    take = make_take()
    if how == "labels the other way round":
        landmarks = take.landmarks[:, ::-1].copy()
    else:
        landmarks = take.landmarks.copy()
        landmarks[..., 0] = 1.0 - landmarks[..., 0]
    prepared = prepare(replace(take, landmarks=landmarks))
    for name, other in (("left", "right"), ("right", "left")):
        assert prepared.hands[name].data is None
        assert f"the {name} hand's landmarks have the shape of a {other} hand" in \
            prepared.hands[name].reason
        assert "the other way round" in prepared.hands[name].reason


def test_a_hand_refused_for_a_long_swap_is_told_why():
    take = make_take()
    landmarks = take.landmarks.copy()
    landmarks[50:70, 1] = take.landmarks[50:70, 0]  # 0.33 s of the left hand in the right's
    # (190 of the 240 frames lie between the hand's first onset and last release)
    reason = prepare(replace(take, landmarks=landmarks)).hands["right"].reason
    assert reason.startswith("right hand was lost for 0.35 s")
    assert ("20 of the 190 frames count as missing because the right hand's landmarks had "
            "the shape of a left hand in them: the tracker may have swapped") in reason


def test_the_label_swap_set_up_swaps_three_frames_of_each_hand_while_they_play():
    from model_export.screening.setups import labels_swapped

    take = make_take()
    changed = labels_swapped(3)(take)
    differs = np.flatnonzero(np.any(changed.landmarks != take.landmarks, axis=(1, 2, 3)))
    assert len(differs) == 3 and np.all(np.diff(differs) == 1)
    start, end = key_window(take.keys)
    assert start < take.t[differs[0]] and take.t[differs[-1]] < end
    prepared = prepare(changed)
    assert [prepared.hands[h].n_other_hand for h in ("left", "right")] == [3, 3]
