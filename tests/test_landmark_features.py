"""The landmark head's features: the same gesture looks the same from any hand position, size, roll and side,
while different gestures still look different; the manifest's landmarks cell; the augmentation."""

import numpy as np
import pytest
from hands_helpers import load_reference

from models.dataset_rules import format_landmarks, parse_landmarks
from models.landmark_features import FEATURE_SETS, feature_count, features, joint_angles, normalise, pairwise_distances
from models.schedule import SCHEDULE

CHOSEN = SCHEDULE["landmarks"].features  # what the landmarks run reads; every set is checked below too


@pytest.fixture(scope="module")
def hands() -> list[np.ndarray]:
    """Real (21, 3) landmarks in pixels: MediaPipe's own results on the shipped test frames."""
    found = []
    for entry in load_reference().values():
        scale = np.array([entry["width"], entry["height"], entry["width"]], np.float32)
        found += [np.array(hand["landmarks"], np.float32) * scale for hand in entry["hands"]]
    assert len(found) >= 4
    return found


def _rotated(points: np.ndarray, degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    out = points.copy()
    out[:, :2] = points[:, :2] @ matrix.T
    return out


def _moved_and_scaled(points: np.ndarray) -> np.ndarray:
    return points * 2.7 + np.float32([310.0, -45.0, 12.0])


def _mirrored(points: np.ndarray) -> np.ndarray:
    return points * np.float32([-1, 1, 1]) + np.float32([640, 0, 0])


def test_normalise_puts_the_wrist_at_zero_the_palm_at_one_and_the_hand_upright(hands):
    for points in hands:
        out = normalise(points, "right")
        np.testing.assert_allclose(out[0], 0, atol=1e-6)
        sides = [np.linalg.norm(out[a] - out[b]) for a, b in ((0, 5), (0, 17), (5, 17))]
        assert np.mean(sides) == pytest.approx(1, abs=1e-5)
        assert out[9, 0] == pytest.approx(0, abs=1e-5) and out[9, 1] < 0  # middle knuckle straight above the wrist


def test_normalise_is_invariant_to_translation_scale_rotation_and_the_mirrored_hand(hands):
    for points in hands:
        reference = normalise(points, "right")
        np.testing.assert_allclose(normalise(_moved_and_scaled(points), "right"), reference, atol=1e-4)
        np.testing.assert_allclose(normalise(_rotated(points, 70), "right"), reference, atol=1e-4)
        # The other hand making the same gesture is the mirror image, and the localiser calls it "left".
        np.testing.assert_allclose(normalise(_mirrored(points), "left"), reference, atol=1e-4)
        # ... which the handedness is what undoes: called "right", the mirror image stays mirrored.
        assert not np.allclose(normalise(_mirrored(points), "right"), reference, atol=1e-2)
        # Without the rotation step, a rolled hand is not the same.
        assert not np.allclose(normalise(_rotated(points, 70), "right", rotate=False),
                               normalise(points, "right", rotate=False), atol=1e-2)


@pytest.mark.parametrize("name", list(FEATURE_SETS))
def test_every_feature_set_ignores_where_the_hand_is_its_size_roll_and_side(hands, name):
    for points in hands:
        reference = features(points, "right", name)
        for changed, side in ((_moved_and_scaled(points), "right"), (_rotated(points, -35), "right"),
                              (_mirrored(points), "left")):
            np.testing.assert_allclose(features(changed, side, name), reference, atol=2e-4)


def test_distances_and_angles_also_ignore_the_side_without_being_told(hands):
    for points in hands:
        for name in ("dist2d", "dist3d", "angles2d", "angles3d"):
            np.testing.assert_allclose(features(_mirrored(points), "right", name), features(points, "right", name),
                                       atol=2e-4)


def test_features_still_tell_gestures_apart(hands):
    rows = np.stack([features(points, "right", CHOSEN) for points in hands])
    # Different hands in different poses: far apart compared with the rounding the invariance tests allow.
    gaps = [np.abs(rows[i] - rows[j]).max() for i in range(len(rows)) for j in range(i + 1, len(rows))]
    assert min(gaps) > 0.02
    # A bent finger changes the angles: fold the index fingertip back onto its middle joint.
    bent = hands[0].copy()
    bent[8] = bent[6] - (bent[7] - bent[6]) * 0.5
    assert np.abs(joint_angles(bent) - joint_angles(hands[0])).max() > 0.1


def test_features_keep_batch_shapes_and_refuse_bad_input(hands):
    batch = np.stack(hands[:3])
    out = features(batch, np.array(["right", "left", "right"], dtype=object), CHOSEN)
    assert out.shape == (3, feature_count(CHOSEN)) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], features(hands[0], "right", CHOSEN))
    assert pairwise_distances(batch).shape == (3, 210)
    with pytest.raises(ValueError, match="shape"):
        features(np.zeros((20, 3)), "right", CHOSEN)
    with pytest.raises(ValueError, match="'left' or 'right'"):
        features(hands[0], "Right", CHOSEN)
    with pytest.raises(ValueError, match="valid: coords2d"):
        features(hands[0], "right", "angles4d")


# -- the manifest's landmarks cell ---------------------------------------------------------------------


def test_manifest_landmarks_cell_round_trips(hands):
    points = hands[0] / np.float32([640, 480, 640])
    cell = format_landmarks(points, "left")
    assert cell.startswith("left ") and len(cell.split()) == 64
    read = parse_landmarks(cell)
    assert read.handedness == "left"
    np.testing.assert_allclose(read.points, points, atol=5e-5)
    np.testing.assert_allclose(read.to_pixels(640, 480), hands[0], atol=0.05)
    assert parse_landmarks("") is None and parse_landmarks(None) is None
    nothing = parse_landmarks(format_landmarks(None, None))
    assert nothing.points is None and nothing.to_pixels(640, 480) is None


@pytest.mark.parametrize("cell, message", [
    ("right 1 2 3", "63 numbers"),
    ("up " + " ".join(["0.5"] * 63), "'left'/'right'"),
    ("right " + " ".join(["0.5"] * 62 + ["x"]), "non-number"),
    ("right " + " ".join(["0.5"] * 62 + ["nan"]), "non-finite"),
])
def test_malformed_landmark_cells_say_what_is_wrong(cell, message):
    with pytest.raises(ValueError, match=message):
        parse_landmarks(cell)


# -- augmentation ----------------------------------------------------------------------------------------


def test_finger_length_changes_proportions_but_not_the_palm(hands):
    from training.landmark_run import augment_points

    batch = np.stack(hands)
    out = augment_points(batch, np.random.default_rng(0), ("finger_length",))
    centred = batch - batch[:, :1]
    np.testing.assert_allclose(out[:, [0, 1, 5, 9, 13, 17]], centred[:, [0, 1, 5, 9, 13, 17]], atol=1e-4)
    assert not np.allclose(out[:, 8], centred[:, 8], atol=1e-2)  # the index fingertip moved
    # The joints stay where the bones are: every bend angle is unchanged.
    np.testing.assert_allclose(joint_angles(out)[:, :15], joint_angles(batch)[:, :15], atol=1e-4)


def test_rotation_and_scale_augmentation_leave_invariant_features_alone(hands):
    from training.landmark_run import augment_points

    batch = np.stack(hands)
    out = augment_points(batch, np.random.default_rng(1), ("rotation", "scale"))
    np.testing.assert_allclose(features(out, "right", CHOSEN), features(batch, "right", CHOSEN), atol=2e-4)
    jittered = augment_points(batch, np.random.default_rng(1), ("jitter", "tilt"))
    assert not np.allclose(features(jittered, "right", "angles2d"), features(batch, "right", "angles2d"), atol=1e-3)
