"""Broken and hostile model bundles (#16, item 8, and the malicious bundles that were already refused)."""

import json
import os
import shutil
import stat

import numpy as np
import pytest

from models import load_bundle
from models.bundle import BundleError, save_bundle


def _edit_description(bundle, **changes):
    file = bundle / "bundle.json"
    description = json.loads(file.read_text())
    for key, value in changes.items():
        section, _, name = key.partition("__")
        (description[section] if name else description)[name or section] = value
    file.write_text(json.dumps(description))


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path):
    return shutil.copytree(tiny_bundle, tmp_path / "bundle")


def test_a_damaged_tflite_export_names_its_file(bundle_copy):
    (bundle_copy / "model_int8.tflite").write_bytes(b"TFL3 but not really" * 10)
    _edit_description(bundle_copy, tflite={"file": "model_int8.tflite", "quantization": "int8"})
    bundle = load_bundle(bundle_copy)
    with pytest.raises(BundleError) as refused:  # before: "The model is not a valid Flatbuffer buffer"
        bundle.use_runtime("tflite")
    assert str(bundle_copy / "model_int8.tflite") in str(refused.value)
    assert "gesture-train export" in str(refused.value)


@pytest.mark.parametrize("where", ["parent", "absolute", "symlink"])
def test_model_file_outside_the_bundle_is_refused(where, bundle_copy, tmp_path):
    outside = tmp_path / "elsewhere.keras"
    shutil.move(bundle_copy / "model.keras", outside)
    if where == "parent":
        model_file = "../elsewhere.keras"
    elif where == "absolute":
        model_file = str(outside)
    else:
        os.symlink(outside, bundle_copy / "model.keras")
        model_file = "model.keras"
    _edit_description(bundle_copy, model_file=model_file)
    with pytest.raises(BundleError, match="outside"):  # before: loaded the model from elsewhere
        load_bundle(bundle_copy)


def test_tflite_file_outside_the_bundle_is_refused(bundle_copy):
    _edit_description(bundle_copy, tflite={"file": "../../model_int8.tflite"})
    with pytest.raises(BundleError, match="outside"):
        load_bundle(bundle_copy)


@pytest.mark.parametrize("key, value", [
    ("mean_rgb", [float("nan"), 0.5, 0.5]),
    ("mean_rgb", [0.5, 0.5]),
    ("std_rgb", [0.2, 0.0, 0.2]),
    ("std_rgb", [0.2, -0.1, 0.2]),
    ("std_rgb", [0.2, float("inf"), 0.2]),
], ids=["nan-mean", "two-means", "zero-std", "negative-std", "infinite-std"])
def test_preprocessing_that_would_garble_every_frame_is_refused(key, value, bundle_copy):
    _edit_description(bundle_copy, **{f"preprocessing__{key}": value})
    with pytest.raises(BundleError, match=key):  # before: loaded; every frame then read the same
        load_bundle(bundle_copy)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_bundle_folders_follow_the_umask(umask, tiny_bundle, tmp_path):
    """(#16 found bundles made mode 0700 by tempfile.mkdtemp; the shared atomic writer fixed it, this keeps it.)"""
    bundle = load_bundle(tiny_bundle)
    previous = os.umask(umask)
    try:
        path = save_bundle(bundle.model, tmp_path / "runs" / "bundle", bundle.classes, bundle.preprocessing,
                           {"run": "umask"}, "vgg16")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((path / "bundle.json").stat().st_mode) == 0o666 & ~umask


def test_a_bundle_with_a_lambda_layer_is_refused_without_running_it(tmp_path, monkeypatch):
    import keras

    from models.preprocess import Preprocessing

    marker = tmp_path / "ran"
    monkeypatch.setenv("LAMBDA_MARKER", str(marker))
    # Code a loader would run: it leaves a file behind (no closure, so Keras can save it).
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Lambda(lambda x: x + (open(__import__("os").environ["LAMBDA_MARKER"], "a").close() or 0.0)),
        keras.layers.Flatten(),
        keras.layers.Dense(5, activation="softmax"),
    ])
    path = save_bundle(model, tmp_path / "bundle", ("cool", "fist", "ok", "stop", "yo"), Preprocessing(32),
                       {"run": "lambda"}, "custom")
    marker.unlink(missing_ok=True)
    with pytest.raises(BundleError, match="Cannot read the model"):
        load_bundle(path)
    assert not marker.exists()


def test_a_good_bundle_still_predicts(bundle_copy):
    bundle = load_bundle(bundle_copy)
    probs = bundle.predict_bgr(np.zeros((40, 40, 3), np.uint8))
    assert probs.shape == (5,) and np.isfinite(probs).all()
