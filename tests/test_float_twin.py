"""The float model rebuilt from an int8 file whose kernels were trained onto the int8 grid:
the kernels come back exactly, the biases to within their int32 rounding, so the rebuilt
model is the one that was exported, and int8 can be compared with float without the float
file."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("tensorflow")

TASK = 4


def _copy_without_float(out, to):
    shutil.copytree(out, to)
    shutil.rmtree(to / "float")
    return to


def test_the_rebuilt_model_is_the_trained_one(trained):
    import tensorflow as tf

    from device.screening.runtime import TfliteModel
    from model_export.screening.architecture import Architecture
    from model_export.screening.float_twin import float_twin

    _, out = trained
    entry = json.loads((out / "model_card.json").read_text())["tasks"][str(TASK)]
    real = tf.keras.models.load_model(out / entry["float_file"])
    twin = float_twin(out / entry["file"], Architecture.from_card(entry["architecture"]))
    convs = [layer for layer in real.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    assert len(convs) == 14  # 7 encoding (the code layer the last), 7 decoding
    for layer in convs:
        kernel, bias = layer.get_weights()
        twin_kernel, twin_bias = twin.get_layer(layer.name).get_weights()
        assert np.array_equal(twin_kernel, kernel), layer.name
        # int32 at (input scale x kernel scale): far below the kernel's own int8 step
        step = np.abs(kernel).max(axis=(0, 1, 2)) / 127
        assert np.all(np.abs(twin_bias - bias) <= 0.05 * step + 1e-7), layer.name

    hands = np.random.default_rng(0).normal(0.0, 0.3, (4, 128, 21, 3)).astype(np.float32)
    want = real(hands).numpy()
    int8 = np.stack([TfliteModel(out / entry["file"])(h) for h in hands])
    assert np.abs(twin(hands).numpy() - want).max() < 0.05 * np.abs(int8 - want).max()


def test_the_command_writes_the_cards_float_files_and_keeps_existing_ones(trained, tmp_path,
                                                                           capsys):
    import tensorflow as tf

    from model_export.cli import main

    _, out = trained
    models = _copy_without_float(out, tmp_path / "models")
    assert main(["float-twin", "--models", str(models)]) == 0
    written = models / "float" / f"task{TASK:02d}.keras"
    assert tf.keras.models.load_model(written).count_params() > 0
    assert main(["float-twin", "--models", str(models)]) == 0
    assert "already there" in capsys.readouterr().out


def test_a_failed_write_leaves_no_float_file_and_no_partial_one(trained, tmp_path, capsys,
                                                                monkeypatch):
    from model_export.cli import main

    class FullDisk:
        def save(self, path):
            path.write_bytes(b"half a model")
            raise OSError("No space left on device")

    _, out = trained
    models = _copy_without_float(out, tmp_path / "models")
    monkeypatch.setattr("model_export.screening.float_twin.float_twin", lambda *_: FullDisk())
    assert main(["float-twin", "--models", str(models)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list((models / "float").iterdir()) == []


def test_models_not_tuned_onto_the_int8_grid_are_refused(trained, tmp_path, capsys):
    from model_export.cli import main

    _, out = trained
    models = _copy_without_float(out, tmp_path / "models")
    card_path = models / "model_card.json"
    card = json.loads(card_path.read_text())
    card["tasks"][str(TASK)]["training"]["int8_fine_tuning"] = None
    card_path.write_text(json.dumps(card))
    assert main(["float-twin", "--models", str(models)]) == 2
    assert "not fine-tuned onto the int8 grid" in capsys.readouterr().err
    assert not (models / "float").exists()
    assert main(["float-twin", "--models", str(models), "--tasks", "9"]) == 2
    assert "no model for task(s) 9" in capsys.readouterr().err
