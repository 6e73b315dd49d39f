"""``python -m model_export landmarks``: the pinned wheel, the float16 fold, the int8 models."""

import json
import zipfile

import cv2
import numpy as np
import pytest

from device.digest import sha256_of
from model_export.commands.landmarks import DEFAULT_CACHE, SHARED_DATA
from model_export.landmarks import hands, wheel
from model_export.landmarks.fold import fold_fp16_file

VIDEO = SHARED_DATA / "piano_right_hand.mp4"
MODELS = ("palm_detection_lite", "palm_detection_full", "hand_landmark_lite",
          "hand_landmark_full")


def interpreter(path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    return it


def run(it, batch):
    (detail,) = it.get_input_details()
    it.set_tensor(detail["index"], batch)
    it.invoke()
    return [it.get_tensor(o["index"]).copy() for o in it.get_output_details()]


def test_a_tampered_wheel_is_refused(tmp_path):
    pinned = wheel.WHEELS["x86_64"]
    fake = tmp_path / pinned.filename
    with zipfile.ZipFile(fake, "w") as archive:
        for member in wheel.MODELS.values():
            archive.writestr(member, b"not a model")
    with pytest.raises(wheel.WheelError, match="SHA-256"):
        wheel.fetch_wheel(tmp_path)  # present in the cache, so checked, not downloaded


def test_an_unknown_architecture_is_named():
    with pytest.raises(wheel.WheelError, match="riscv64"):
        wheel.fetch_wheel(DEFAULT_CACHE, arch="riscv64")


def test_a_wheel_without_the_models_is_refused(tmp_path):
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "")
    with pytest.raises(wheel.WheelError, match="palm_detection_lite"):
        wheel.extract_models(fake, tmp_path / "out")


@pytest.fixture(scope="module")
def float16_model(tmp_path_factory):
    """A small conv net converted by TensorFlow with float16 weights behind DEQUANTIZE ops."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((16, 16, 3)),
        tf.keras.layers.Conv2D(4, 3, activation="relu"),
        tf.keras.layers.DepthwiseConv2D(3),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(5),
    ])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    path = tmp_path_factory.mktemp("fold") / "small_fp16.tflite"
    path.write_bytes(converter.convert())
    return path


def op_names_and_tensor_types(path):
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.subgraphs[0]
    ops = [names[flatbuffer_utils.get_builtin_code_from_operator_code(
        model.operatorCodes[op.opcodeIndex])] for op in graph.operators]
    return ops, {t.type for t in graph.tensors}


def test_folding_removes_float16_and_keeps_the_outputs(float16_model, tmp_path):
    from ai_edge_litert import schema_py_generated as schema

    ops, types = op_names_and_tensor_types(float16_model)
    assert schema.TensorType.FLOAT16 in types  # the premise
    dequantize_ops = ops.count("DEQUANTIZE")
    assert dequantize_ops >= 3
    folded = tmp_path / "small_float32.tflite"

    count = fold_fp16_file(float16_model, folded)

    ops, types = op_names_and_tensor_types(folded)
    assert count == dequantize_ops
    assert "DEQUANTIZE" not in ops
    assert schema.TensorType.FLOAT16 not in types
    before, after = interpreter(float16_model), interpreter(folded)
    assert list(after.get_signature_list()) == ["serving_default"]
    rng = np.random.default_rng(1)
    for _ in range(3):
        batch = rng.normal(size=(1, 16, 16, 3)).astype(np.float32)
        np.testing.assert_allclose(run(after, batch)[0], run(before, batch)[0], rtol=1e-6,
                                   atol=1e-6)


@pytest.fixture(scope="module")
def built(landmark_models_dir):
    """The real command's output (tests/conftest.py) and its card."""
    return landmark_models_dir, json.loads((landmark_models_dir / "landmark_card.json")
                                           .read_text())


def test_the_card_lists_every_variant(built):
    out, card = built
    files = {v["file"] for v in card["variants"]}
    assert files == {f"{m}_{tag}.tflite" for m in MODELS for tag in ("fp16", "float32", "int8")}
    for v in card["variants"]:
        assert sha256_of(out / v["file"]) == v["sha256"]
        assert v["ms_per_inference"] > 0
        assert v["input_shape"] == ([1, 192, 192, 3] if v["model"].startswith("palm")
                                    else [1, 224, 224, 3])
    assert card["source"]["sha256"] == wheel.WHEELS["x86_64"].sha256
    int8 = [v for v in card["variants"] if v["precision"] == "int8"]
    assert all("accuracy_vs_float32" in v for v in int8)


def real_crops(out):
    """Frame 101 of the video: the detector input, the crop its float32 full palm gives and
    the tracking crop from the float32 full landmark model's landmarks on that."""
    cap = cv2.VideoCapture(str(VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 101)
    ok, frame = cap.read()
    assert ok
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    batch, padding = hands.palm_input(rgb)
    palm_out = run(interpreter(out / "palm_detection_full_float32.tflite"), batch)
    first = hands.crop_from_palm(rgb, hands.best_palm(palm_out, padding))
    points = run(interpreter(out / "hand_landmark_full_float32.tflite"), first.batch)[0]
    tracked = hands.crop_from_landmarks(rgb, hands.to_frame(first, points.reshape(21, 3)))
    return batch, first.batch, tracked.batch


@pytest.mark.parametrize("name", ["hand_landmark_lite", "hand_landmark_full"])
def test_int8_landmarks_stay_close_on_a_real_frame(built, name):
    out, _ = built
    _, first, tracked = real_crops(out)
    int8_model = interpreter(out / f"{name}_int8.tflite")
    assert int8_model.get_input_details()[0]["dtype"] == np.float32
    for crop in (first, tracked):
        original = run(interpreter(out / f"{name}_fp16.tflite"), crop)
        folded = run(interpreter(out / f"{name}_float32.tflite"), crop)
        quantised = run(int8_model, crop)
        for a, b in zip(original, folded, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-3)
        want = folded[0].reshape(21, 3)[:, :2]
        got = quantised[0].reshape(21, 3)[:, :2]
        hand_size = np.linalg.norm(want.max(axis=0) - want.min(axis=0))
        assert folded[1].item() > 0.5  # the float model sees a hand
        assert np.linalg.norm(got - want, axis=1).mean() < 0.1 * hand_size
    # tracking keeps the hand: presence on the tracking crop (on the palm's first crop the
    # int8 full model's presence is lower than float's by about 0.2, see docs/vision.md)
    assert abs(quantised[1].item() - folded[1].item()) < 0.2


@pytest.mark.parametrize("name", ["palm_detection_lite", "palm_detection_full"])
def test_int8_palm_detector_finds_the_same_palm(built, name):
    out, _ = built
    batch, _, _ = real_crops(out)
    no_padding = (0.0, 0.0, 0.0, 0.0)
    folded = hands.best_palm(run(interpreter(out / f"{name}_float32.tflite"), batch),
                             no_padding)
    quantised = hands.best_palm(run(interpreter(out / f"{name}_int8.tflite"), batch),
                                no_padding)
    box = max(folded.box[2:] - folded.box[:2])
    centre = (folded.box[2:] + folded.box[:2]) / 2
    assert np.linalg.norm((quantised.box[2:] + quantised.box[:2]) / 2 - centre) < 0.5 * box
    assert abs((quantised.box[2] - quantised.box[0]) - (folded.box[2] - folded.box[0])) \
        < 0.5 * box


@pytest.mark.parametrize("name", ["hand_landmark_lite", "hand_landmark_full"])
def test_int8_landmark_models_can_say_there_is_no_hand(built, name):
    """Calibrated on hands only, the presence output could not fall below about 0.5, and
    tracking would never let a hand go."""
    out, card = built
    (entry,) = [v for v in card["variants"] if v["file"] == f"{name}_int8.tflite"]
    accuracy = entry["accuracy_vs_float32"]
    assert accuracy["crops_without_hand"] >= 5
    assert accuracy["presence_without_hand"]["max"] < 0.5
    assert accuracy["presence_with_hand"]["mean"] > 0.5
    keys = np.zeros((1, 224, 224, 3), np.float32)
    keys[:, :, ::28] = 1.0  # white and black stripes: no hand
    assert run(interpreter(out / f"{name}_int8.tflite"), keys)[1].item() < 0.5
