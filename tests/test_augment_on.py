"""`--augment-on`: augmentation and standardisation in tf.data (host) or in the training step (device)."""

import csv
import json

import keras
import numpy as np
import pytest

from models import SCHEDULE, Preprocessing, load_bundle
from models.architectures import build_model
from training import cli
from training.augment import evaluation_dataset, resolve_augment_on, training_dataset
from training.device_augment import DeviceAugmentation, device_trainer

QUICK = ["--weights", "none", "--input-size", "32", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "-q"]
PREPROCESSING = Preprocessing(32, mean_rgb=(0.5, 0.4, 0.3), std_rgb=(0.2, 0.25, 0.3))


def _images(n=8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 5


def _random_layers(model) -> list[str]:
    return [layer.name for layer in model._flatten_layers() if type(layer).__name__.startswith("Random")]


def test_auto_is_the_host_without_a_gpu():
    assert resolve_augment_on("auto") == "host"  # conftest hides any GPU
    assert resolve_augment_on("device") == "device" and resolve_augment_on("host") == "host"
    with pytest.raises(ValueError, match="valid values are auto, host, device"):
        resolve_augment_on("gpu")


def test_host_and_device_batches_reach_the_model_alike():
    images, labels = _images()
    host = next(iter(training_dataset(images, labels, 5, PREPROCESSING, 4, seed=0)))
    device = next(iter(training_dataset(images, labels, 5, PREPROCESSING, 4, seed=0, on_device=True)))
    # The host pipeline does the work; the device one only ships the uint8 images.
    assert host[0].dtype == "float32" and device[0].dtype == "uint8"
    assert host[0].shape == device[0].shape == (4, 32, 32, 3)
    assert host[1].shape == device[1].shape == (4, 5)

    # What a model wrapped for the device receives from the uint8 batch: float32 standardised images.
    inner = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Identity()])
    wrapper = DeviceAugmentation(inner, PREPROCESSING, seed=0, extra=("light",))
    augmented = wrapper(device[0], training=True)
    assert augmented.dtype == host[0].dtype and augmented.shape == host[0].shape
    assert not np.allclose(augmented, PREPROCESSING.normalize(device[0].numpy()), atol=1e-3)  # augmented
    assert float(np.mean(np.abs(augmented))) < 10  # and standardised, not in [0, 255]

    # Validation: the same standardisation, no augmentation.
    host_val = next(iter(evaluation_dataset(images, labels, 5, PREPROCESSING, 4)))[0]
    device_val = next(iter(evaluation_dataset(images, labels, 5, PREPROCESSING, 4, on_device=True)))[0]
    assert device_val.dtype == "uint8"
    np.testing.assert_allclose(wrapper(device_val, training=False), host_val, rtol=1e-6, atol=1e-6)


def test_wrapper_trains_the_model_it_wraps_with_the_model_s_optimizer():
    model = build_model(SCHEDULE["model4"], 5, weights=None, input_size=32)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    trainer = device_trainer(model, PREPROCESSING, seed=0)
    assert trainer.optimizer is model.optimizer
    assert [id(v) for v in trainer.trainable_variables] == [id(v) for v in model.trainable_variables]
    images, labels = _images()
    before = [w.copy() for w in model.get_weights()]
    trainer.fit(training_dataset(images, labels, 5, PREPROCESSING, 4, seed=0, on_device=True), steps_per_epoch=2,
                epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations.numpy()) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert _random_layers(trainer) and not _random_layers(model)


def test_device_mode_trains_and_bundles_the_plain_model(tmp_path, hand_crops, caplog):
    out = tmp_path / "runs"
    with caplog.at_level("INFO"):
        code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "compact", *QUICK[:-1],
                         "--extra-augmentation", "light,scale", "--augment-on", "device"])
    assert code == 0
    assert "compact: augmentation and standardisation on the device, in the training step" in caplog.text
    run_dir = out / "compact"
    assert json.loads((run_dir / "config.json").read_text())["settings"]["augment_on"] == "device"
    bundle = load_bundle(run_dir / "bundle")
    # The bundle holds the model as built: standardised float input, no augmentation layers.
    assert not _random_layers(bundle.model)
    built = build_model(SCHEDULE["compact"], 5, weights=None, input_size=32)
    assert [type(layer).__name__ for layer in bundle.model._flatten_layers()] == \
        [type(layer).__name__ for layer in built._flatten_layers()]
    assert bundle.model.input.dtype == "float32"
    probs = bundle.predict_bgr(np.zeros((40, 30, 3), np.uint8))
    assert probs.shape == (5,) and probs.sum() == pytest.approx(1, abs=1e-5)


def test_auto_records_the_mode_it_resolved_to(tmp_path, hand_crops):
    out = tmp_path / "runs"
    code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "model4", *QUICK, "--no-feature-cache"])
    assert code == 0
    assert json.loads((out / "model4" / "config.json").read_text())["settings"]["augment_on"] == "host"


def test_interrupted_device_mode_run_resumes_with_its_optimizer_state(tmp_path, hand_crops, interrupt_after_first_epoch):
    out = tmp_path / "runs"
    args = ["--data", str(hand_crops), "--out", str(out), "--runs", "model4", *QUICK, "--no-feature-cache",
            "--augment-on", "device"]
    args[args.index("--epochs") + 1] = "3"
    assert cli.main(args) == 130
    checkpoint = out / "model4" / "checkpoint"
    assert json.loads((checkpoint / "state.json").read_text()) == {"epochs_done": 1}
    # The checkpoint is the plain model, carrying the optimizer state of the wrapper's 2 steps.
    saved = keras.models.load_model(checkpoint / "last.keras", safe_mode=True)
    assert not _random_layers(saved)
    assert int(saved.optimizer.iterations.numpy()) == 2
    assert any(np.abs(v.numpy()).sum() > 0 for v in saved.optimizer.variables if v.path.endswith("_momentum"))

    train_normally = interrupt_after_first_epoch
    train_normally()
    assert cli.main(args + ["--resume"]) == 0
    with (out / "model4" / "history.csv").open() as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == [0, 1, 2]
    assert (out / "model4" / "metrics.json").is_file() and not checkpoint.exists()
    assert not _random_layers(load_bundle(out / "model4" / "bundle").model)


def test_augment_on_is_a_config_key(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('data = "d"\nout = "o"\naugment-on = "device"\n')
    assert cli.parse_args(["--config", str(config)]).augment_on == "device"
    assert cli.parse_args(["--config", str(config), "--augment-on", "host"]).augment_on == "host"
    config.write_text('augment_on = "gpu"\n')
    with pytest.raises(cli.ConfigError, match="valid values are auto, host, device"):
        cli.config_defaults(config)
