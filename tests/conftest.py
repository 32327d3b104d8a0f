"""Shared fixtures: offscreen Qt, quiet TensorFlow, the test images and a tiny trained bundle."""

import os

# Set before Qt or TensorFlow is imported anywhere.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")  # tests are CPU-only and repeatable

from pathlib import Path

import numpy as np
import pytest

TEST_DATA = Path(__file__).resolve().parent / "data"
HAND_CROPS = TEST_DATA / "hand-crops"  # 6 real photographs per class (see ATTRIBUTION.md there)


@pytest.fixture(autouse=True)
def user_config_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test's own settings folder (the recent-bundles list), never the user's."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("GESTURE_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def hand_crops() -> Path:
    return HAND_CROPS


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A 32-px model4-style bundle (VGG16, random init) fitted briefly on the test photos.

    Not accurate; real enough to load, predict and drive the app's pipeline.
    """
    import keras

    from models import CLASS_NAMES, SCHEDULE, Preprocessing, save_bundle
    from models.architectures import build_model
    from models.images import read_image_bgr
    from models.preprocess import featurewise_stats

    keras.utils.set_random_seed(0)
    size = 32
    images_rgb, labels = [], []
    plain = Preprocessing(size)
    for index, name in enumerate(CLASS_NAMES):
        for file in sorted((HAND_CROPS / name).glob("*.jpg")):
            images_rgb.append(plain.resize_rgb(read_image_bgr(file)))
            labels.append(index)
    images_rgb = np.stack(images_rgb)
    mean, std = featurewise_stats(images_rgb)
    preprocessing = Preprocessing(size, mean_rgb=mean, std_rgb=std)
    model = build_model(SCHEDULE["model4"], len(CLASS_NAMES), weights=None, input_size=size)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(preprocessing.normalize(images_rgb), np.array(labels), epochs=2, batch_size=8, verbose=0)
    path = tmp_path_factory.mktemp("bundle") / "bundle"
    save_bundle(model, path, CLASS_NAMES, preprocessing, {"run": "tiny-test"}, "vgg16")
    return path


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Opens gesture-app's main window offscreen (no camera probing); shuts every one down after the test.

    Modules with a window of their own (the capture tool's tests) define their own `make_window`.
    """
    from gesture_app.qt.window import MainWindow

    windows = []

    def make(source=None, classifier=None, engine=None, **options):
        options.setdefault("cameras", [])  # no probing for cameras in tests
        # Generated frames hold no hand: classify the box whatever is in it, unless a test finds hands.
        options.setdefault("locate", None)
        options.setdefault("save_dir", tmp_path)
        if engine is not None:
            options["actions"] = engine
        window = MainWindow(source, classifier=classifier, **options)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()


@pytest.fixture
def interrupt_after_first_epoch(monkeypatch):
    """Training stops with Ctrl-C after its first epoch; call the returned function to train normally again."""
    from training import runner

    original = runner.EpochLogger.on_epoch_end

    def stop(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner.EpochLogger, "on_epoch_end", stop)
    return lambda: monkeypatch.setattr(runner.EpochLogger, "on_epoch_end", original)
