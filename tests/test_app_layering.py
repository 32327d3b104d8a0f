"""The app's core stays free of Qt, so it runs headless and is tested on plain arrays."""

import subprocess
import sys

QT_FREE = [
    "gesture_app.sources",
    "gesture_app.silhouette",
    "gesture_app.frame_slot",
    "gesture_app.prediction",
    "gesture_app.smoothing",
    "gesture_app.classifier",
    "gesture_app.pipeline",
    "gesture_app.overlay",
    "gesture_app.headless",
    "gesture_app.rates",
    "gesture_app.explain_view",
    "gesture_app.dataset_writer",
    "gesture_app.actions",
]


def modules_loaded_by(imports: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of `packages` that importing `imports` loads, in a fresh interpreter."""
    code = (
        "import sys, importlib\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_core_modules_import_neither_qt_nor_tensorflow():
    # TensorFlow loads lazily, with the first model.
    assert modules_loaded_by(QT_FREE, ("PySide6", "tensorflow", "training")) == []


def test_actions_import_neither_qt_tensorflow_nor_pynput():
    # pynput opens the X display when imported, so it must wait until a real sender is made.
    assert modules_loaded_by(["gesture_app.actions"], ("PySide6", "tensorflow", "pynput")) == []


def test_explain_modules_stay_free_of_qt_and_tensorflow():
    assert modules_loaded_by(["models.explain", "gesture_app.explain_view"],
                             ("PySide6", "tensorflow", "keras", "training")) == []
