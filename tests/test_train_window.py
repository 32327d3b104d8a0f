"""Record, Train, Try it, Cancel, Export and the app on the export, in the real capture window (offscreen).

Training is the real `gesture-train --runs landmarks` in a child process, made tiny (2 epochs of 3
steps) through the window's `train_args`; the frames are the demo's real hand photographs, fed
one by one through the window as its display timer would.
"""

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from gesture_app.core import training_job
from gesture_app.core.bundles import RecentBundles
from gesture_app.core.capture import DatasetWriter
from gesture_app.core.sources import DemoSource
from gesture_app.qt.capture_window import CaptureWindow

pytestmark = pytest.mark.slow  # each training starts a Python with TensorFlow (10-30 s here)

CLASSES = ["cool", "fist", "ok"]
TINY = ("--epochs", "2", "--steps-per-epoch", "3")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def demo_frame(label: str, nth: int = 0) -> np.ndarray:
    source = DemoSource()
    index = [i for i, name in enumerate(source.labels) if name == label][nth]
    return source._frames_bgr[index].copy()


@pytest.fixture
def window(qtbot, tmp_path):
    made = []

    def make(root=None, **options):
        options.setdefault("train_args", TINY)
        w = CaptureWindow(DemoSource(), DatasetWriter(root or tmp_path / "my-gestures"), classes=list(CLASSES),
                          clock=FakeClock(), **options)
        qtbot.addWidget(w)
        w.show()
        QApplication.processEvents()
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()


def record(window, per_photo: int = 2) -> None:
    """Tap Record on each class while the demo shows it: `per_photo` shots of each of its three photos."""
    for label in CLASSES:
        window.select_class(label)
        for nth in range(3):
            for _ in range(per_photo):
                window.process_frame(demo_frame(label, nth))
                window.press_record()  # a tap: one shot of this frame
                window.release_record()
                window.controller._clock.now += 1.0


def train_and_watch(window, qtbot, timeout_s: float = 240):
    """Press Train and wait for the job's end; returns (final state, the statuses the panel showed)."""
    shown = []
    original = window.train_panel.show_status
    window.train_panel.show_status = lambda status: (shown.append((status, window.train_panel.progress.value(),
                                                                   window.train_panel.progress.maximum())),
                                                     original(status))[-1]
    with qtbot.waitSignal(window.training_finished, timeout=int(timeout_s * 1000)) as finished:
        assert window.train()
        assert not window.train_panel.train_button.isEnabled() and window.train_panel.cancel_button.isEnabled()
    return finished.args[0], shown


# Enough steps that the training phase outlasts a few progress-file writes (every 0.25 s) even on a fast machine.
WATCHABLE = ("--epochs", "2", "--steps-per-epoch", "400")


def test_record_train_try_export_and_open_in_the_app(window, qtbot, tmp_path, make_window):
    w = window(train_args=WATCHABLE)
    assert not w.train_panel.train_button.isEnabled()  # nothing recorded yet
    record(w)
    assert w.counts() == {name: 6 for name in CLASSES}
    assert w.class_table.rows["cool"].progress.text() == "6 / 30"  # the first target before the documented 550
    assert w.train_panel.train_button.isEnabled() and not w.train_panel.try_button.isEnabled()
    assert "--runs landmarks" in w.train_panel.command_label.text()

    state, shown = train_and_watch(w, qtbot)
    assert state == "done", w.train_panel.status.text()
    # The bar moved while the training ran, and the window said what it was doing.
    running = [(status, value, maximum) for status, value, maximum in shown if not status.finished]
    assert any(maximum == 0 for _, _, maximum in running)  # busy while TensorFlow starts
    assert any(status.progress is not None and status.progress.stage == "schedule" for status, _, _ in running)
    assert any(0 < value < 1000 for _, value, maximum in running if maximum == 1000)
    assert any("Landmark head" in status.describe() for status, _, _ in running)

    # The bundle was kept, named by its run and date, and its held-out test scores are beside each count.
    result = w.trained
    assert result.path.parent == training_job.runs_dir(w.writer.root) / "bundles" and (result.path / "bundle.json").is_file()
    assert w.trained_title.startswith("landmarks · my-gestures · ")
    for name in CLASSES:
        score = result.per_class[name]
        assert score.count >= 1
        assert w.class_table.rows[name].accuracy.text() == f"{score.correct / score.count * 100:.0f}% {score.correct}/{score.count}"
    assert RecentBundles().entries()[0].path == result.path.resolve()

    # Try it came on by itself: the app's pipeline reads the demo's hand with the new bundle.
    assert w.try_it and w.train_panel.try_button.isChecked()
    frame = demo_frame("fist")

    def read_a_hand():
        w.process_frame(frame)
        QApplication.processEvents()
        prediction = w.last_prediction
        assert prediction is not None and prediction.hands and prediction.classes == tuple(CLASSES)

    qtbot.waitUntil(read_a_hand, timeout=60_000)
    assert w.train_to_try_s is not None and w.train_to_try_s > 0
    # What the preview shows is the app's overlay (its panel darkens the top left), not the bare frame.
    w.process_frame(frame)
    assert np.abs(w.last_canvas_bgr[:100, :250].astype(int) - frame[:100, :250]).mean() > 20

    # Recording still works while trying it.
    before = w.counts()["fist"]
    w.select_class("fist")
    w.process_frame(frame)
    w.press_record()
    w.release_record()
    assert w.counts()["fist"] == before + 1

    # Export, then gesture-app's own load path on the exported folder.
    exported = w.export_bundle(tmp_path / "exports")
    assert exported == tmp_path / "exports" / result.path.name and (exported / "landmarks.keras").is_file()
    assert RecentBundles().entries()[0].path == exported.resolve()
    app = make_window(DemoSource(loop=True), model_path=exported, device="cpu")
    qtbot.waitUntil(lambda: app.pipeline.classifier is not None, timeout=60_000)
    assert app.model_name == w.trained_title and app.windowTitle().endswith(w.trained_title)
    assert app.pipeline.classes == tuple(CLASSES)

    # "Open in gesture-app" starts the app on that same folder.
    started = []
    import gesture_app.core.training_job as job_module

    original_popen = job_module.subprocess.Popen
    job_module.subprocess.Popen = lambda argv, **kw: started.append(argv)
    try:
        w.open_in_app()
    finally:
        job_module.subprocess.Popen = original_popen
    assert started and started[0][-4:] == ["--model", str(exported), "--source", "demo"]


def test_gesture_app_headless_runs_an_exported_bundle(window, qtbot, tmp_path, capsys):
    from gesture_app import cli

    w = window()
    record(w)
    state, _ = train_and_watch(w, qtbot)
    assert state == "done"
    exported = w.export_bundle(tmp_path / "exports")
    csv = tmp_path / "frames.csv"
    assert cli.main(["--headless", "--model", str(exported), "--source", "demo", "--max-frames", "30",
                     "--output-csv", str(csv), "--smoothing", "1"]) == 0
    rows = csv.read_text().splitlines()
    assert len(rows) == 31 and rows[0].startswith("frame,")


def test_cancel_stops_the_training_leaves_no_bundle_and_the_window_live(window, qtbot):
    w = window(train_args=("--epochs", "400"))  # long enough to cancel in the middle
    record(w)
    assert w.train()
    job = w.training

    def fitting():
        status = job.status()
        assert status.progress is not None and status.progress.stage == "schedule" and status.progress.done > 0

    qtbot.waitUntil(fitting, timeout=180_000)
    process = job.process
    with qtbot.waitSignal(w.training_finished, timeout=30_000) as finished:
        w.train_panel.cancel_button.click()
        # The window stays live meanwhile: frames are shown and recorded.
        before = w.frames_shown
        w.process_frame(demo_frame("ok"))
        assert w.frames_shown == before + 1
    assert finished.args == ["cancelled"]
    assert process.poll() is not None  # the process has ended
    assert w.train_panel.status.text() == "Cancelled; nothing was changed."
    runs = training_job.runs_dir(w.writer.root)
    assert not (runs / "landmarks" / "bundle").exists()
    assert not list(runs.rglob(".tmp-*"))  # no half-written bundle or file anywhere
    assert not (runs / "bundles").exists() and w.trained is None
    assert w.train_panel.train_button.isEnabled() and not w.train_panel.cancel_button.isEnabled()
    assert not w.train_panel.try_button.isEnabled()


def test_closing_the_window_stops_a_training(window, qtbot):
    w = window(train_args=("--epochs", "400"))
    record(w)
    assert w.train()
    process = w.training.process
    time.sleep(1.0)
    w.close()
    assert process.poll() is not None


def test_the_cnn_job_trains_on_a_snapshot_and_makes_a_two_head_bundle(window, qtbot):
    # Tiny: the compact CNN for one step at 32 px; then the landmark head and `gesture-train combine`.
    w = window(train_args=("--epochs", "1", "--steps-per-epoch", "1", "--input-size", "32", "--batch-size", "4"))
    record(w)
    with qtbot.waitSignal(w.training_finished, timeout=400_000) as finished:
        assert w.train_cnn()
        # Recording goes on meanwhile; the job keeps to the images it started with.
        w.select_class("ok")
        w.process_frame(demo_frame("ok"))
        w.press_record()
        w.release_record()
    assert finished.args == ["done"], w.train_panel.status.text()
    bundle = w.trained.path
    from models.bundle import read_description

    description = read_description(bundle)
    assert set(description["heads"]) == {"cnn", "landmarks"} and description["fusion"]["rule"] == "mean"
    assert w.trained_title.startswith("compact + landmarks · my-gestures · ")
    snapshot = training_job.runs_dir(w.writer.root) / "snapshot" / "my-gestures"
    assert {name: len(list((snapshot / name).glob("*.jpg"))) for name in CLASSES} == {name: 6 for name in CLASSES}
    assert w.counts()["ok"] == 7
