"""The synthetic cohort: kinematics of the simulated hands, dystonia, camera, files, CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from device import protocol, takefile
from model_export import cli
from model_export.synth import camera, cohort, keyboard, performance, person, skeleton

TASKS = tuple(range(1, 12))


def someone(group: str = "healthy", seed: int = 4, **changes: object) -> person.Person:
    p = person.sample("P001", group, np.random.default_rng(seed))
    return dataclasses.replace(p, **changes) if changes else p


def plan(p: person.Person, task: int, dynamics: str = "ff", mode: str = "fixed",
         seed: int = 0) -> performance.TakePlan:
    return performance.plan(protocol.load().task(task), p, dynamics, mode,
                            np.random.default_rng(seed))


def pip_flexion(landmarks: np.ndarray) -> np.ndarray:
    """(T, 5) angle (rad) at the middle joint of each digit, from the landmarks alone."""
    out = []
    for chain in skeleton.CHAINS:
        a = landmarks[:, chain[1]] - landmarks[:, chain[0]]
        b = landmarks[:, chain[2]] - landmarks[:, chain[1]]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        out.append(np.arccos(np.clip(cos, -1, 1)))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("group", ["healthy", "dystonic"])
def test_segment_lengths_stay_constant(group: str) -> None:
    p = someone(group, severity=1.0) if group == "dystonic" else someone()
    for task in (1, 9):
        take = plan(p, task, mode="fastest")
        for hand in (0, 1):
            bones = skeleton.bone_lengths(performance.hand_motion(take, hand, take.t).landmarks)
            assert np.ptp(bones, axis=0).max() < 1e-9
            assert bones.min() > 0.005


@pytest.mark.parametrize("group,seed", [("healthy", 4), ("dystonic", 5), ("healthy", 6)])
def test_each_fingertip_meets_its_key_at_the_onset(group: str, seed: int) -> None:
    p = someone(group, seed)
    for task in TASKS:
        for mode in ("fixed", "fastest"):
            take = plan(p, task, mode=mode, seed=task)
            for hand in (0, 1):
                for digit, strokes in enumerate(take.hands[hand].strokes):
                    if strokes.onset.size == 0:
                        continue
                    at_onset = performance.hand_motion(take, hand, strokes.onset)
                    tip = at_onset.landmarks[:, skeleton.TIPS[digit]]
                    key = strokes.point.copy()
                    if hand == 0:
                        key[:, 0] = performance.mirror_x(key[:, 0])
                    half_width = np.where(key[:, 2] > 0, keyboard.BLACK_WIDTH,
                                          keyboard.WHITE_WIDTH) / 2
                    where = f"task {task} {mode} hand {hand} digit {digit}"
                    assert np.all(np.abs(tip[:, 2] - key[:, 2]) < 0.005), where
                    assert np.all(np.abs(tip[:, 0] - key[:, 0]) < half_width - 0.001), where
                    assert np.all(np.abs(tip[:, 1] - key[:, 1]) < 0.02), where


def test_onsets_in_the_keys_match_the_planned_strokes() -> None:
    take = plan(someone(), 7)
    planned = np.sort(np.concatenate([s.onset for h in take.hands for s in h.strokes]))
    assert np.allclose(np.sort(take.keys[:, 1]), planned)
    assert take.keys[:, 1].min() > take.t[0] and take.keys[:, 2].max() < take.t[-1]
    notes = set(take.keys[:, 0].astype(int))
    task = protocol.load().task(7)
    assert notes == {n for e in task.events for n in e.right + e.left}


@pytest.mark.parametrize("pattern", ["middle+ring+little", "thumb+index", "wrist"])
def test_the_hand_never_passes_through_the_keys(pattern: str) -> None:
    p = someone("dystonic", 5, pattern=pattern, affected_hand="right", severity=1.0)
    for task in (1, 4, 8, 9):
        take = plan(p, task, mode="fastest", seed=task)
        for hand in (0, 1):
            motion = performance.hand_motion(take, hand, take.t)
            x, y = motion.landmarks[..., 0], motion.landmarks[..., 1]
            if hand == 0:
                x = performance.mirror_x(x)
            top = keyboard.surface_height(x, y)
            z = motion.landmarks[..., 2]
            assert np.all(z >= top - keyboard.KEY_DIP - 2e-4)
            tips = list(skeleton.TIPS)
            free = motion.contact == 0
            assert np.all(z[:, tips][free] >= top[:, tips][free] - 2e-4)


def test_dystonic_curling_only_in_the_named_fingers_and_growing_with_severity() -> None:
    base = someone("dystonic", 5, pattern="ring+little", affected_hand="right")
    flexion = {}
    for severity in (0.0, 0.3, 1.0):
        p = dataclasses.replace(base, severity=severity)
        take = plan(p, 6, seed=11)
        flexion[severity] = [pip_flexion(performance.hand_motion(take, hand, take.t)
                                         .landmarks).mean(axis=0) for hand in (0, 1)]
    gain_mild = np.degrees(flexion[0.3][1] - flexion[0.0][1])
    gain_marked = np.degrees(flexion[1.0][1] - flexion[0.0][1])
    assert np.all(gain_marked[[3, 4]] > 8.0)  # ring and little curl
    assert np.all(gain_marked[[3, 4]] > gain_mild[[3, 4]])
    assert np.all(gain_mild[[3, 4]] > 0.5)
    assert np.all(np.abs(gain_marked[:3]) < 1.5)  # thumb, index, middle hardly change
    assert np.allclose(flexion[1.0][0], flexion[0.0][0])  # the other hand not at all


def test_wrist_pattern_flexes_the_wrist() -> None:
    base = someone("dystonic", 5, pattern="wrist", affected_hand="left")
    pitch = {}
    for severity in (0.0, 1.0):
        take = plan(dataclasses.replace(base, severity=severity), 1, seed=3)
        lm = performance.hand_motion(take, 0, take.t).landmarks
        palm = lm[:, 9] - lm[:, 0]
        pitch[severity] = np.degrees(np.arctan2(-palm[:, 2], np.hypot(palm[:, 0],
                                                                      palm[:, 1])))
    assert pitch[1.0].max() - pitch[0.0].max() > 5.0


def test_camera_looks_down_with_c4_in_the_middle() -> None:
    mount = person.Camera(height=1.0, offset=np.zeros(2), roll=0.0, tilt=np.zeros(2))
    c4, c5 = keyboard.strike_point(60), keyboard.strike_point(72)
    away, up = np.array([0.0, 0.05, 0.0]), np.array([0.0, 0.0, 0.02])
    points = np.array([[c4, c5, c4 + away, c4 + up]])
    image = camera.project(points, mount)[0]
    assert abs(image[0, 0] - 0.5) < 0.02 and abs(image[0, 1] - 0.5) < 0.1
    assert image[1, 0] > image[0, 0]  # higher pitch to the right
    assert image[2, 1] < image[0, 1]  # away from the player is up the image
    mm_per_px = 1000 * (c5[0] - c4[0]) / ((image[1, 0] - image[0, 0]) * camera.IMAGE_SIZE[0])
    assert 1.2 < mm_per_px < 1.4
    assert image[3, 2] < 0  # nearer the camera than the reference point: negative z


def test_tracker_loses_frames_in_spells_and_jitters() -> None:
    rng = np.random.default_rng(2)
    tracker = dataclasses.replace(camera.Tracker.sample(rng), miss_rate=0.02)
    still = np.tile(np.linspace(0.3, 0.6, 63).reshape(1, 21, 3), (3000, 1, 1))
    seen = camera.observe(still, tracker, rng)
    lost = np.isnan(seen[:, 0, 0])
    assert 0.01 < lost.mean() < 0.3
    assert np.all(np.isnan(seen[lost]))
    wobble = np.nanstd(seen - still, axis=0)
    assert np.all(wobble > 0)


def test_cli_writes_a_cohort_that_reads_back_and_repeats(tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    args = ["synth", "--healthy", "2", "--dystonic", "2", "--seed", "3", "--tasks", "1,9"]
    assert cli.main([*args, "--out", str(first)]) == 0
    assert cli.main([*args, "--out", str(second), "--workers", "1"]) == 0
    rows = (first / "participants.tsv").read_text().splitlines()
    assert rows[0].split("\t") == list(cohort.TSV_COLUMNS)
    table = [r.split("\t") for r in rows[1:]]
    assert sorted(r[1] for r in table) == ["dystonic", "dystonic", "healthy", "healthy"]
    for _, group, hand, pattern, severity in table:
        assert (hand == "none") == (group == "healthy") == (pattern == "none")
        assert 0.0 <= float(severity) <= 1.0
    files = sorted(first.glob("*.take.npz"))
    assert len(files) == 4 * 2 * 2 * 2
    ids = {r[0] for r in table}
    for path in files:
        take = takefile.read(path)
        assert path.name.split("_")[0] in ids
        assert take.meta["participant"] == path.name.split("_")[0]
        assert set(take.meta) == {"tempo_bpm", "tempo_mode", "dynamics", "participant",
                                  "source", "generator", "seed"}
        assert take.meta["source"] == "synthetic"
        assert (path.read_bytes() == (second / path.name).read_bytes()), path.name
    other = tmp_path / "c"
    assert cli.main(["synth", "--healthy", "1", "--dystonic", "0", "--seed", "4",
                     "--tasks", "1", "--out", str(other)]) == 0
    assert (other / "P001_t01_ff_fixed.take.npz").read_bytes() != \
        (first / "P001_t01_ff_fixed.take.npz").read_bytes()
    json.loads(json.dumps(takefile.read(files[0]).meta))


def test_cli_rejects_an_unknown_task(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["synth", "--out", "x", "--healthy", "1", "--dystonic", "0", "--seed", "1",
                  "--tasks", "1,12"])
    assert exit_.value.code == 2
    assert "no task 12" in capsys.readouterr().err


def test_cli_refuses_an_output_that_is_a_file(tmp_path, capsys) -> None:
    target = tmp_path / "cohort"
    target.write_text("not a directory")
    assert cli.main(["synth", "--out", str(target), "--healthy", "1", "--dystonic", "0",
                     "--seed", "1", "--tasks", "1"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_the_hand_is_a_function_of_time_alone() -> None:
    """Evaluating a take at a few instants (as the onset test does) gives the same hand as
    the whole frame grid."""
    take = plan(someone("dystonic", 3, severity=0.8), 4)
    grid = performance.hand_motion(take, 1, take.t).landmarks
    picked = np.arange(0, take.t.size, 37)
    single = performance.hand_motion(take, 1, take.t[picked]).landmarks
    assert np.allclose(grid[picked], single, atol=1e-9)
