"""MediaPipe's lite hand-landmark model: 21 points, hand presence and handedness for one region.

Constants from MediaPipe's hand_landmark_cpu.pbtxt and hand_landmark_landmarks_to_roi.pbtxt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .files import LANDMARK_MODEL, load_interpreter
from .regions import Region, cut_out, rotation_towards

INPUT_SIZE = 224
NUM_LANDMARKS = 21
WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP = 0, 5, 9, 13
Z_SCALE = 0.4  # MediaPipe's normalize_z: the model's z runs larger than x and y
# Wrist, thumb and the MCP/PIP joints: steadier from frame to frame than the fingertips, which is
# what the next frame's region should follow (the box is grown to hold the whole hand anyway).
STABLE_JOINTS = np.array([0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18])
# Those joints' box -> the next frame's square: twice its long side, a tenth of it towards the fingers.
NEXT_SCALE, NEXT_SHIFT_Y = 2.0, -0.1


@dataclass(frozen=True)
class LandmarkResult:
    landmarks_px: np.ndarray  # (21, 3) float32: x, y in frame pixels; z depth, pixel-scaled, wrist-relative
    presence: float  # the model's hand-presence probability
    left_score: float  # probability MediaPipe calls this hand "Left" (it assumes a mirrored image)
    region: Region  # what the model was given


class LandmarkModel:
    """Runs hand_landmark_lite on one rotated region of a frame."""

    def __init__(self, num_threads: int | None = None):
        self._interpreter = load_interpreter(LANDMARK_MODEL, num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        # The model's output order is MediaPipe's SplitTensorVector order: screen landmarks, presence,
        # handedness, world landmarks (the two (1, 63) outputs tell apart only by position).
        outputs = self._interpreter.get_output_details()
        self._landmarks, self._presence, self._handedness = (d["index"] for d in outputs[:3])

    def __call__(self, frame_bgr: np.ndarray, region: Region) -> LandmarkResult:
        image = cut_out(frame_bgr, region, INPUT_SIZE, zero_border=False)
        self._interpreter.set_tensor(self._input, image[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._landmarks).reshape(NUM_LANDMARKS, 3) / INPUT_SIZE
        presence = float(self._interpreter.get_tensor(self._presence).ravel()[0])
        left_score = float(self._interpreter.get_tensor(self._handedness).ravel()[0])
        landmarks = np.empty((NUM_LANDMARKS, 3), dtype=np.float32)
        landmarks[:, :2] = region.to_frame(raw[:, :2])
        landmarks[:, 2] = raw[:, 2] / Z_SCALE * region.width
        return LandmarkResult(landmarks, presence, left_score, region)


def next_region(landmarks_px: np.ndarray) -> Region:
    """The region to give the landmark model on the next frame, from this frame's landmarks.

    MediaPipe's HandLandmarksToRectCalculator: the box of the stable joints, rotated so that the
    wrist -> (mean of index, middle and ring MCPs) vector points up, then grown.
    """
    points = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    knuckles = (points[INDEX_MCP] + points[RING_MCP]) / 2
    rotation = rotation_towards(points[WRIST], (knuckles + points[MIDDLE_MCP]) / 2)
    stable = points[STABLE_JOINTS]
    centre = (stable.min(axis=0) + stable.max(axis=0)) / 2
    # Bounds in the hand's own frame (rotated by -rotation about the axis-aligned centre).
    cos, sin = np.cos(rotation), np.sin(rotation)
    offset = stable - centre
    local = np.stack([cos * offset[:, 0] + sin * offset[:, 1], -sin * offset[:, 0] + cos * offset[:, 1]], axis=1)
    low, high = local.min(axis=0), local.max(axis=0)
    mid = (low + high) / 2
    cx = centre[0] + cos * mid[0] - sin * mid[1]
    cy = centre[1] + sin * mid[0] + cos * mid[1]
    tight = Region(float(cx), float(cy), float(high[0] - low[0]), float(high[1] - low[1]), rotation)
    return tight.transformed(NEXT_SCALE, NEXT_SHIFT_Y)
