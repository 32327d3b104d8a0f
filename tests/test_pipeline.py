"""The Qt-free core: predictions, smoothing, the per-frame pipeline, the overlay and headless runs."""

import csv

import cv2
import numpy as np
import pytest

from app_helpers import FakeClassifier, GeneratedSource, make_frame_bgr, write_video
from gesture_app.core.headless import csv_header, run_app_headless
from gesture_app.core.overlay import OverlayStats, class_colour_bgr, confidence_bar_area, draw_overlay, label_area
from gesture_app.core.pipeline import NEEDS_BACKGROUND, NO_MODEL, GesturePipeline
from gesture_app.core.prediction import NO_HAND_IN_BOX, make_prediction, unclassified
from gesture_app.core.roi import DEFAULT_ROI, RegionOfInterest
from gesture_app.core.smoothing import Smoother
from gesture_app.core.sources import VideoSource, open_source
from models import CLASS_NAMES, NO_GESTURE

CONFIDENT_STOP = [0.02, 0.03, 0.05, 0.85, 0.05]
HESITANT_OK = [0.2, 0.1, 0.4, 0.2, 0.1]


def test_prediction_applies_the_threshold():
    assert make_prediction(CONFIDENT_STOP, threshold=0.6).label == "stop"
    hesitant = make_prediction(HESITANT_OK, threshold=0.6)
    assert hesitant.label == NO_GESTURE and hesitant.confidence == pytest.approx(0.4)
    assert make_prediction(HESITANT_OK, threshold=0.3).label == "ok"
    assert hesitant.top(3) == [("ok", pytest.approx(0.4)), ("cool", pytest.approx(0.2)), ("stop", pytest.approx(0.2))]


def test_unclassified_prediction_has_no_probabilities():
    prediction = unclassified("no model loaded")
    assert not prediction.classified and prediction.label == NO_GESTURE and prediction.note == "no model loaded"
    assert prediction.probs.shape == (len(CLASS_NAMES),)


def test_smoother_averages_recent_frames_and_can_be_off():
    smoother = Smoother(3)
    a, b = np.array([1.0, 0, 0, 0, 0]), np.array([0, 1.0, 0, 0, 0])
    smoother.update(a)
    smoother.update(a)
    out = smoother.update(b)
    assert out == pytest.approx([2 / 3, 1 / 3, 0, 0, 0])
    smoother.update(b)
    assert smoother.update(b) == pytest.approx(b)  # only the last 3 count
    off = Smoother(1)
    off.update(a)
    assert off.update(b) == pytest.approx(b)
    with pytest.raises(ValueError):
        Smoother(0)


def test_pipeline_without_hand_finding_crops_the_roi_and_times_each_stage():
    classifier = FakeClassifier(CONFIDENT_STOP)
    pipeline = GesturePipeline(classifier, roi=RegionOfInterest(0.5, 0.5, 0.5), smoothing=1, locate=None)
    prediction = pipeline.process(make_frame_bgr(1, (320, 240)), frame_index=7)
    assert classifier.given == [((120, 120, 3), None)]  # half the shorter side, square; no hand looked for
    assert prediction.label == "stop" and prediction.frame_index == 7 and prediction.hands == ()
    assert set(prediction.timings_ms) == {"classify", "postprocess"}
    assert prediction.latency_ms >= 0


def test_pipeline_threshold_and_smoothing_are_live_settings():
    classifier = FakeClassifier([CONFIDENT_STOP, HESITANT_OK, HESITANT_OK, HESITANT_OK])
    pipeline = GesturePipeline(classifier, smoothing=1, threshold=0.6, locate=None)
    frame = make_frame_bgr(0, (320, 240))
    assert pipeline.process(frame).label == "stop"
    assert pipeline.process(frame).label == NO_GESTURE  # unsmoothed: the hesitant frame shows through
    pipeline.threshold = 0.35
    assert pipeline.process(frame).label == "ok"
    with pytest.raises(ValueError):
        pipeline.threshold = 1.5

    smoothed = GesturePipeline(FakeClassifier([CONFIDENT_STOP, HESITANT_OK]), smoothing=4, threshold=0.5, locate=None)
    assert smoothed.process(frame).label == "stop"
    # mean of one confident stop and one hesitant ok keeps stop on top
    second = smoothed.process(frame)
    assert second.top(1)[0][0] == "stop" and second.confidence == pytest.approx((0.85 + 0.2) / 2)


def test_pipeline_without_model_says_so():
    prediction = GesturePipeline(None).process(make_frame_bgr(0))
    assert prediction.note == NO_MODEL and not prediction.classified


def test_silhouette_model_needs_a_background_then_a_hand():
    classifier = FakeClassifier(CONFIDENT_STOP, input_style="silhouette")
    pipeline = GesturePipeline(classifier, roi=RegionOfInterest(0.5, 0.5, 0.8), smoothing=1)
    rng = np.random.default_rng(1)
    background = rng.integers(90, 110, (240, 320, 3)).astype(np.uint8)
    assert pipeline.process(background).note == NEEDS_BACKGROUND
    pipeline.request_background()
    assert pipeline.process(background).note == NO_HAND_IN_BOX
    hand = background.copy()
    cv2.rectangle(hand, (130, 60), (190, 200), (60, 140, 220), -1)
    prediction = pipeline.process(hand)
    assert prediction.label == "stop" and classifier.calls == 1
    view = pipeline.last_model_view_bgr
    assert set(np.unique(view)) <= {0, 255}  # the classifier saw the silhouette, not the colour crop
    pipeline.reset_background()
    assert pipeline.process(hand).note == NEEDS_BACKGROUND


def _prediction(label="stop", confidence=0.9):
    probs = np.full(5, (1 - confidence) / 4, np.float32)
    probs[CLASS_NAMES.index(label)] = confidence
    return make_prediction(probs, threshold=0.6)


def test_overlay_draws_label_in_class_colour_and_confidence_bar():
    frame = np.full((480, 640, 3), 128, np.uint8)
    annotated = draw_overlay(frame, _prediction("stop", 0.9), DEFAULT_ROI, OverlayStats(30, 10, 42, "CPU", "m"))
    assert annotated.shape == frame.shape and (frame == 128).all()  # the input is not drawn on
    x0, y0, x1, y1 = label_area(frame.shape)
    label_pixels = annotated[y0:y1, x0:x1].reshape(-1, 3)
    stop_colour = np.array(class_colour_bgr("stop"))
    assert (np.abs(label_pixels.astype(int) - stop_colour).sum(axis=1) < 30).sum() > 100
    bx0, by0, bx1, by1 = confidence_bar_area(frame.shape)
    mid = (by0 + by1) // 2
    assert np.abs(annotated[mid, bx0 + int(0.85 * (bx1 - bx0))].astype(int) - stop_colour).sum() < 10
    assert np.abs(annotated[mid, bx0 + int(0.95 * (bx1 - bx0))].astype(int) - stop_colour).sum() > 100
    rx0, ry0, _, _ = DEFAULT_ROI.to_pixels(frame.shape)
    assert np.abs(annotated[ry0 + 40, rx0 + 1].astype(int) - stop_colour).sum() < 10  # the box outline


def test_overlay_shows_no_gesture_without_class_colour():
    frame = np.full((480, 640, 3), 128, np.uint8)
    annotated = draw_overlay(frame, _prediction("stop", 0.4), DEFAULT_ROI)
    x0, y0, x1, y1 = label_area(frame.shape)
    label_pixels = annotated[y0:y1, x0:x1].reshape(-1, 3).astype(int)
    stop_colour = np.array(class_colour_bgr("stop"))
    assert (np.abs(label_pixels - stop_colour).sum(axis=1) < 30).sum() == 0
    assert label_pixels.max() > 180  # but some (grey-white) text is there


def test_headless_on_a_generated_video_with_the_tiny_bundle(tmp_path, tiny_bundle):
    from gesture_app.core.classifier import BundleClassifier

    video = write_video(tmp_path / "clip.avi", frames=9, fps=9, size=(160, 120))
    # Generated frames hold no hand: classify the box whatever is in it.
    pipeline = GesturePipeline(BundleClassifier.load(tiny_bundle), threshold=0.0, smoothing=1, locate=None)
    out_csv, out_video = tmp_path / "out" / "frames.csv", tmp_path / "out" / "annotated.avi"
    with open_source(video) as source:
        summary = run_app_headless(source, pipeline, out_csv, out_video)
    rows = list(csv.DictReader(out_csv.open()))
    assert summary.frames == len(rows) == 9
    assert list(rows[0]) == csv_header(CLASS_NAMES)
    assert [int(r["frame"]) for r in rows] == list(range(9))
    assert float(rows[3]["timestamp_s"]) == pytest.approx(3 / 9, abs=1e-3)
    for row in rows:
        probs = [float(row[f"p_{c}"]) for c in CLASS_NAMES]
        assert sum(probs) == pytest.approx(1, abs=1e-3)
        assert row["label"] in CLASS_NAMES  # threshold 0: always a class
        assert float(row["confidence"]) == pytest.approx(max(probs), abs=1e-4)
        assert float(row["latency_ms"]) > 0
    assert sum(summary.label_counts.values()) == 9 and "9 frames" in summary.line()
    with VideoSource(out_video) as annotated:
        assert len(list(annotated)) == 9


def test_headless_stops_with_a_message_when_the_source_breaks(tmp_path):
    source = GeneratedSource(frames=20, fail_at=5, error=OSError)
    summary = run_app_headless(source, GesturePipeline(FakeClassifier(CONFIDENT_STOP), locate=None), tmp_path / "f.csv", max_frames=50)
    assert summary.frames == 5 and "broke" in summary.error and "stopped early" in summary.line()
    assert summary.label_counts == {"stop": 5}


def test_overlay_inset_shows_what_the_model_sees():
    from gesture_app.core.overlay import inset_area

    frame = np.full((480, 640, 3), 128, np.uint8)
    silhouette = np.zeros((200, 200, 3), np.uint8)
    silhouette[50:150, 50:150] = 255
    annotated = draw_overlay(frame, _prediction(), DEFAULT_ROI, inset_bgr=silhouette)
    x0, y0, x1, y1 = inset_area(frame.shape)
    inset = annotated[y0:y1, x0:x1]
    assert inset[inset.shape[0] // 2, inset.shape[1] // 2].tolist() == [255, 255, 255]
    assert inset[3, 3].tolist() == [0, 0, 0]
    assert (draw_overlay(frame, _prediction(), DEFAULT_ROI)[y0:y1, x0:x1] == 128).all()  # no inset unless asked


def test_headless_cli_uses_the_bundled_default_model(tmp_path, tiny_bundle, monkeypatch, capsys):
    from gesture_app import cli

    monkeypatch.setattr(cli, "default_bundle_path", lambda: tiny_bundle)
    video = write_video(tmp_path / "clip.avi", frames=3)
    assert cli.main(["--headless", "--source", str(video), "--output-csv", str(tmp_path / "f.csv")]) == 0
    assert "3 frames" in capsys.readouterr().out


def test_headless_cli_without_any_model_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    from gesture_app import cli

    monkeypatch.setattr(cli, "default_bundle_path", lambda: None)
    code = cli.main(["--headless", "--source", "demo", "--output-csv", str(tmp_path / "f.csv")])
    assert code == 1 and "--model BUNDLE" in capsys.readouterr().err
