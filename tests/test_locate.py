"""Finding the hand in the app's core (no Qt): --locate auto and off on the shipped test frames, "no hand",
two hands, handedness, tracking against fresh finds, the hand crop, the CSV and the overlay."""

from __future__ import annotations

import csv
import dataclasses
import shutil

import cv2
import numpy as np
import pytest
from app_helpers import FakeClassifier, make_frame_bgr
from hands_helpers import HANDS_DATA, CLIP_PHOTO, moving_video, read_test_image

from gesture_app.actions import ActionEngine, RecordingSender, parse_action_map
from gesture_app.core.headless import HAND_COLUMNS, csv_header, run_app_headless
from gesture_app.core.locate import HandTracker, persons_handedness
from gesture_app.core.overlay import JOINT_BGR, class_colour_bgr, draw_overlay, label_area
from gesture_app.core.pipeline import GesturePipeline
from gesture_app.core.prediction import NO_HAND, NO_HAND_IN_BOX
from gesture_app.core.roi import RegionOfInterest
from gesture_app.core.sources import open_source
from models.bundle import HeadProbs
from models.classes import CLASS_NAMES, NO_GESTURE
from models.hands import hand_crop_bgr, pixel_box

CONFIDENT_STOP = [0.02, 0.03, 0.05, 0.85, 0.05]
ONE_HAND = "hand_7d846766.jpg"
TWO_HANDS = "hands_5dcf060e.jpg"
NO_HAND_FRAMES = ("no_hand_arm.jpg", "no_hand_face.jpg", "no_hand_room.jpg")
# Fires "stop" after 3 frames at 0.5 or more: a no-hand frame must never get there.
STOP_MAP = '[settings]\nhold_frames = 3\nhold_seconds = 0\n[gestures]\nstop = { press = "space" }\nyo = { press = "enter" }\n'


@pytest.fixture(scope="module")
def tracker():
    """One localiser for the module (making its interpreters is the slow part); reset by each pipeline."""
    return HandTracker(max_hands=2)


def pipeline_with(classifier, tracker, **options) -> GesturePipeline:
    tracker.reset()
    return GesturePipeline(classifier, smoothing=options.pop("smoothing", 1), hand_tracker=tracker, **options)


def square(box) -> bool:
    x0, y0, x1, y1 = box
    return abs((x1 - x0) - (y1 - y0)) <= 1


def test_locate_auto_classifies_the_hands_padded_square_and_times_localising(tracker):
    frame = read_test_image(ONE_HAND)
    classifier = FakeClassifier(CONFIDENT_STOP)
    prediction = pipeline_with(classifier, tracker).process(frame, 3)
    assert prediction.label == "stop" and prediction.note == "" and len(prediction.hands) == 1
    (shape, hand), = classifier.given
    hand_box = prediction.hand.box_xyxy
    assert hand is not None and hand.landmarks_px.shape == (21, 3)  # the landmarks reach the classifier too
    # The classifier saw the hand's own square (15 % a side around its landmarks), not the fixed box.
    assert np.allclose(hand_box, hand.crop_box_xyxy, atol=1e-3) and square(hand_box)
    x0, y0, x1, y1 = pixel_box(hand_box)
    assert shape == (y1 - y0, x1 - x0, 3)
    lx0, ly0, lx1, ly1 = hand.box_xyxy
    assert (lx1 - lx0) / (x1 - x0) == pytest.approx(1 / 1.3, abs=0.02) or (ly1 - ly0) / (y1 - y0) == pytest.approx(1 / 1.3, abs=0.02)
    roi = RegionOfInterest().to_pixels(frame.shape)
    assert (x0, y0, x1, y1) != roi
    assert set(prediction.timings_ms) == {"localise", "classify", "postprocess"}
    assert prediction.hand.presence >= 0.5 and prediction.hand.handedness in ("left", "right")


@pytest.mark.parametrize("locate", ["auto", "off"])
def test_no_hand_frames_give_none_and_nothing_fires(tracker, locate):
    classifier = FakeClassifier(CONFIDENT_STOP)  # would say "stop" at 0.85 about anything it was shown
    pipeline = pipeline_with(classifier, tracker, locate=locate)
    frames = [read_test_image(name) for name in NO_HAND_FRAMES] + [make_frame_bgr(i, (320, 240)) for i in range(3)]
    engine = ActionEngine(parse_action_map(STOP_MAP), RecordingSender(), armed=True)
    fired = []
    for index, frame in enumerate(frames * 2):
        prediction = pipeline.process(frame, index)
        assert prediction.label == NO_GESTURE and prediction.note == (NO_HAND if locate == "auto" else NO_HAND_IN_BOX)
        assert prediction.no_hand and prediction.hands == () and not prediction.classified
        fired += engine.update(prediction, now=index / 30)
    assert classifier.calls == 0 and fired == []
    # The same frames through the box with no hand check (the app before) fire at once: the test can fail.
    before = GesturePipeline(FakeClassifier(CONFIDENT_STOP), smoothing=1, locate=None)
    engine = ActionEngine(parse_action_map(STOP_MAP), RecordingSender(), armed=True)
    assert any(engine.update(before.process(frame), now=i / 30) for i, frame in enumerate(frames))


class ByPosition:
    """Stop at 0.7 for a hand in the upper half of the frame, yo at `lower_confidence` in the lower half."""

    input_style = "colour"
    name = "by position"
    classes = CLASS_NAMES

    def __init__(self, height: int, lower_confidence: float = 0.95):
        self.height, self.lower_confidence = height, lower_confidence

    def classify(self, crop_bgr, hand=None):
        upper = hand.centre[1] < self.height / 2
        label, confidence = ("stop", 0.7) if upper else ("yo", self.lower_confidence)
        probs = np.full(5, (1 - confidence) / 4, np.float32)
        probs[CLASS_NAMES.index(label)] = confidence
        return HeadProbs(probs, None, probs, {})


@pytest.mark.parametrize("lower_confidence, driver", [(0.95, "yo"), (0.6, "stop")])
def test_two_hands_give_two_predictions_and_the_most_confident_drives_actions(tracker, lower_confidence, driver):
    frame = read_test_image(TWO_HANDS)
    pipeline = pipeline_with(ByPosition(frame.shape[0], lower_confidence), tracker)
    engine = ActionEngine(parse_action_map(STOP_MAP), RecordingSender(), armed=True)
    fired = []
    for index in range(4):
        prediction = pipeline.process(frame, index, index / 30)
        fired += [str(a) for a in engine.update(prediction, now=index / 30)]
    assert len(prediction.hands) == 2
    assert sorted(h.label for h in prediction.hands) == ["stop", "yo"]
    assert prediction.hands[0].confidence >= prediction.hands[1].confidence
    assert prediction.label == prediction.hands[0].label == driver
    assert fired == [f"{driver}: press {'enter' if driver == 'yo' else 'space'}"]
    # Two hands, two boxes that do not overlap, each its own hand (one above the other).
    (a, b) = (h.box_xyxy for h in prediction.hands)
    assert min(a[3], b[3]) < max(a[1], b[1])


def test_max_hands_one_keeps_one(tracker):
    frame = read_test_image(TWO_HANDS)
    pipeline = GesturePipeline(ByPosition(frame.shape[0]), smoothing=1, max_hands=1)
    assert len(pipeline.process(frame).hands) == 1


def test_locate_off_classifies_the_users_box_and_says_no_hand_from_presence(tracker):
    frame = read_test_image(ONE_HAND)
    found = pipeline_with(FakeClassifier(CONFIDENT_STOP), tracker).process(frame)
    x0, y0, x1, y1 = found.hand.box_xyxy
    height, width = frame.shape[:2]
    on_hand = RegionOfInterest((x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / min(height, width))
    classifier = FakeClassifier(CONFIDENT_STOP)
    pipeline = pipeline_with(classifier, tracker, locate="off", roi=on_hand)
    prediction = pipeline.process(frame)
    box = on_hand.to_pixels(frame.shape)
    assert prediction.label == "stop" and prediction.hand.box_xyxy == box  # the box as it is, not the hand's square
    assert classifier.given[-1][0] == (box[3] - box[1], box[2] - box[0], 3) and classifier.given[-1][1] is not None
    # The same frame with the box away from the hand: no hand in the box, nothing classified.
    far = RegionOfInterest(1.0 - on_hand.cx, 1.0 - on_hand.cy, 0.25)
    pipeline.roi = far
    calls = classifier.calls
    away = pipeline.process(frame)
    assert away.note == NO_HAND_IN_BOX and away.label == NO_GESTURE and classifier.calls == calls


def test_handedness_is_the_persons_own_hand_mirrored_or_not(tracker):
    frame = read_test_image(ONE_HAND)
    flipped = cv2.flip(frame, 1)

    def handedness(image, mirrored):
        return pipeline_with(FakeClassifier(CONFIDENT_STOP), tracker, mirrored=mirrored).process(image).hand.handedness

    plain = handedness(frame, mirrored=False)
    # The mirrored view of the same camera frame shows the same person's same hand.
    assert handedness(flipped, mirrored=True) == plain
    # Taking a mirrored picture for a plain one swaps it.
    assert handedness(flipped, mirrored=False) != plain
    assert persons_handedness("left", mirrored=True) == "left" and persons_handedness("left", mirrored=False) == "right"


def test_video_tracks_and_smooths_the_box_stills_are_found_afresh(tracker):
    photo = read_test_image(CLIP_PHOTO)
    frames = [frame for frame, _ in moving_video(photo, frames=10, shift_px=3.0, zoom_per_frame=0.0)]
    classifier = FakeClassifier(CONFIDENT_STOP)
    video = pipeline_with(classifier, tracker)
    localiser = tracker.localiser
    localiser.calls.update(palm=0, landmarks=0)
    raw, shown = [], []
    for index, frame in enumerate(frames):
        prediction = video.process(frame, index, index / 30)
        raw.append(classifier.given[-1][1].crop_box_xyxy)
        shown.append(prediction.hand.box_xyxy)
    # Tracking: palm detection on the first frame, then on every 5th while the hand is followed.
    assert localiser.calls == {"palm": 2, "landmarks": 10}
    # Smoothed: the box shown (and classified) lags the hand's 3 px a frame, it does not jump with it.
    raw_dx, shown_dx = raw[-1][0] - raw[0][0], shown[-1][0] - shown[0][0]
    assert raw_dx == pytest.approx(27, abs=4) and 0 < shown_dx < raw_dx

    stills = pipeline_with(FakeClassifier(CONFIDENT_STOP), tracker)
    stills.reset_history(stills=True)
    localiser.calls.update(palm=0, landmarks=0)
    for index, frame in enumerate(frames):
        prediction = stills.process(frame, index)
        assert np.allclose(prediction.hand.box_xyxy, stills.classifier.given[-1][1].crop_box_xyxy)  # unsmoothed
    assert localiser.calls["palm"] == 10  # every photo found on its own

    # A new source: the followed hand is forgotten, the first frame is found by palm detection again.
    video.reset_history(stills=False)
    localiser.calls.update(palm=0, landmarks=0)
    video.process(frames[0])
    assert localiser.calls["palm"] == 1


def test_a_second_hand_is_looked_for_every_few_frames_not_every_frame(tracker):
    frames = [frame for frame, _ in moving_video(read_test_image(CLIP_PHOTO), frames=11, shift_px=1.0, zoom_per_frame=0.0)]
    pipeline = pipeline_with(FakeClassifier(CONFIDENT_STOP), tracker)
    localiser = tracker.localiser
    localiser.calls.update(palm=0, landmarks=0)
    for index, frame in enumerate(frames):
        pipeline.process(frame, index, index / 30)
    assert localiser.calls["palm"] == 3  # frames 0, 5 and 10 of 11; max_hands=2 would otherwise look on all 11


def test_hand_crop_is_square_and_black_past_the_frame():
    frame = np.full((100, 120, 3), 200, np.uint8)
    crop = hand_crop_bgr(frame, (-10.2, 80.0, 29.8, 120.0))  # 40 px square over the bottom-left corner
    assert crop.shape == (40, 40, 3)
    assert (crop[:20, 10:] == 200).all()  # inside the frame: the frame
    assert (crop[:, :10] == 0).all() and (crop[20:] == 0).all()  # outside: black, the hand stays where it was
    assert hand_crop_bgr(frame, (10, 10, 50, 50), size=16).shape == (16, 16, 3)
    inside = hand_crop_bgr(frame, (10, 10, 50, 50))
    inside[:] = 0
    assert (frame == 200).all()  # a copy, never a view of the frame


def test_headless_csv_gains_the_hands_box_presence_and_handedness(tmp_path, tracker):
    folder = tmp_path / "frames"
    folder.mkdir()
    names = ["a_" + ONE_HAND, "b_" + NO_HAND_FRAMES[0], "c_" + TWO_HANDS]
    for name in names:
        shutil.copy(HANDS_DATA / name[2:], folder / name)
    tracker.reset()
    pipeline = GesturePipeline(FakeClassifier(CONFIDENT_STOP), smoothing=1, hand_tracker=tracker)
    with open_source(folder) as source:
        summary = run_app_headless(source, pipeline, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, row)) for row in reader]
    original = ["frame", "timestamp_s", "label", "confidence", *(f"p_{c}" for c in CLASS_NAMES), "latency_ms"]
    assert header == original + HAND_COLUMNS == csv_header(CLASS_NAMES)  # the old columns first, in their order
    assert csv_header(CLASS_NAMES, actions=True)[-1] == "action"
    one, none, two = rows
    assert one["label"] == "stop" and one["hands"] == "1" and float(one["presence"]) >= 0.5
    assert one["handedness"] in ("left", "right")
    x0, y0, x1, y1 = (float(one[k]) for k in HAND_COLUMNS[:4])
    assert x1 > x0 and y1 > y0 and abs((x1 - x0) - (y1 - y0)) < 0.2
    assert none["label"] == "none" and none["hands"] == "0" and none["presence"] == "" and none["hand_x0"] == ""
    assert float(none["confidence"]) == 0 and all(float(none[f"p_{c}"]) == 0 for c in CLASS_NAMES)
    assert two["hands"] == "2"
    assert summary.no_hand == 1 and "(no hand in 1)" in summary.line()


def test_overlay_shows_no_hand_the_hands_boxes_and_their_skeletons(tracker):
    frame = read_test_image(ONE_HAND)
    pipeline = pipeline_with(FakeClassifier(CONFIDENT_STOP), tracker)
    prediction = pipeline.process(frame)
    drawn = draw_overlay(frame, prediction, None)
    bare = draw_overlay(frame, prediction, None, landmarks=False)
    x0, y0, x1, y1 = (int(round(v)) for v in prediction.hand.box_xyxy)
    stop = np.array(class_colour_bgr("stop"))
    assert np.abs(drawn[(y0 + y1) // 2, x0 + 1].astype(int) - stop).sum() < 30  # the hand's box, in its gesture's colour
    for x, y in np.round(prediction.hand.landmarks_px[:, :2]).astype(int):
        if y > label_area(frame.shape)[3] * 6:  # clear of the translucent panel
            assert np.abs(drawn[y, x].astype(int) - JOINT_BGR).sum() < 40  # a joint on every landmark
            assert np.abs(bare[y, x].astype(int) - JOINT_BGR).sum() > 40  # none when the skeleton is off

    empty_frame = read_test_image(NO_HAND_FRAMES[2])
    nothing = pipeline.process(empty_frame)
    shown = draw_overlay(empty_frame, nothing, None)
    as_no_gesture = draw_overlay(empty_frame, dataclasses.replace(nothing, note=""), None)
    lx0, ly0, lx1, ly1 = label_area(shown.shape)
    assert not np.array_equal(shown[ly0:ly1, lx0:lx1], as_no_gesture[ly0:ly1, lx0:lx1])  # "no hand", not "no gesture"


def test_a_folder_is_judged_photo_by_photo_with_no_smoothing_across_photos(tmp_path, tracker):
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(HANDS_DATA / ONE_HAND, folder / name)
    confident_yo = [0.05, 0.03, 0.02, 0.05, 0.85]
    tracker.reset()
    pipeline = GesturePipeline(FakeClassifier([CONFIDENT_STOP, confident_yo]), smoothing=5, hand_tracker=tracker)
    with open_source(folder) as source:
        run_app_headless(source, pipeline, tmp_path / "out.csv")
    rows = list(csv.DictReader(open(tmp_path / "out.csv", newline="")))
    # Averaged with the first photo, the second would be 45 % yo: "none". On its own it is yo.
    assert [r["label"] for r in rows] == ["stop", "yo"] and float(rows[1]["confidence"]) == pytest.approx(0.85)


def test_a_two_head_bundle_gives_each_heads_probabilities_and_the_fused_label(tiny_bundle):
    """The real classifier: bundle.predict_hand with the CNN on the hand's crop and the landmark head on its landmarks."""
    import keras

    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.overlay import _heads_line
    from models import load_bundle
    from models.landmark_features import feature_count
    from models.landmark_head import LandmarkHead

    features = "coords2d"
    mlp = keras.Sequential([keras.Input((feature_count(features),)), keras.layers.Dense(len(CLASS_NAMES), activation="softmax")])
    weights = np.zeros((feature_count(features), len(CLASS_NAMES)), np.float32)
    mlp.layers[-1].set_weights([weights, np.log(np.array([0.01, 0.01, 0.01, 0.01, 0.96], np.float32))])  # always "yo"
    bundle = load_bundle(tiny_bundle)
    bundle.landmark_head = LandmarkHead(mlp, features)
    classifier = BundleClassifier(bundle)
    prediction = GesturePipeline(classifier, smoothing=1, threshold=0.0).process(read_test_image(ONE_HAND))
    hand = prediction.hand
    assert hand.cnn_probs is not None and hand.landmark_probs is not None
    assert hand.landmark_probs == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.96], abs=1e-4)
    assert prediction.probs == pytest.approx((hand.cnn_probs + hand.landmark_probs) / 2, abs=1e-5)  # models.fusion's mean
    assert prediction.label == CLASS_NAMES[int(np.argmax(prediction.probs))]
    assert _heads_line(prediction).startswith("heads: cnn")  # the overlay says what each head thinks

    # A landmark head alone (no CNN): the hand's landmarks are all it reads; no hand, nothing to read.
    alone = BundleClassifier(dataclasses.replace(bundle, model=None, preprocessing=None))
    assert alone.runtime == "numpy"
    pipeline = GesturePipeline(alone, smoothing=1)
    assert pipeline.process(read_test_image(ONE_HAND)).label == "yo"
    assert pipeline.process(read_test_image(NO_HAND_FRAMES[0])).note == NO_HAND
