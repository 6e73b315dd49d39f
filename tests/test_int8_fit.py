"""Int8 fine-tuning: the float model's kernels lie on the int8 grid, so the int8 export
holds exactly the float model's weights."""

import json
import shutil

import numpy as np
import pytest

from tests.fake_cohort import write_cohort

pytest.importorskip("tensorflow")

TASK = 4


def _conv_weights(tflite_path):
    """Layer name -> dequantised (h, w, in, out) kernel of the int8 TFLite model."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path))
    out = {}
    for detail in interpreter.get_tensor_details():
        name = detail["name"]
        if detail["dtype"] != np.int8 or not name.endswith("/convolution"):
            continue
        layer = name.split("/")[-2].removesuffix("_1")
        q = detail["quantization_parameters"]
        values = interpreter.get_tensor(detail["index"]).astype(np.float64)  # (out, h, w, in)
        scales = np.asarray(q["scales"])[:, None, None, None]
        out[layer] = np.transpose(values * scales, (1, 2, 3, 0))
    return out


def test_int8_grid_is_tflites_per_channel_rounding():
    from model_export.screening.int8_fit import int8_grid

    rng = np.random.default_rng(0)
    kernel = rng.normal(0, 0.1, (3, 3, 4, 5)).astype(np.float32)
    kernel[..., 2] = 0.0  # a dead channel stays zero
    grid = int8_grid(kernel)
    scale = np.abs(kernel).max(axis=(0, 1, 2)) / 127
    steps = grid[..., [0, 1, 3, 4]] / scale[[0, 1, 3, 4]]
    assert np.allclose(steps, np.round(steps), atol=1e-4)
    assert np.abs(steps).max() == pytest.approx(127, abs=1e-4)
    assert np.all(grid[..., 2] == 0)
    assert np.abs(grid - kernel).max() <= scale.max() / 2 + 1e-7
    assert np.array_equal(int8_grid(grid), grid)


def test_rounding_layer_uses_the_grid_and_passes_the_gradient_through():
    import tensorflow as tf

    from model_export.screening.int8_fit import Int8WeightConv2D, int8_grid

    layer = Int8WeightConv2D(2, (3, 3), padding="same")
    x = tf.random.normal((1, 8, 5, 3), seed=1)
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_sum(y * y)
    kernel, bias = layer.get_weights()
    expected = tf.nn.conv2d(x, int8_grid(kernel), 1, "SAME") + bias
    assert np.allclose(y.numpy(), expected.numpy(), atol=1e-5)
    assert not np.allclose(int8_grid(kernel), kernel)  # the rounding is real
    grad = tape.gradient(loss, layer.kernel)
    assert grad is not None and np.abs(grad.numpy()).max() > 0


def test_trained_float_model_is_what_the_int8_model_holds(trained):
    """`train` fine-tunes for int8 by default: every float kernel is on the grid and equals
    the int8 model's dequantised weights."""
    import tensorflow as tf

    from model_export.screening.int8_fit import int8_grid

    _, out = trained
    card = json.loads((out / "model_card.json").read_text())
    entry = card["tasks"][str(TASK)]
    assert entry["training"]["int8_fine_tuning"]["epochs"] == 20
    model = tf.keras.models.load_model(out / entry["float_file"])
    int8 = _conv_weights(out / entry["file"])
    convs = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    assert sorted(int8) == sorted(layer.name for layer in convs)
    for layer in convs:
        kernel = layer.get_weights()[0]
        assert np.array_equal(int8_grid(kernel), kernel), layer.name
        assert np.allclose(int8[layer.name], kernel, rtol=1e-5, atol=1e-8), layer.name


def test_tune_int8_command_reexports_a_training_output(trained, tmp_path):
    import tensorflow as tf

    from model_export.cli import main
    from model_export.screening.int8_fit import int8_grid

    cohort, models = trained
    out = tmp_path / "models"
    shutil.copytree(models, out)
    before = json.loads((out / "model_card.json").read_text())
    assert main(["tune-int8", "--cohort", str(cohort), "--models", str(out),
                 "--epochs", "1"]) == 0
    after = json.loads((out / "model_card.json").read_text())
    entry = after["tasks"][str(TASK)]
    assert after["model_id"] != before["model_id"]
    assert entry["training"]["int8_fine_tuning"]["epochs"] == 1
    assert entry["train_participants"] == before["tasks"][str(TASK)]["train_participants"]
    assert entry["epochs"] == before["tasks"][str(TASK)]["epochs"]  # training kept
    assert entry["int8_tuned"] and entry["threshold"] > 0
    model = tf.keras.models.load_model(out / entry["float_file"])
    kernel = model.get_layer("enc1").get_weights()[0]
    assert np.array_equal(int8_grid(kernel), kernel)


def test_tune_int8_errors_name_what_is_wrong(trained, tmp_path, capsys):
    from model_export.cli import main

    cohort, models = trained
    assert main(["tune-int8", "--cohort", str(cohort), "--models", str(tmp_path)]) == 2
    assert "not a readable model directory" in capsys.readouterr().err
    out = tmp_path / "shipped"
    shutil.copytree(models, out)
    shutil.rmtree(out / "float")
    assert main(["tune-int8", "--cohort", str(cohort), "--models", str(out)]) == 2
    assert "has no float model" in capsys.readouterr().err
    assert main(["tune-int8", "--cohort", str(cohort), "--models", str(models),
                 "--tasks", "5"]) == 2
    assert "has no model of task 5" in capsys.readouterr().err
    other = write_cohort(tmp_path / "other", healthy=4, dystonic=0, task=TASK, seed=9)
    assert main(["tune-int8", "--cohort", str(other), "--models", str(models)]) == 2
    assert "not the cohort the task 4 model was trained on" in capsys.readouterr().err
