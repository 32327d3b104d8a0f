"""models/hands decodes MediaPipe's models as MediaPipe does: checked piece by piece on generated
arrays, then end to end against the mediapipe package's own results on the shipped frames."""

import math

import numpy as np
import pytest
from hands_helpers import load_reference, read_test_image

from models.hands import CROP_PAD, HandLocaliser, square_crop_box
from models.hands.landmarks import next_region
from models.hands.palm import ANCHORS, decode, weighted_nms
from models.hands.regions import Region, iou_xyxy, rotation_towards

HAND_FRAMES = ["hand_57bc79cd.jpg", "hand_5386cb80.jpg", "hand_fa5c360c.jpg", "hand_7d846766.jpg", "hands_5dcf060e.jpg"]
NO_HAND = ["no_hand_face.jpg", "no_hand_arm.jpg", "no_hand_room.jpg"]


@pytest.fixture(scope="module")
def localiser():
    return HandLocaliser(max_hands=2)


@pytest.fixture(scope="module")
def reference():
    return load_reference()


def _their_hands(entry):
    size = np.array([entry["width"], entry["height"], entry["width"]])
    return [dict(h, points=np.array(h["landmarks"]) * size) for h in entry["hands"]]


def _box(points):
    return (*points[:, :2].min(axis=0), *points[:, :2].max(axis=0))


# -- pieces ---------------------------------------------------------------------------------------


def test_anchors_are_mediapipes_two_grids():
    assert ANCHORS.shape == (2016, 2)
    # 24x24 cells, 2 anchors each, then 12x12 cells, 6 each; row by row.
    np.testing.assert_allclose(ANCHORS[0], ANCHORS[1])
    np.testing.assert_allclose(ANCHORS[0], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(ANCHORS[2], [1.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(ANCHORS[1151], [23.5 / 24, 23.5 / 24])
    np.testing.assert_allclose(ANCHORS[1152:1158], [[0.5 / 12, 0.5 / 12]] * 6)
    np.testing.assert_allclose(ANCHORS[-1], [11.5 / 12, 11.5 / 12])


def test_decode_puts_boxes_and_keypoints_at_their_anchor_plus_offset():
    raw_boxes = np.zeros((2016, 18), np.float32)
    raw_scores = np.full(2016, -10.0, np.float32)
    raw_boxes[1200] = [19.2, -9.6, 38.4, 19.2] + [9.6, 0.0] * 7  # offsets in 192-px input pixels
    raw_scores[1200] = 2.0
    scores, boxes, keypoints = decode(raw_boxes, raw_scores)
    ax, ay = ANCHORS[1200]
    np.testing.assert_allclose(scores, [1 / (1 + math.exp(-2.0))], rtol=1e-6)
    np.testing.assert_allclose(boxes[0], [ax + 0.1 - 0.1, ay - 0.05 - 0.05, ax + 0.1 + 0.1, ay - 0.05 + 0.05], atol=1e-6)
    np.testing.assert_allclose(keypoints[0], [[ax + 0.05, ay]] * 7, atol=1e-6)


def test_weighted_nms_averages_a_cluster_by_score_and_keeps_separate_boxes():
    scores = np.array([0.6, 0.9, 0.8])
    # Box 0 overlaps box 1 with IoU 0.43: above MediaPipe's 0.3, so one cluster; box 2 stands apart.
    boxes = np.array([[0.18, 0.1, 0.38, 0.3], [0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.8, 0.8]])
    keypoints = np.stack([np.full((7, 2), v) for v in (0.2, 0.3, 0.7)])
    out_scores, out_boxes, out_keypoints = weighted_nms(scores, boxes, keypoints)
    np.testing.assert_allclose(out_scores, [0.9, 0.8])  # the cluster keeps its best score
    np.testing.assert_allclose(out_boxes[0], (0.9 * boxes[1] + 0.6 * boxes[0]) / 1.5)
    np.testing.assert_allclose(out_keypoints[0], np.full((7, 2), (0.9 * 0.3 + 0.6 * 0.2) / 1.5))
    np.testing.assert_allclose(out_boxes[1], boxes[2])


def test_region_warp_and_projection_are_inverses():
    region = Region(120.0, 80.0, 60.0, 60.0, rotation=0.7)
    uv = np.array([[0.0, 0.0], [1.0, 0.5], [0.25, 0.9]])
    frame_xy = region.to_frame(uv)
    back = frame_xy @ region.warp_matrix(224)[:, :2].T + region.warp_matrix(224)[:, 2]
    np.testing.assert_allclose(back / 224, uv, atol=1e-9)


def test_a_shift_moves_a_region_along_its_own_up_axis():
    # Rotated a quarter turn clockwise, the region's "up" (towards the fingers) is +x on screen.
    moved = Region(100.0, 100.0, 40.0, 20.0, rotation=math.pi / 2).transformed(scale=2.0, shift_y=-0.5)
    assert (moved.cx, moved.cy) == pytest.approx((110.0, 100.0))
    assert (moved.width, moved.height) == pytest.approx((80.0, 80.0))
    assert rotation_towards((0, 0), (0, -10)) == pytest.approx(0.0)  # wrist below knuckles: upright
    assert rotation_towards((0, 0), (10, 0)) == pytest.approx(math.pi / 2)


def test_next_region_of_an_upright_hand_is_upright_and_reaches_past_the_fingers():
    hand = np.zeros((21, 3), np.float32)
    hand[:, 0] = np.linspace(80, 120, 21)
    hand[:, 1] = np.linspace(200, 100, 21)  # wrist (0) at the bottom, fingertips at the top
    hand[[0, 5, 9, 13], 0] = 100  # wrist straight below the knuckles
    region = next_region(hand)
    assert region.rotation == pytest.approx(0.0, abs=1e-6)
    assert region.width == region.height
    assert region.cy < (hand[0, 1] + hand[9, 1]) / 2  # shifted towards the fingers


def test_crop_box_is_a_padded_square_around_the_landmarks():
    points = np.array([[10, 20, 0], [50, 100, 0]], np.float32)
    x0, y0, x1, y1 = square_crop_box(points)
    assert x1 - x0 == pytest.approx(y1 - y0) == pytest.approx(80 * (1 + 2 * CROP_PAD))
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((30, 60))


# -- end to end, against mediapipe's own results ----------------------------------------------


@pytest.mark.parametrize("name", HAND_FRAMES)
def test_find_matches_mediapipe(localiser, reference, name):
    entry = reference[name]
    frame_bgr = read_test_image(name)
    hands = localiser.find(frame_bgr)
    theirs = _their_hands(entry)
    assert len(hands) == len(theirs) >= 1
    for hand_ref in theirs:
        box = _box(hand_ref["points"])
        size = max(box[2] - box[0], box[3] - box[1])
        hand = max(hands, key=lambda h: iou_xyxy(h.box_xyxy, box))
        assert iou_xyxy(hand.box_xyxy, box) > 0.95
        errors = np.linalg.norm(hand.landmarks_px[:, :2] - hand_ref["points"][:, :2], axis=1)
        assert errors.max() < 0.03 * size, errors
        # z: MediaPipe's is normalised by the image width, ours is in pixels.
        np.testing.assert_allclose(hand.landmarks_px[:, 2], hand_ref["points"][:, 2], atol=0.05 * size)
        assert hand.handedness == hand_ref["handedness"].lower()
        assert hand.handedness_score == pytest.approx(hand_ref["handedness_score"], abs=0.03)
        assert hand.presence >= 0.5 and not hand.tracked
        assert hand.landmarks_px.shape == (21, 3) and hand.landmarks_px.dtype == np.float32
        x0, y0, x1, y1 = hand.crop_box_xyxy
        assert x0 < box[0] and y0 < box[1] and x1 > box[2] and y1 > box[3]


@pytest.mark.parametrize("name", HAND_FRAMES)
def test_palms_and_their_hand_regions_match_mediapipe(localiser, reference, name):
    entry = reference[name]
    width, height = entry["width"], entry["height"]
    palms = localiser.palm_detector(read_test_image(name))
    assert len(palms) == len(entry["palms"])
    for palm, theirs in zip(palms, entry["palms"]):
        box = (theirs["xmin"] * width, theirs["ymin"] * height,
               (theirs["xmin"] + theirs["width"]) * width, (theirs["ymin"] + theirs["height"]) * height)
        assert palm.score == pytest.approx(theirs["score"], abs=0.01)
        np.testing.assert_allclose(palm.box_xyxy, box, atol=1.0)
        np.testing.assert_allclose(palm.keypoints_px, np.array(theirs["keypoints"]) * (width, height), atol=1.5)
    for palm, rect in zip(palms, entry["rects_from_palms"]):
        region = palm.hand_region()
        assert (region.cx, region.cy) == pytest.approx((rect["x_center"] * width, rect["y_center"] * height), abs=1.5)
        assert region.width == pytest.approx(rect["width"] * width, rel=0.02)
        assert region.rotation == pytest.approx(rect["rotation"], abs=0.02)


@pytest.mark.parametrize("name", HAND_FRAMES)
def test_next_frames_region_from_landmarks_matches_mediapipe(reference, name):
    # Given MediaPipe's own landmarks, next_region must give the region MediaPipe would track with.
    entry = reference[name]
    width, height = entry["width"], entry["height"]
    for hand_ref in _their_hands(entry):
        region = next_region(hand_ref["points"])
        rect = min(entry["rects_from_landmarks"],
                   key=lambda r: abs(r["x_center"] * width - region.cx) + abs(r["y_center"] * height - region.cy))
        assert (region.cx, region.cy) == pytest.approx((rect["x_center"] * width, rect["y_center"] * height), abs=0.5)
        assert (region.width, region.height) == pytest.approx((rect["width"] * width, rect["height"] * height), rel=0.005)
        assert region.rotation == pytest.approx(rect["rotation"], abs=0.005)


@pytest.mark.parametrize("name", NO_HAND)
def test_no_hand_images_give_no_hand(localiser, reference, name):
    image_bgr = read_test_image(name)
    assert reference[name]["hands"] == []
    assert localiser.find(image_bgr) == []
    assert localiser.find_in_region(image_bgr, (0, 0, image_bgr.shape[1], image_bgr.shape[0])) is None


def test_presence_not_the_palm_detector_decides_no_hand(localiser):
    # The palm detector takes something in half a face for a palm; the landmark model says no hand.
    image_bgr = read_test_image("no_hand_face.jpg")
    palms = localiser.palm_detector(image_bgr)
    assert palms
    assert localiser.landmark_model(image_bgr, palms[0].hand_region()).presence < 0.5
    assert localiser.find(image_bgr) == []
