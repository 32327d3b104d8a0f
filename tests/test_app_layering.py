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


def test_core_modules_import_neither_qt_nor_tensorflow():
    code = (
        "import sys, importlib\n"
        f"for name in {QT_FREE!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'tensorflow', 'training'))\n"
        "print(' '.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""  # TensorFlow loads lazily, with the first model
