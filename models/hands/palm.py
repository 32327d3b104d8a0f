"""MediaPipe's lite palm detector: SSD anchors, box and keypoint decoding, weighted NMS, palm -> hand region.

Every constant is an option from MediaPipe's palm_detection_cpu.pbtxt or
palm_detection_detection_to_roi.pbtxt; a wrong one does not fail loudly, it finds no hands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .files import PALM_MODEL, load_interpreter
from .regions import Region, cut_out, rotation_towards

INPUT_SIZE = 192
NUM_KEYPOINTS = 7  # wrist centre, index/middle/ring/pinky MCP, two thumb joints
WRIST, MIDDLE_MCP = 0, 2
MIN_SCORE = 0.5
NMS_IOU = 0.3
# Palm box -> the square the landmark model is given: 2.6x the palm, moved half a palm towards the fingers.
HAND_SCALE, HAND_SHIFT_Y = 2.6, -0.5


def ssd_anchors() -> np.ndarray:
    """(2016, 2) anchor centres in [0, 1]: 24x24 cells x 2 anchors (stride 8), then 12x12 x 6 (stride 16).

    SsdAnchorsCalculator with num_layers 4, strides [8, 16, 16, 16], one aspect ratio plus the
    interpolated one per layer; layers with equal strides share a grid, and fixed_anchor_size
    makes every anchor 1x1, so only the centres matter.
    """
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = math.ceil(INPUT_SIZE / stride)
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


ANCHORS = ssd_anchors()


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, min_score: float = MIN_SCORE):
    """The model's (2016, 18) and (2016,) outputs -> scores (N,), boxes (N, 4) xyxy, keypoints (N, 7, 2).

    Coordinates are in the 192x192 input's unit square. Offsets are in input pixels from the
    anchor centre; scores are logits, clipped to +-100 before the sigmoid as MediaPipe does.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -100.0, 100.0)))
    keep = scores >= min_score
    scores, raw, anchors = scores[keep], raw_boxes[keep] / INPUT_SIZE, ANCHORS[keep]
    centre = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
    return scores, boxes, keypoints


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = (box[2] - box[0]) * (box[3] - box[1]) + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(scores, boxes, keypoints, iou_threshold: float = NMS_IOU):
    """MediaPipe's WEIGHTED non-maximum suppression: each cluster becomes its score-weighted mean.

    The best box of a cluster keeps its score; boxes and keypoints are averaged over every box
    overlapping it by more than iou_threshold, which steadies them more than plain NMS would.
    Returns the same three arrays, best first.
    """
    order = np.argsort(-scores, kind="stable")
    scores, boxes, keypoints = scores[order], boxes[order], keypoints[order]
    out_scores, out_boxes, out_keypoints = [], [], []
    remaining = np.arange(len(scores))
    while remaining.size:
        overlap = _iou_one_to_many(boxes[remaining[0]], boxes[remaining]) > iou_threshold
        overlap[0] = True
        cluster = remaining[overlap]
        weights = scores[cluster] / scores[cluster].sum()
        out_scores.append(scores[cluster[0]])
        out_boxes.append(weights @ boxes[cluster])
        out_keypoints.append(np.tensordot(weights, keypoints[cluster], axes=1))
        remaining = remaining[~overlap]
    if not out_scores:
        return scores[:0], boxes[:0], keypoints[:0]
    return np.array(out_scores), np.stack(out_boxes), np.stack(out_keypoints)


@dataclass(frozen=True)
class Palm:
    """One palm detection in frame pixels."""

    score: float
    box_xyxy: tuple[float, float, float, float]
    keypoints_px: np.ndarray  # (7, 2)

    def hand_region(self) -> Region:
        """The rotated square the landmark model should see: wrist->middle MCP pointing up, 2.6x the palm."""
        x0, y0, x1, y1 = self.box_xyxy
        rotation = rotation_towards(self.keypoints_px[WRIST], self.keypoints_px[MIDDLE_MCP])
        palm = Region((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation)
        return palm.transformed(HAND_SCALE, HAND_SHIFT_Y)


class PalmDetector:
    """Runs palm_detection_lite on a frame (or an upright region of it) and returns palms, best first."""

    def __init__(self, num_threads: int | None = None, min_score: float = MIN_SCORE):
        self.min_score = min_score
        self._interpreter = load_interpreter(PALM_MODEL, num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"]): d["index"] for d in self._interpreter.get_output_details()}
        self._boxes, self._scores = outputs[(1, 2016, 18)], outputs[(1, 2016, 1)]

    def __call__(self, frame_bgr: np.ndarray, region: Region | None = None) -> list[Palm]:
        if region is None:  # the whole frame, letterboxed to a square as MediaPipe does
            height, width = frame_bgr.shape[:2]
            region = Region(width / 2, height / 2, max(width, height), max(width, height))
        image = cut_out(frame_bgr, region, INPUT_SIZE, zero_border=True)
        self._interpreter.set_tensor(self._input, image[None])
        self._interpreter.invoke()
        raw_boxes = self._interpreter.get_tensor(self._boxes)[0]
        raw_scores = self._interpreter.get_tensor(self._scores)[0, :, 0]
        scores, boxes, keypoints = weighted_nms(*decode(raw_boxes, raw_scores, self.min_score))
        palms = []
        for score, box, points in zip(scores, boxes, keypoints):
            corners = region.to_frame(box.reshape(2, 2))  # an upright region maps corners to corners
            palms.append(Palm(float(score), tuple(float(v) for v in corners.ravel()), region.to_frame(points)))
        return palms
