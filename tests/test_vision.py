"""The on-box landmark pipeline: anchors, decoding, NMS, hand regions, tracking, analyze."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import cv2
import mido
import numpy as np
import pytest

from device import protocol, takefile
from device.vision import anchors, detection, handedness, roi
from device.vision.analyze import AnalyzeError, analyze_to_file, analyze_video
from device.vision.midi_keys import MidiKeysError, check_task, read_keys
from device.vision.models import LandmarkModels, ModelError
from device.vision.pipeline import HandTracker
from device.vision.sources import FileSource, VideoError, open_source

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEO = DATA / "piano_right_hand.mp4"
HANDS = DATA / "hands"

needs_data = pytest.mark.skipif(not VIDEO.is_file(), reason=f"real data not at {DATA}")


@pytest.fixture(scope="module")
def models(landmark_models_dir) -> LandmarkModels:
    return LandmarkModels.from_dir(landmark_models_dir, "lite")


# --- anchors -------------------------------------------------------------------------------

def mediapipe_anchor_centres(size: int, strides: list[int]) -> np.ndarray:
    """The SsdAnchorsCalculator formula, written out: layers with equal strides share a
    feature map, cells row by row, two anchors (aspect 1 and interpolated scale) per layer."""
    centres = []
    for stride in dict.fromkeys(strides):  # distinct strides in order (equal ones adjacent)
        per_cell = 2 * strides.count(stride)
        cells = math.ceil(size / stride)
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.array(centres)


def test_palm_anchors_count_and_formula():
    generated = anchors.generate(anchors.PALM_ANCHORS)
    assert generated.shape == (2016, 4)
    np.testing.assert_allclose(generated[:, 2:], 1.0)
    expected = mediapipe_anchor_centres(192, [8, 16, 16, 16])
    np.testing.assert_allclose(generated[:, :2], expected, atol=1e-7)
    np.testing.assert_allclose(generated[0, :2], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(generated[1, :2], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(generated[1152, :2], [0.5 / 12, 0.5 / 12])  # first stride-16
    np.testing.assert_allclose(generated[-1, :2], [11.5 / 12, 11.5 / 12])


# --- decoding and NMS ------------------------------------------------------------------------

def raw_palm(x: float, y: float, w: float, h: float, keypoints: list[tuple[float, float]]
             ) -> np.ndarray:
    """One raw detector row in 192-pixel units relative to its anchor."""
    row = [x, y, w, h]
    for kx, ky in keypoints:
        row += [kx, ky]
    return np.array(row, dtype=np.float32)


def test_decode_hand_built_tensor():
    anchor = np.array([[0.25, 0.75, 1.0, 1.0], [0.5, 0.5, 1.0, 1.0], [0.1, 0.1, 1.0, 1.0]],
                      dtype=np.float32)
    keypoints = [(k * 1.92, -k * 1.92) for k in range(7)]
    boxes = np.stack([
        raw_palm(19.2, -9.6, 38.4, 57.6, keypoints),  # kept
        raw_palm(0, 0, 10, 10, keypoints),  # score too low
        raw_palm(0, 0, -10, 10, keypoints),  # negative width: dropped
    ])
    scores = np.array([[2.0], [-1.0], [300.0]])
    found = detection.decode(boxes, scores, anchor)
    assert len(found) == 1
    palm = found[0]
    assert palm.score == pytest.approx(1 / (1 + math.exp(-2.0)))
    # centre (0.25 + 0.1, 0.75 - 0.05), size (0.2, 0.3)
    np.testing.assert_allclose(palm.box, [0.25, 0.55, 0.45, 0.85], atol=1e-6)
    np.testing.assert_allclose(palm.keypoints[3], [0.25 + 0.03, 0.75 - 0.03], atol=1e-6)
    assert palm.keypoints.shape == (7, 2)


def test_decode_clips_scores_and_checks_shapes():
    anchor = np.array([[0.5, 0.5, 1.0, 1.0]], dtype=np.float32)
    row = raw_palm(0, 0, 19.2, 19.2, [(0, 0)] * 7)[None]
    (palm,) = detection.decode(row, np.array([1e6]), anchor)
    assert palm.score == pytest.approx(1 / (1 + math.exp(-100.0)))
    with pytest.raises(ValueError, match="2 boxes"):
        detection.decode(np.vstack([row, row]), np.array([1.0, 1.0]), anchor)


def palm_at(box: list[float], score: float, shift: float = 0.0) -> detection.Detection:
    return detection.Detection(score=score, box=np.array(box, dtype=float),
                               keypoints=np.full((7, 2), shift))


def test_weighted_nms_merges_overlaps_by_score():
    strong = palm_at([0.1, 0.1, 0.3, 0.3], 0.9, shift=0.2)
    weak = palm_at([0.12, 0.1, 0.32, 0.3], 0.6, shift=0.3)  # IoU 0.82 with strong
    apart = palm_at([0.6, 0.6, 0.8, 0.8], 0.7, shift=0.7)
    merged = detection.weighted_nms([weak, apart, strong], threshold=0.3)
    assert [m.score for m in merged] == [0.9, 0.7]
    np.testing.assert_allclose(merged[0].box, (0.9 * strong.box + 0.6 * weak.box) / 1.5)
    np.testing.assert_allclose(merged[0].keypoints, (0.9 * 0.2 + 0.6 * 0.3) / 1.5)
    np.testing.assert_allclose(merged[1].box, apart.box)
    assert detection.weighted_nms([]) == []


def test_iou_and_letterbox_removal():
    assert detection.iou(np.array([0, 0, 2, 2]), np.array([1, 1, 3, 3])) == pytest.approx(1 / 7)
    assert detection.iou(np.array([0, 0, 1, 1]), np.array([2, 2, 3, 3])) == 0.0
    palm = palm_at([0.25, 0.5, 0.75, 0.75], 0.9, shift=0.5)
    unpadded = detection.remove_letterbox(palm, (0.0, 0.25, 0.0, 0.25))
    np.testing.assert_allclose(unpadded.box, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(unpadded.keypoints, np.tile([0.5, 0.5], (7, 1)))


# --- hand regions -----------------------------------------------------------------------------

def palm_pointing(direction: tuple[float, float]) -> detection.Detection:
    """A palm box centred at (0.5, 0.5) of a 200x100 image, wrist to middle MCP along
    ``direction`` (image pixels)."""
    keypoints = np.full((7, 2), 0.5)
    keypoints[detection.WRIST_KEYPOINT] = [0.5, 0.5]
    keypoints[detection.MIDDLE_MCP_KEYPOINT] = [0.5 + direction[0] / 200, 0.5 + direction[1] / 100]
    return detection.Detection(score=0.9, box=np.array([0.45, 0.4, 0.55, 0.6]),
                               keypoints=keypoints)


def test_region_from_palm_rotation_shift_and_scale():
    up = roi.from_detection(palm_pointing((0, -10)), 200, 100)
    assert up.rotation == pytest.approx(0.0)
    side = 2.6 * 20  # box is 20 x 20 pixels
    assert (up.width, up.height) == pytest.approx((side, side))
    assert (up.cx, up.cy) == pytest.approx((100, 50 - 10))  # half a box towards the fingers
    right = roi.from_detection(palm_pointing((10, 0)), 200, 100)
    assert right.rotation == pytest.approx(math.pi / 2)
    assert (right.cx, right.cy) == pytest.approx((100 + 10, 50))
    down = roi.from_detection(palm_pointing((0, 10)), 200, 100)
    assert abs(down.rotation) == pytest.approx(math.pi)
    assert (down.cx, down.cy) == pytest.approx((100, 60))


def upright_hand() -> np.ndarray:
    """A plausible right hand, fingers up, in pixels (21, 3)."""
    points = np.zeros((21, 3))
    points[0, :2] = [0, 0]
    for finger, base_x in enumerate([-30, -15, 0, 15, 30]):
        for joint in range(4):
            points[1 + finger * 4 + joint, :2] = [base_x * (1 + 0.1 * joint),
                                                  -40 - 15 * joint + (25 if finger == 0 else 0)]
    return points + np.array([300.0, 200.0, 0.0])


@pytest.mark.parametrize("angle_deg", [0, 30, -75, 160])
def test_region_from_landmarks_turns_with_the_hand(angle_deg):
    hand = upright_hand()
    base = roi.from_landmarks(hand)
    assert base.rotation == pytest.approx(0.0, abs=1e-9)
    angle = math.radians(angle_deg)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pivot = np.array([320.0, 180.0])
    turned = hand.copy()
    turned[:, :2] = (hand[:, :2] - pivot) @ turn.T + pivot
    rect = roi.from_landmarks(turned)
    assert roi.normalize_radians(rect.rotation - angle) == pytest.approx(0.0, abs=1e-9)
    assert (rect.width, rect.height) == pytest.approx((base.width, base.height))
    centre = (np.array([base.cx, base.cy]) - pivot) @ turn.T + pivot
    assert (rect.cx, rect.cy) == pytest.approx(tuple(centre))


def test_crop_and_projection_are_inverse():
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    image[150, 200] = 255
    rect = roi.RotatedRect(cx=190, cy=140, width=60, height=60, rotation=math.radians(35))
    patch = roi.crop(image, rect, 224, cv2.BORDER_CONSTANT)[:, :, 0].astype(float)
    ys, xs = np.nonzero(patch > 0)
    weights = patch[ys, xs]
    spot = np.array([[np.average(xs, weights=weights), np.average(ys, weights=weights), 2.0]])
    back = roi.project(spot, rect, 224)
    np.testing.assert_allclose(back[0, :2], [200, 150], atol=0.6)
    assert back[0, 2] == pytest.approx(2.0 * 60 / 224)


# --- handedness -------------------------------------------------------------------------------

def test_handedness_from_geometry_and_position():
    right = upright_hand()
    left = right.copy()
    left[:, 0] = 600 - left[:, 0]  # mirror image
    assert handedness.chirality(right) > 0.5
    assert handedness.chirality(left) < -0.5
    angle = math.radians(120)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    turned = right.copy()
    turned[:, :2] = right[:, :2] @ turn.T
    assert handedness.chirality(turned) == pytest.approx(handedness.chirality(right))
    assert handedness.assign([400.0, 100.0], [5.0, 5.0]) == [handedness.RIGHT, handedness.LEFT]
    assert handedness.assign([100.0], [-2.0]) == [handedness.LEFT]
    assert handedness.assign([100.0], [3.0]) == [handedness.RIGHT]


# --- tracking, with stand-in models ----------------------------------------------------------

class FakePalmModel:
    """Palms at the given anchors, pointing up, 40/192 of the input wide."""

    path = Path("fake_palm.tflite")
    input_size = (192, 192)
    output_shapes: ClassVar = [(1, 2016, 18), (1, 2016, 1)]

    def __init__(self, anchor_indices: list[int]) -> None:
        self.anchor_indices = anchor_indices
        self.calls = 0

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        boxes = np.zeros((2016, 18), dtype=np.float32)
        scores = np.full((2016, 1), -50.0, dtype=np.float32)
        for i in self.anchor_indices:
            boxes[i] = raw_palm(0, 0, 40, 40, [(0, 10), (0, 0), (0, -10)] + [(0, 0)] * 4)
            scores[i] = 5.0
        return [boxes, scores]


class FakeLandmarkModel:
    """An upright hand placed so that the region it gives is the region it was found in
    (a fixed point of tracking); presence is the crop's mean brightness."""

    path = Path("fake_landmark.tflite")
    input_size = (224, 224)
    output_shapes: ClassVar = [(1, 63), (1, 1), (1, 1), (1, 63)]

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        hand = upright_hand()[:, :2]
        subset = hand[list(roi.REGION_LANDMARKS)]
        low, high = subset.min(axis=0), subset.max(axis=0)
        scale = 112 / (high - low).max()  # twice the extent fills the 224 crop
        placed = (hand - (low + high) / 2) * scale + [112, 112 + 0.1 * (high - low)[1] * scale]
        points = np.hstack([placed, np.zeros((21, 1))]).astype(np.float32)
        presence = np.array([[float(image.mean())]], dtype=np.float32)  # input is 0..1
        return [points.reshape(63), presence, np.zeros((1, 1)), np.zeros(63)]


def fake_tracker(anchor_indices: list[int], redetect_every: int = 4
                 ) -> tuple[HandTracker, FakePalmModel]:
    palm = FakePalmModel(anchor_indices)
    models = LandmarkModels(palm=palm, landmark=FakeLandmarkModel())  # type: ignore[arg-type]
    return HandTracker(models, redetect_every=redetect_every), palm


LEFT_ANCHOR = 2 * (12 * 24 + 6)  # stride-8 map, row 12, column 6: x = 0.27, y = 0.52
RIGHT_ANCHOR = 2 * (12 * 24 + 18)  # column 18: x = 0.77


def bright(width: int = 640, height: int = 480) -> np.ndarray:
    return np.full((height, width, 3), 230, dtype=np.uint8)


def test_two_tracked_hands_need_no_palm_detection():
    tracker, palm = fake_tracker([RIGHT_ANCHOR, LEFT_ANCHOR])
    results = [tracker.process(bright()) for _ in range(12)]
    assert [r.palm_detection_ran for r in results] == [True] + [False] * 11
    assert palm.calls == 1
    last = results[-1]
    assert np.all(np.isfinite(last.landmarks))
    assert last.landmarks[handedness.LEFT, 0, 0] < last.landmarks[handedness.RIGHT, 0, 0]
    assert last.presence == pytest.approx([230 / 255] * 2, abs=0.01)


def test_one_hand_redetects_at_the_cadence_and_after_a_loss():
    tracker, _ = fake_tracker([RIGHT_ANCHOR], redetect_every=4)
    ran = [tracker.process(bright()).palm_detection_ran for _ in range(9)]
    assert ran == [True, False, False, False, True, False, False, False, True]
    frame = tracker.process(bright())
    assert np.isnan(frame.landmarks[handedness.LEFT]).all()  # one hand: geometry says right
    assert np.isfinite(frame.landmarks[handedness.RIGHT]).all()
    dark = bright()
    dark[:, 320:] = 0  # the hand's region goes dark: presence drops, the hand is lost
    lost = tracker.process(dark)
    assert np.isnan(lost.landmarks).all() and lost.presence.tolist() == [0.0, 0.0]
    assert tracker.process(bright()).palm_detection_ran


def test_two_tracks_on_one_hand_become_one():
    from device.vision.pipeline import _Track

    hand = upright_hand()
    small = _Track(rect=roi.RotatedRect(300, 170, 80, 80, 0.0), landmarks=hand + 2.0,
                   presence=0.8)
    large = _Track(rect=roi.RotatedRect(300, 170, 240, 240, 0.0), landmarks=hand,
                   presence=0.9)  # IoU 1/9: only the landmarks show it is the same hand
    other = _Track(rect=roi.RotatedRect(520, 170, 80, 80, 0.0),
                   landmarks=hand + np.array([220.0, 0, 0]), presence=0.7)
    kept = HandTracker._drop_duplicates([small, large, other])
    assert len(kept) == 2 and kept[0] is large and kept[1] is other


# --- models and the real video ----------------------------------------------------------------

def test_missing_models_are_named(tmp_path):
    with pytest.raises(ModelError, match=r"palm_detection_lite_float32\.tflite is missing"):
        LandmarkModels.from_dir(tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        LandmarkModels.from_dir(tmp_path / "nowhere")
    with pytest.raises(ModelError, match=r"precision must be one of.*'int4'"):
        LandmarkModels.from_dir(tmp_path, landmark_precision="int4")


def test_precisions_choose_the_command_s_files(landmark_models_dir):
    default = LandmarkModels.from_dir(landmark_models_dir, "full")
    assert default.palm.path.name == "palm_detection_full_float32.tflite"
    assert default.landmark.path.name == "hand_landmark_full_int8.tflite"
    chosen = LandmarkModels.from_dir(landmark_models_dir, "lite", palm_precision="int8",
                                     landmark_precision="fp16")
    assert chosen.palm.path.name == "palm_detection_lite_int8.tflite"
    assert chosen.landmark.path.name == "hand_landmark_lite_fp16.tflite"


def test_a_file_changed_after_the_build_is_refused(tmp_path, landmark_models_dir):
    for path in landmark_models_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    LandmarkModels.from_dir(tmp_path)  # a faithful copy loads
    changed = tmp_path / "hand_landmark_lite_int8.tflite"
    changed.write_bytes(changed.read_bytes() + b"\0")
    with pytest.raises(ModelError, match=r"hand_landmark_lite_int8\.tflite: SHA-256"):
        LandmarkModels.from_dir(tmp_path)
    card = json.loads((tmp_path / "landmark_card.json").read_text())
    card["variants"] = [v for v in card["variants"]
                        if v["file"] != "palm_detection_lite_float32.tflite"]
    (tmp_path / "landmark_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"palm_detection_lite_float32\.tflite is not listed"):
        LandmarkModels.from_dir(tmp_path, landmark_precision="float32")


@needs_data
def test_tracks_the_right_hand_in_the_real_video(models):
    tracker = HandTracker(models, redetect_every=5)
    source = FileSource(VIDEO)
    results = [tracker.process(frame) for _, frame in source.frames()]
    source.close()
    found = np.array([~np.isnan(r.landmarks[:, 0, 0]) for r in results])
    assert len(results) == 334
    assert found[:, handedness.RIGHT].sum() >= 0.85 * len(results)  # MediaPipe: 301..333
    assert found[:, handedness.LEFT].sum() <= 0.05 * len(results)
    detections = sum(r.palm_detection_ran for r in results)
    assert detections < 0.5 * len(results)  # tracking, not detecting every frame
    present = np.concatenate([r.presence[f] for r, f in zip(results, found, strict=True)])
    assert present.min() >= 0.5


@needs_data
def test_two_real_hands_sides_by_position_and_geometry(models):
    """The video beside its mirror image: a left hand (mirrored right hand) on the left."""
    tracker = HandTracker(models, redetect_every=5)
    source = FileSource(VIDEO)
    results = []
    for _, frame in source.frames():
        results.append(tracker.process(np.ascontiguousarray(np.hstack([frame[:, ::-1], frame]))))
    source.close()
    hands = np.array([r.landmarks for r in results])
    found = np.isfinite(hands[:, :, 0, 0])
    assert found.sum(axis=0).min() >= 0.85 * len(results)  # alone: 324 of 334
    assert np.all(hands[found[:, 0], handedness.LEFT, :, 0].mean(axis=1) < 848)
    assert np.all(hands[found[:, 1], handedness.RIGHT, :, 0].mean(axis=1) > 848)
    left_only = HandTracker(models, redetect_every=5)
    source = FileSource(VIDEO)
    alone = [left_only.process(np.ascontiguousarray(frame[:, ::-1]))
             for _, frame in source.frames()]
    source.close()
    sides = np.array([np.isfinite(r.landmarks[:, 0, 0]) for r in alone])
    assert sides[:, handedness.LEFT].sum() >= 0.85 * len(alone)
    assert sides[:, handedness.RIGHT].sum() == 0  # one hand: its geometry says left


def annotated_hands():
    for dataset in ("panoptic", "freihand", "onehand10k"):
        coco = json.loads((HANDS / dataset / f"test_{dataset}.json").read_text())
        names = {image["id"]: image["file_name"] for image in coco["images"]}
        for annotation in coco["annotations"]:
            keypoints = np.array(annotation["keypoints"], dtype=float).reshape(21, 3)
            yield dataset, HANDS / dataset / names[annotation["image_id"]], keypoints


@needs_data
def test_error_to_manual_annotations(landmark_models_dir):
    """Static images, full models and detection threshold 0.3 as in SOURCES.md's reference
    (MediaPipe: panoptic 0.04-0.17, onehand10k 0.03-0.07, freihand 0.10-0.12, one miss)."""
    tracker = HandTracker(LandmarkModels.from_dir(landmark_models_dir, "full"),
                          min_detection_score=0.3)
    errors: dict[str, list[float]] = {}
    for dataset, path, keypoints in annotated_hands():
        tracker.reset()
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        hands = tracker.process(image).landmarks
        visible = keypoints[:, 2] > 0
        truth = keypoints[visible, :2]
        diagonal = np.linalg.norm(truth.max(axis=0) - truth.min(axis=0))
        per_hand = [np.linalg.norm(hand[visible, :2] - truth, axis=1).mean() / diagonal
                    for hand in hands if np.isfinite(hand[0, 0])]
        errors.setdefault(dataset, []).append(min(per_hand) if per_hand else math.nan)
    found = [e for values in errors.values() for e in values if np.isfinite(e)]
    assert len(found) >= 14  # of 16
    assert np.nanmax(errors["onehand10k"]) < 0.1
    assert np.nanmax(errors["freihand"]) < 0.15
    assert np.nanmax(errors["panoptic"]) < 0.2


# --- sources ----------------------------------------------------------------------------------

@needs_data
def test_file_source_times_on_one_clock():
    source = FileSource(VIDEO)
    times = [t for t, frame in source.frames() if frame.shape == (480, 848, 3)]
    source.close()
    assert len(times) == 334
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(333 / source.fps, abs=0.01)


@needs_data
def test_truncated_and_unreadable_files(tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(VIDEO.read_bytes()[:1_200_000])
    with pytest.raises(VideoError, match="truncated"):
        list(FileSource(cut).frames())
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(VideoError, match="cannot be opened"):
        FileSource(junk)
    with pytest.raises(VideoError, match="not found"):
        FileSource(tmp_path / "absent.mp4")
    with pytest.raises(ValueError, match="unknown video source"):
        open_source("webcam")


# --- MIDI keys --------------------------------------------------------------------------------

def write_midi(path: Path, notes: list[int], step_s: float = 0.15, hold_s: float = 0.1) -> Path:
    """Notes one after another at 120 bpm (480 ticks a beat = 0.5 s)."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    ticks = lambda s: round(s / 0.5 * 480)  # noqa: E731
    gap = step_s - hold_s
    for i, note in enumerate(notes):
        track.append(mido.Message("note_on", note=note, velocity=64, time=ticks(gap if i else 0.2)))
        # every other release as a note-on with velocity 0, as many pianos send it
        off = mido.Message("note_off", note=note, velocity=0, time=ticks(hold_s)) if i % 2 \
            else mido.Message("note_on", note=note, velocity=0, time=ticks(hold_s))
        track.append(off)
    midi.save(str(path))
    return path


def task_notes(number: int) -> list[int]:
    task = protocol.load().task(number)
    return [n for event in task.played() for n in event.right + event.left]


def test_midi_keys_read_and_checked(tmp_path):
    notes = task_notes(1)[:20]
    keys = read_keys(write_midi(tmp_path / "t1.mid", notes))
    assert keys.shape == (20, 4)
    np.testing.assert_array_equal(np.sort(keys[:, 0]), np.sort(notes))
    np.testing.assert_allclose(np.unique(keys[:, 1])[:2], [0.2, 0.35], atol=2e-3)
    np.testing.assert_allclose(keys[:, 2] - keys[:, 1], 0.1, atol=2e-3)
    np.testing.assert_allclose(keys[:, 3], 64 / 127)
    check_task(keys, protocol.load().task(1), "t1.mid")
    with pytest.raises(MidiKeysError, match="do not match task 9"):
        check_task(keys, protocol.load().task(9), "t1.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    with pytest.raises(MidiKeysError, match="not a readable MIDI file"):
        read_keys(bad)
    with pytest.raises(MidiKeysError, match="not found"):
        read_keys(tmp_path / "absent.mid")


# --- analyze ----------------------------------------------------------------------------------

@needs_data
def test_analyze_real_video_with_keys(tmp_path, landmark_models_dir):
    midi = write_midi(tmp_path / "keys.mid", task_notes(1), step_s=0.18)
    seen = []
    out = analyze_to_file(VIDEO, tmp_path / "take.npz", landmark_models_dir, 1, midi,
                          progress=lambda done, total: seen.append((done, total)))
    take = takefile.read(out)
    assert take.task == 1 and take.n_frames == 334
    assert take.image_size == (848, 480)
    assert take.keys.shape[0] == len(task_notes(1))
    right = take.hand("right")
    found = ~np.isnan(right[:, 0, 0])
    assert found.mean() > 0.85
    assert np.nanmedian(right[found, :, 0]) == pytest.approx(0.5, abs=0.3)  # normalised
    assert take.meta["source"] == "file" and take.meta["tempo_mode"] == "fixed"
    assert seen[-1] == (334, 334)


def blank_video(path: Path, frames: int = 20) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for i in range(frames):
        frame = np.full((240, 320, 3), 180, dtype=np.uint8)
        cv2.rectangle(frame, (20 + i, 40), (120 + i, 200), (90, 60, 30), -1)  # a box, no hand
        writer.write(frame)
    writer.release()
    return path


def test_bad_inputs_write_nothing(tmp_path, landmark_models_dir):
    out = tmp_path / "take.npz"
    with pytest.raises(AnalyzeError, match="no hand was found in any of its 20 frames"):
        analyze_to_file(blank_video(tmp_path / "blank.mp4"), out, landmark_models_dir, 1)
    assert not out.exists()
    wrong = write_midi(tmp_path / "wrong.mid", task_notes(9))
    with pytest.raises(AnalyzeError, match="do not match task 1"):
        analyze_to_file(tmp_path / "blank.mp4", out, landmark_models_dir, 1, wrong)
    late = write_midi(tmp_path / "late.mid", task_notes(1), step_s=1.0)
    with pytest.raises(AnalyzeError, match=r"notes are played until 57\.2 s"):
        analyze_to_file(tmp_path / "blank.mp4", out, landmark_models_dir, 1, late)
    with pytest.raises(AnalyzeError, match="unknown task 12"):
        analyze_to_file(tmp_path / "blank.mp4", out, landmark_models_dir, 12)
    with pytest.raises(AnalyzeError, match="is missing"):
        analyze_to_file(tmp_path / "blank.mp4", out, tmp_path, 1)
    assert not out.exists()
    assert list(tmp_path.glob(".take.npz*")) == []  # no temporary file left behind


@needs_data
def test_truncated_video_leaves_existing_take(tmp_path, landmark_models_dir):
    out = tmp_path / "take.npz"
    out.write_bytes(b"the previous take")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(VIDEO.read_bytes()[:1_200_000])
    with pytest.raises(AnalyzeError, match="truncated"):
        analyze_video(cut, landmark_models_dir, 1)
    with pytest.raises(AnalyzeError, match="truncated"):
        analyze_to_file(cut, out, landmark_models_dir, 1)
    assert out.read_bytes() == b"the previous take"
