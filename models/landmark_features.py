"""What the landmark head sees: a hand's 21 landmarks turned into features that look the same from any hand.

    points (21, 3) in pixels + handedness -> normalise() -> hand-centred, palm-scaled, right-handed
                                          -> features(points, handedness, "angles3d") -> (F,)

`normalise` puts the wrist at the origin, scales by the palm's size, mirrors MediaPipe's "left"
hands to "right" ones and turns the hand so the wrist -> middle-knuckle line points up. The
feature sets below are built on it (the landmarks run's is in models/schedule.py, chosen by
benchmarks/landmark_study.py); the bundle records which set its head was trained on
(`FEATURES_VERSION` changes whenever a set's arithmetic does). Pure numpy, any leading batch
shape: (..., 21, 3) in, (..., F) out. No TensorFlow, no Qt.
"""

from __future__ import annotations

import numpy as np

FEATURES_VERSION = 1
NUM_LANDMARKS = 21
WRIST = 0
# MediaPipe's hand: each chain runs from the wrist through a finger's joints to its tip.
FINGERS = {
    "thumb": (0, 1, 2, 3, 4),
    "index": (0, 5, 6, 7, 8),
    "middle": (0, 9, 10, 11, 12),
    "ring": (0, 13, 14, 15, 16),
    "pinky": (0, 17, 18, 19, 20),
}
INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 5, 9, 17
# The palm's size: the mean side of the triangle wrist, index knuckle, pinky knuckle; those three
# joints hardly move whatever the fingers do, so a fist and an open hand get the same scale.
PALM_TRIANGLE = ((WRIST, INDEX_MCP), (WRIST, PINKY_MCP), (INDEX_MCP, PINKY_MCP))
# Spread between neighbouring fingers: the angle between their knuckle -> tip directions.
_TIP_DIRECTIONS = ((1, 4), (5, 8), (9, 12), (13, 16), (17, 20))
_PAIRS = np.array([(i, j) for i in range(NUM_LANDMARKS) for j in range(i + 1, NUM_LANDMARKS)])  # (210, 2)
HANDEDNESS = ("left", "right")


def _points(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float32)
    if points.shape[-2:] != (NUM_LANDMARKS, 3):
        raise ValueError(f"landmarks must have shape (..., {NUM_LANDMARKS}, 3) (x, y, z per point), got {points.shape}.")
    return points


def _is_left(handedness, batch_shape) -> np.ndarray:
    labels = np.broadcast_to(np.asarray(handedness, dtype=object), batch_shape)
    bad = {str(h) for h in labels.ravel() if h not in HANDEDNESS}
    if bad:
        raise ValueError(f"handedness must be 'left' or 'right' (the localiser's labels), got {sorted(bad)}.")
    return labels == "left"


def palm_size(points, dims: int = 3) -> np.ndarray:
    """(..., 21, 3) -> (...,): the mean side of the wrist / index-knuckle / pinky-knuckle triangle."""
    return _palm(_points(points)[..., :dims])


def _palm(points: np.ndarray) -> np.ndarray:
    sides = [np.linalg.norm(points[..., a, :] - points[..., b, :], axis=-1) for a, b in PALM_TRIANGLE]
    return np.maximum(np.mean(sides, axis=0), 1e-6)


def normalise(points, handedness, rotate: bool = True) -> np.ndarray:
    """(..., 21, 3) landmarks (any unit) -> the same hand, wrist at 0, palm size 1, right-handed, upright.

    handedness: "left"/"right" per hand as the localiser labels it on the same image the points
    come from (MediaPipe's label; a "left" hand is mirrored, x -> -x). rotate: turn the hand in
    the image plane so the wrist -> middle-knuckle line points up (-y).
    """
    points = _points(points)
    centred = points - points[..., WRIST : WRIST + 1, :]
    left = _is_left(handedness, points.shape[:-2])
    centred = np.where(left[..., None, None], centred * np.float32([-1, 1, 1]), centred)
    if rotate:
        up = centred[..., MIDDLE_MCP, :2]
        # The angle that turns `up` onto (0, -1).
        angle = np.arctan2(-up[..., 0], -up[..., 1])
        cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
        x, y = centred[..., 0], centred[..., 1]
        centred = np.stack([cos * x - sin * y, sin * x + cos * y, centred[..., 2]], axis=-1)
    return (centred / _palm(centred)[..., None, None]).astype(np.float32)


def pairwise_distances(points, dims: int = 3) -> np.ndarray:
    """(..., 21, 3) -> (..., 210): every distance between two landmarks over the palm's size.

    Unchanged by moving, scaling, turning or mirroring the hand (with dims=3 also by turning it
    towards or away from the camera, as far as the model's depth is right).
    """
    points = _points(points)[..., :dims]
    distances = np.linalg.norm(points[..., _PAIRS[:, 0], :] - points[..., _PAIRS[:, 1], :], axis=-1)
    return (distances / _palm(points)[..., None]).astype(np.float32)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between vectors in [0, 1] (a fraction of pi)."""
    cos = np.sum(a * b, axis=-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-6)
    return (np.arccos(np.clip(cos, -1.0, 1.0)) / np.pi).astype(np.float32)


def _angle_pairs() -> tuple[np.ndarray, ...]:
    """Index arrays (a0, a1, b0, b1): angle k lies between vectors p[a1[k]] - p[a0[k]] and p[b1[k]] - p[b0[k]]."""
    pairs = []
    for chain in FINGERS.values():  # a joint's bend: the bone into it against the bone out of it
        pairs += [(chain[k], chain[k + 1], chain[k + 1], chain[k + 2]) for k in range(3)]
    for (base, tip), (next_base, next_tip) in zip(_TIP_DIRECTIONS, _TIP_DIRECTIONS[1:]):
        pairs.append((base, tip, next_base, next_tip))
    return tuple(np.array(column) for column in zip(*pairs))


_ANGLE_PAIRS = _angle_pairs()  # 15 bends (thumb, index, middle, ring, pinky; base to tip), then 4 spreads


def joint_angles(points, dims: int = 3) -> np.ndarray:
    """(..., 21, 3) -> (..., 19): how far each finger joint bends (15) and how far neighbouring fingers spread (4).

    Angles between bones, so moving, scaling, turning and mirroring the hand change none of them.
    """
    points = _points(points)[..., :dims]
    a0, a1, b0, b1 = _ANGLE_PAIRS
    return _angle(points[..., a1, :] - points[..., a0, :], points[..., b1, :] - points[..., b0, :])


def _coords(points, handedness, dims: int) -> np.ndarray:
    flat = normalise(points, handedness)[..., :dims]
    return flat.reshape(*flat.shape[:-2], NUM_LANDMARKS * dims)


# name -> (what, (points, handedness) -> (..., F)). Join names with "+" to concatenate sets.
FEATURE_SETS = {
    "coords2d": ("x, y of `normalise` (42)", lambda p, h: _coords(p, h, 2)),
    "coords3d": ("x, y, z of `normalise` (63)", lambda p, h: _coords(p, h, 3)),
    "dist2d": ("pairwise image-plane distances over palm size (210)", lambda p, h: pairwise_distances(p, 2)),
    "dist3d": ("pairwise 3-D distances over palm size (210)", lambda p, h: pairwise_distances(p, 3)),
    "angles2d": ("joint bends and finger spreads in the image plane (19)", lambda p, h: joint_angles(p, 2)),
    "angles3d": ("joint bends and finger spreads in 3-D (19)", lambda p, h: joint_angles(p, 3)),
}


def check_features(name: str) -> str:
    parts = [part.strip() for part in str(name).split("+")]
    unknown = [part for part in parts if part not in FEATURE_SETS]
    if unknown or not parts:
        raise ValueError(f"Unknown landmark feature set(s) {unknown or [name]} in {name!r}; valid: "
                         f"{', '.join(FEATURE_SETS)}, or several joined with '+' (e.g. coords3d+angles3d).")
    return "+".join(parts)


def features(points, handedness, name: str) -> np.ndarray:
    """(..., 21, 3) landmarks + handedness -> (..., F) float32 features of the named set(s)."""
    points = _points(points)
    _is_left(handedness, points.shape[:-2])  # checked even where a set ignores it
    return np.concatenate([FEATURE_SETS[part][1](points, handedness) for part in check_features(name).split("+")], axis=-1)


def feature_count(name: str) -> int:
    return int(features(np.random.default_rng(0).normal(size=(NUM_LANDMARKS, 3)), "right", name).shape[-1])
