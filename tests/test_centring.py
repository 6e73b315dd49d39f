"""The autoencoder centred on its task's mean training hand: the mean is set by training,
kept through int8 fine-tuning and carried into the int8 export as a constant."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")

TASK = 4


def _mean_hand() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 128)[:, None, None]
    landmark = np.linspace(-0.5, 0.5, 21)[None, :, None]
    axis = np.array([1.0, -0.6, 0.2])[None, None, :]
    return (np.sin(2 * np.pi * t) * axis + landmark * axis[..., ::-1]).astype(np.float32)


def test_a_centred_model_without_weights_gives_back_its_mean_hand_in_int8_too(tmp_path):
    """With every kernel and bias zero the network adds nothing: the output is the centring
    hand, so that hand must be in the float model, its int8 grid twin and the int8 file."""
    import tensorflow as tf

    from device.screening.runtime import TfliteModel
    from model_export.screening.architecture import Architecture
    from model_export.screening.export import to_int8_tflite
    from model_export.screening.int8_fit import on_int8_grid
    from model_export.screening.model import build, set_mean

    arch = Architecture(4, 2, centred=True)
    model = build(arch)
    mean = _mean_hand()
    set_mean(model, mean)
    # every kernel and bias zero; the two centring hands (the only weights of its shape) kept
    model.set_weights([w if w.shape == mean.shape else np.zeros_like(w)
                       for w in model.get_weights()])
    hand = mean + np.random.default_rng(0).normal(0, 0.1, mean.shape).astype(np.float32)
    assert np.allclose(model.predict(hand[None], verbose=0)[0], mean, atol=1e-6)

    twin = build(arch)
    twin.set_weights(on_int8_grid(model))
    assert np.allclose(twin.predict(hand[None], verbose=0)[0], mean, atol=1e-6)

    # saved and loaded again as --init-from and tune-int8 load the float model
    model.save(tmp_path / "centred.keras")
    again = tf.keras.models.load_model(tmp_path / "centred.keras")
    assert np.allclose(again.predict(hand[None], verbose=0)[0], mean, atol=1e-6)

    path = tmp_path / "centred.tflite"
    path.write_bytes(to_int8_tflite(model, arch, np.stack([hand, mean])))
    int8 = TfliteModel(path)(hand)
    assert np.abs(int8 - mean).max() < 0.02 * np.abs(mean).max()


def test_training_centres_the_model_on_the_training_hands_mean():
    from model_export.screening.architecture import Architecture
    from model_export.screening.train import TrainConfig, train

    rng = np.random.default_rng(1)
    x = _mean_hand()[None] + rng.normal(0, 0.05, (6, 128, 21, 3)).astype(np.float32)
    config = TrainConfig(Architecture(4, 2, centred=True), max_epochs=1, augment_copies=0,
                         int8_epochs=1)
    model = train(x[:4], x[4:], config, seed=0).model
    for name in ("centre", "uncentre"):
        assert np.allclose(model.get_layer(name).get_weights()[0], x[:4].mean(axis=0))
    plain = train(x[:4], x[4:], TrainConfig(Architecture(4, 2, centred=False), max_epochs=1,
                                            augment_copies=0, int8_epochs=0), seed=0).model
    assert "centre" not in [layer.name for layer in plain.layers]


def test_the_card_records_centring_and_older_cards_read_as_uncentred(trained, tmp_path):
    from model_export.screening.architecture import Architecture

    cohort, out = trained  # trained without --centred
    card = json.loads((out / "model_card.json").read_text())
    arch = card["tasks"][str(TASK)]["architecture"]
    assert arch["centred"] is False and "mean training hand" not in arch["kind"]
    old = {k: v for k, v in arch.items() if k != "centred"}
    assert Architecture.from_card(old) == Architecture(8, 4, centred=False)
    assert Architecture.from_card(old | {"centred": True}) == Architecture(8, 4, centred=True)
    # training on from these models with centring is another architecture: refused
    result = subprocess.run(
        [sys.executable, "-m", "model_export", "train", "--cohort", str(cohort), "--tasks",
         str(TASK), "--max-epochs", "1", "--width", "8", "--code-channels", "4",
         "--centred", "--init-from", str(out), "--out", str(tmp_path / "warm")],
        capture_output=True, text=True)
    assert result.returncode == 2
    assert "another architecture" in result.stderr and "--centred" in result.stderr
    assert not (tmp_path / "warm" / "model_card.json").exists()
