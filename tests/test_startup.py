"""Start-up: the default model loads on a CPU without starting TensorFlow (its float TFLite export, the
landmark head read as numpy weights), and what that path reads is what Keras would have computed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import BundleError, default_bundle_path, load_bundle
from models.images import read_image_bgr

REPO = Path(__file__).resolve().parents[1]
HELD_OUT = Path(__file__).resolve().parent / "data" / "default-model-test"


def test_the_default_model_loads_and_classifies_without_tensorflow():
    # A fresh interpreter: this one may have imported TensorFlow for other tests.
    code = (
        "import sys, numpy as np\n"
        "from gesture_app.core.classifier import BundleClassifier\n"
        "from models import default_bundle_path\n"
        "from models.device import select_device\n"
        "name = select_device('auto')\n"
        "classifier = BundleClassifier.load(default_bundle_path())\n"
        "probs = classifier.classify(np.zeros((90, 90, 3), np.uint8)).fused\n"
        "print(name, classifier.runtime, classifier.bundle.heads, round(float(probs.sum()), 3),\n"
        "      'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "CUDA_VISIBLE_DEVICES": "-1"}  # no GPU (as on the test machines): the CPU path
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["CPU", f"({os.cpu_count() or 1}", "cores)", "tflite", "('cnn',", "'landmarks')", "1.0",
                                     "False", "False"]


def test_the_default_models_export_predicts_what_its_keras_model_does():
    keras_bundle = load_bundle(default_bundle_path())
    tflite_bundle = load_bundle(default_bundle_path(), runtime="auto", device="cpu")
    assert tflite_bundle.runtime == "tflite" and "model" not in vars(tflite_bundle)  # the Keras model not loaded
    files = sorted(HELD_OUT.rglob("*.jpg"))[::7] + sorted((REPO / "gesture_app" / "demo").rglob("*.jpg"))
    images = [read_image_bgr(file) for file in files]
    np.testing.assert_allclose(tflite_bundle.predict_batch_bgr(images), keras_bundle.predict_batch_bgr(images), atol=1e-4)
    entry = tflite_bundle.description["tflite"]
    assert entry["quantization"] == "none" and entry["accuracy"] == entry["float_accuracy"]
    # Asked for (explain view), the Keras model is loaded then, and is the bundle's.
    assert tflite_bundle.model.output_shape[-1] == 5 and "model" in vars(tflite_bundle)


def test_the_landmark_head_read_without_keras_is_the_keras_model():
    from models.landmark_head import LandmarkHead

    file = default_bundle_path() / "landmarks.keras"
    loaded = []
    head = LandmarkHead.from_file(file, "angles3d", load_model=lambda: loaded.append(1) or _keras_load(file))
    assert head.runs_in_numpy and loaded == [] and (head.num_features, head.num_classes) == (19, 5)
    rows = np.random.default_rng(0).normal(0.2, 0.2, (16, 19)).astype(np.float32)
    np.testing.assert_allclose(head.predict_features(rows), np.asarray(head.model(rows, training=False)), atol=1e-5)
    assert loaded == [1]


def _keras_load(file):
    import keras

    return keras.models.load_model(file, compile=False, safe_mode=True)


def test_an_adapted_sequential_head_is_read_too_and_an_unknown_layer_falls_back_to_keras(tmp_path):
    import keras

    from models.landmark_head import LandmarkHead, steps_from_keras_file

    rows = np.random.default_rng(1).normal(1.0, 2.0, (64, 6)).astype(np.float32)
    norm = keras.layers.Normalization()
    norm.adapt(rows)  # mean and variance kept as variables in the weights file, not in the config
    model = keras.Sequential([keras.Input((6,)), norm, keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.1),
                              keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "adapted.keras")
    steps = steps_from_keras_file(tmp_path / "adapted.keras")
    assert [step[0] for step in steps] == ["normalise", "dense", "dense"]
    head = LandmarkHead(None, "angles3d", steps=steps, load_model=lambda: model)
    np.testing.assert_allclose(head.predict_features(rows), np.asarray(model(rows, training=False)), atol=1e-5)

    odd = keras.Sequential([keras.Input((6,)), keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
    odd.save(tmp_path / "odd.keras")
    assert steps_from_keras_file(tmp_path / "odd.keras") is None
    assert LandmarkHead.from_file(tmp_path / "odd.keras", "angles3d", load_model=lambda: odd).model is odd
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert steps_from_keras_file(tmp_path / "broken.keras") is None


def test_an_export_that_does_not_fit_the_bundle_is_refused(tmp_path):
    copy = shutil.copytree(default_bundle_path(), tmp_path / "bundle")
    description = json.loads((copy / "bundle.json").read_text())
    description["classes"] = description["classes"][:4]  # the export (and both heads) output 5
    description["heads"].pop("landmarks")
    (copy / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(BundleError, match="TFLite export .* outputs 5 classes"):
        load_bundle(copy, runtime="tflite")


def test_gpu_possible_is_answered_without_tensorflow(monkeypatch, tmp_path):
    from models import device

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)  # as in a fresh app process
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert not device.gpu_possible()
    assert device.select_device("auto").startswith("CPU")
    with pytest.raises(device.DeviceError, match="No GPU"):
        device.select_device("gpu")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    if sys.platform.startswith("linux"):
        monkeypatch.setattr(device, "GPU_DEVICE_FILES", (str(tmp_path / "nvidia[0-9]*"),))
        assert not device.gpu_possible()
        (tmp_path / "nvidia0").touch()
        assert device.gpu_possible()  # maybe: TensorFlow is asked
    assert "tensorflow" not in sys.modules


def test_explain_on_the_tflite_path_loads_the_keras_model_when_first_asked(hand_crops):
    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.explain_view import LiveExplainer
    from gesture_app.core.pipeline import GesturePipeline, ModelView

    classifier = BundleClassifier.load(default_bundle_path(), device="cpu")
    assert classifier.runtime == "tflite" and "model" not in vars(classifier.bundle)
    pipeline = GesturePipeline(classifier, locate=None)
    crop_bgr = read_image_bgr(sorted((hand_crops / "stop").glob("*.jpg"))[0])
    pipeline.last_model_view = ModelView(crop_bgr, (0, 0, crop_bgr.shape[1], crop_bgr.shape[0]))
    explainer = LiveExplainer()
    explainer.set_enabled(True)
    assert explainer.update(pipeline) and explainer.message == "" and explainer.latest is not None
    assert "model" in vars(classifier.bundle)
