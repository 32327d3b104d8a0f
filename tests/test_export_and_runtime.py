"""`gesture-train export` and the runtimes a bundle can predict through."""

import json
import shutil

import numpy as np
import pytest

from models import load_bundle
from models.images import read_image_bgr
from models.runtime import choose_runtime
from training import cli


@pytest.fixture(scope="module")
def exported_bundle(tiny_bundle, hand_crops, tmp_path_factory):
    """A small conv net bundle whose predictions differ from image to image, exported to int8.

    (A random-init VGG16 at 32 px maps every photo to nearly the same output, which
    would make comparing the two runtimes' argmax meaningless.)
    """
    import keras

    from models.bundle import save_bundle

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(5, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=3.0)),
    ])
    preprocessing = load_bundle(tiny_bundle).preprocessing
    path = save_bundle(model, tmp_path_factory.mktemp("export") / "bundle", ("cool", "fist", "ok", "stop", "yo"),
                       preprocessing, {"run": "small-convnet"}, "custom")
    assert cli.main(["export", "--model", str(path), "--int8", "--data", str(hand_crops), "-q"]) == 0
    return path


def test_export_records_both_accuracies(exported_bundle):
    entry = json.loads((exported_bundle / "bundle.json").read_text())["tflite"]
    assert entry["file"] == "model_int8.tflite" and entry["quantization"] == "int8"
    assert (exported_bundle / entry["file"]).stat().st_size > 1000
    assert entry["calibration_images"] == 20  # the whole (tiny) training split
    assert entry["test_split"]["count"] == 5
    for key in ("accuracy", "float_accuracy", "macro_f1", "float_macro_f1"):
        assert 0.0 <= entry[key] <= 1.0


def test_int8_model_agrees_with_the_float_model(exported_bundle, hand_crops):
    images = [read_image_bgr(p) for p in sorted(hand_crops.glob("*/*.jpg"))]
    keras_bundle = load_bundle(exported_bundle)
    assert keras_bundle.use_runtime("keras") == "keras"
    tflite_bundle = load_bundle(exported_bundle)
    assert tflite_bundle.use_runtime("tflite") == "tflite" and tflite_bundle.device == "CPU"
    float_probs = keras_bundle.predict_batch_bgr(images)
    int8_probs = tflite_bundle.predict_batch_bgr(images)
    assert int8_probs.shape == float_probs.shape == (30, 5)
    np.testing.assert_allclose(int8_probs.sum(axis=1), 1.0, atol=0.02)
    assert len(set(float_probs.argmax(axis=1).tolist())) >= 2  # a model that tells images apart
    assert np.abs(int8_probs - float_probs).mean() < 0.05
    assert (int8_probs.argmax(axis=1) == float_probs.argmax(axis=1)).mean() >= 0.8


def test_auto_runtime_prefers_tflite_on_cpu_when_exported(exported_bundle, tiny_bundle):
    assert load_bundle(exported_bundle).use_runtime("auto", device="cpu") == "tflite"
    assert load_bundle(tiny_bundle).use_runtime("auto", device="cpu") == "keras"
    assert choose_runtime("auto", has_tflite=True, device="gpu") == "keras"
    with pytest.raises(ValueError, match="Unknown runtime"):
        choose_runtime("onnx", has_tflite=True)


def test_tflite_runtime_on_a_bundle_without_export_says_how_to_make_one(tiny_bundle):
    from models import BundleError

    with pytest.raises(BundleError, match="gesture-train export"):
        load_bundle(tiny_bundle).use_runtime("tflite")


def test_export_without_data_says_to_pass_it(tiny_bundle, tmp_path, caplog):
    path = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    assert cli.main(["export", "--model", str(path), "--int8"]) == 2
    assert "--data" in caplog.text
