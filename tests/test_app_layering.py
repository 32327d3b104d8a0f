"""The app's core stays free of Qt, so it runs headless and is tested on plain arrays."""

import subprocess
import sys

QT_FREE = [
    "gesture_app.core.sources",
    "gesture_app.core.silhouette",
    "gesture_app.core.frame_slot",
    "gesture_app.core.prediction",
    "gesture_app.core.smoothing",
    "gesture_app.core.classifier",
    "gesture_app.core.pipeline",
    "gesture_app.core.overlay",
    "gesture_app.core.headless",
    "gesture_app.core.rates",
    "gesture_app.core.explain_view",
    "gesture_app.core.dataset_writer",
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
    assert modules_loaded_by(["models.explain", "gesture_app.core.explain_view"],
                             ("PySide6", "tensorflow", "keras", "training")) == []
