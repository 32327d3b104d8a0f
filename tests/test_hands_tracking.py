"""Tracking and the user's-box entry points: a steady hand costs one landmark pass a frame."""

import numpy as np
import pytest
from hands_helpers import CLIP_PHOTO, VIDEO_REFERENCE, apply_affine, load_reference, moving_video, read_test_image

from models.hands import BoxSmoother, HandLocaliser


@pytest.fixture()
def localiser():
    return HandLocaliser(max_hands=1)


def _hand_size(hand) -> float:
    x0, y0, x1, y1 = hand.box_xyxy
    return max(x1 - x0, y1 - y0)


def test_tracking_keeps_one_hand_and_detects_palms_on_the_first_frame_only(localiser):
    photo_bgr = read_test_image(CLIP_PHOTO)
    first = localiser.find(photo_bgr)[0]
    localiser.calls.update(palm=0, landmarks=0)
    for index, (frame_bgr, affine) in enumerate(moving_video(photo_bgr, frames=12)):
        hands = localiser.track(frame_bgr)
        assert len(hands) == 1, f"frame {index}"
        assert hands[0].tracked == (index > 0)
        # The landmarks moved with the picture (the clip's own affine says where to).
        expected = apply_affine(affine, first.landmarks_px[:, :2])
        error = np.linalg.norm(hands[0].landmarks_px[:, :2] - expected, axis=1).mean()
        assert error < 0.04 * _hand_size(hands[0]), f"frame {index}: {error:.1f} px"
    assert localiser.calls == {"palm": 1, "landmarks": 12}


def test_tracking_follows_the_hand_as_mediapipe_does_on_the_same_clip(localiser):
    reference = load_reference(VIDEO_REFERENCE)  # mediapipe tracking through this clip, max_num_hands=1
    for (frame_bgr, _), (name, theirs) in zip(moving_video(read_test_image(CLIP_PHOTO)), sorted(reference.items())):
        palm_before = localiser.calls["palm"]
        hands = localiser.track(frame_bgr)
        # MediaPipe's palm detections are empty on frames where it did not run its detector.
        assert localiser.calls["palm"] - palm_before == len(theirs["palms"]), name
        points = np.array(theirs["hands"][0]["landmarks"])[:, :2] * (theirs["width"], theirs["height"])
        error = np.linalg.norm(hands[0].landmarks_px[:, :2] - points, axis=1)
        assert error.max() < 0.01 * _hand_size(hands[0]), name  # measured: under 0.2 %
        assert hands[0].handedness == theirs["hands"][0]["handedness"].lower()


def test_a_lost_hand_is_looked_for_again_and_found_when_it_comes_back(localiser):
    photo_bgr = read_test_image("hand_5386cb80.jpg")
    assert len(localiser.track(photo_bgr)) == 1
    empty_bgr = np.full_like(photo_bgr, 127)
    palm_before = localiser.calls["palm"]
    assert localiser.track(empty_bgr) == []
    assert localiser.calls["palm"] == palm_before + 1  # presence dropped: palm detection on the same frame
    hands = localiser.track(photo_bgr)
    assert len(hands) == 1 and not hands[0].tracked


def test_find_in_region_finds_the_hand_in_tight_and_loose_boxes(localiser):
    frame_bgr = read_test_image("hand_7d846766.jpg")
    hand = localiser.find(frame_bgr)[0]
    x0, y0, x1, y1 = hand.box_xyxy
    w, h = x1 - x0, y1 - y0
    for box in (hand.box_xyxy, hand.crop_box_xyxy, (x0 - w, y0 - h, x1 + w, y1 + h)):
        found = localiser.find_in_region(frame_bgr, box)
        assert found is not None, box
        error = np.linalg.norm(found.landmarks_px[:, :2] - hand.landmarks_px[:, :2], axis=1).mean()
        assert error < 0.05 * _hand_size(hand), box


def test_find_in_region_falls_back_to_palm_detection_when_the_direct_pass_sees_no_hand(localiser):
    # The hand in the corner of a box four times its size: the direct pass sees too little of it.
    frame_bgr = read_test_image("hand_5386cb80.jpg")
    hand = localiser.find(frame_bgr)[0]
    x0, y0, x1, y1 = hand.box_xyxy
    w, h = x1 - x0, y1 - y0
    palm_before = localiser.calls["palm"]
    found = localiser.find_in_region(frame_bgr, (x0 - 0.5 * w, y0 - 0.5 * h, x0 + 3.5 * w, y0 + 3.5 * h))
    assert localiser.calls["palm"] == palm_before + 1
    assert found is not None
    assert np.linalg.norm(found.landmarks_px[:, :2] - hand.landmarks_px[:, :2], axis=1).mean() < 0.05 * _hand_size(hand)


def test_find_in_region_ignores_a_hand_outside_the_box(localiser):
    frame_bgr = read_test_image("hand_5386cb80.jpg")
    x0, y0, x1, y1 = localiser.find(frame_bgr)[0].box_xyxy
    beside = (x1 + 5, y0, x1 + 5 + (x1 - x0), y1)  # the same size, just right of the hand
    assert localiser.find_in_region(frame_bgr, beside) is None
    with pytest.raises(ValueError, match="empty"):
        localiser.find_in_region(frame_bgr, (10, 10, 10, 40))


def test_track_in_region_costs_one_landmark_pass_a_frame_while_the_hand_stays_in_the_box(localiser):
    photo_bgr = read_test_image(CLIP_PHOTO)
    box = localiser.find(photo_bgr)[0].crop_box_xyxy
    x0, y0, x1, y1 = box
    box = (x0 - 40, y0 - 40, x1 + 40, y1 + 40)  # room for the clip's drift
    hands, passes = [], []
    for frame_bgr, _ in moving_video(photo_bgr, frames=8):
        before = dict(localiser.calls)
        hands.append(localiser.track_in_region(frame_bgr, box))
        passes.append((localiser.calls["palm"] - before["palm"], localiser.calls["landmarks"] - before["landmarks"]))
    assert all(hand is not None for hand in hands)
    assert [hand.tracked for hand in hands] == [False] + [True] * 7
    assert passes[1:] == [(0, 1)] * 7  # the first call searched the box (direct pass, maybe palms, refine)


def test_box_smoother_steadies_a_jittering_box_and_follows_a_moving_one():
    rng = np.random.default_rng(0)
    smoother = BoxSmoother()
    still = [smoother.update(np.array([100, 100, 200, 200]) + rng.normal(0, 3, 4)) for _ in range(60)]
    centres = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in still[10:]])
    assert centres.std(axis=0).max() < 0.8  # the input's centre jitters by 2.1 px

    moving = [smoother.update((100 + 10 * i, 100, 200 + 10 * i, 200)) for i in range(1, 31)]
    assert abs((moving[-1][0] + moving[-1][2]) / 2 - (150 + 300)) < 8  # 300 px/s at 30 fps: lags under a frame

    jumped = smoother.update((600, 600, 650, 650))  # no overlap: another hand, taken as it is
    assert jumped == pytest.approx((600, 600, 650, 650))


def test_a_frame_that_is_not_bgr_uint8_is_refused_with_what_to_do(localiser):
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 BGR.*COLOR_GRAY2BGR"):
        localiser.find(np.zeros((48, 64), np.uint8))


def test_look_for_new_false_skips_palm_detection_while_a_hand_is_followed():
    localiser = HandLocaliser(max_hands=2)  # one hand in view: fewer than max_hands, so palms are looked for
    frames = [frame for frame, _ in moving_video(read_test_image(CLIP_PHOTO), frames=6)]
    for frame in frames:
        assert len(localiser.track(frame)) == 1
    assert localiser.calls["palm"] == 6  # every frame, by default
    localiser.reset()
    localiser.calls.update(palm=0, landmarks=0)
    for frame in frames:
        assert len(localiser.track(frame, look_for_new=False)) == 1
    assert localiser.calls == {"palm": 1, "landmarks": 6}  # the first frame only: then it is followed
    empty = np.full_like(frames[0], 127)
    assert localiser.track(empty, look_for_new=False) == []
    assert localiser.calls["palm"] == 2  # the followed hand was lost: looked for at once all the same
