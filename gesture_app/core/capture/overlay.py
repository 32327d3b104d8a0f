"""The capture tool's preview drawing (no Qt here): the box the image comes from, the found hand's skeleton,
"no hand in view", REC while recording, the countdown."""

from __future__ import annotations

import cv2
import numpy as np

from ..overlay import _draw_skeleton, overlay_scale
from ..roi import RegionOfInterest

BOX_IDLE_BGR = (80, 200, 80)
BOX_RECORDING_BGR = (40, 40, 230)
BOX_COUNTDOWN_BGR = (0, 200, 255)
MESSAGE_BGR = (60, 220, 255)


def draw_capture_overlay(
    frame_bgr: np.ndarray, roi: RegionOfInterest | None, *, recording: bool = False, countdown_s: float | None = None,
    box_xyxy=None, landmarks_px: np.ndarray | None = None, message: str = "",
) -> np.ndarray:
    """A copy of the frame with the box, the hand's skeleton, a message, a REC mark and the countdown drawn on it.

    box_xyxy: the box to draw in frame pixels (the followed hand's square); else the region of
    interest's box; neither (None, None): no box (no hand found). landmarks_px: (21, 3) frame pixels.
    """
    canvas_bgr = frame_bgr.copy()
    scale = canvas_bgr.shape[0] / 480
    if box_xyxy is None and roi is not None:
        box_xyxy = roi.to_pixels(canvas_bgr.shape)
    colour = BOX_COUNTDOWN_BGR if countdown_s is not None else BOX_RECORDING_BGR if recording else BOX_IDLE_BGR
    if landmarks_px is not None:
        _draw_skeleton(canvas_bgr, landmarks_px, overlay_scale(canvas_bgr.shape))
    if box_xyxy is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box_xyxy)
        thickness = max(2, canvas_bgr.shape[0] // 160)
        cv2.rectangle(canvas_bgr, (x0, y0), (x1 - 1, y1 - 1), colour, thickness, cv2.LINE_AA)
    if message:
        _centred_text(canvas_bgr, message, canvas_bgr.shape[0] // 2, 1.0 * scale, max(1, int(2 * scale)), MESSAGE_BGR)
    if recording:
        cv2.circle(canvas_bgr, (int(24 * scale), int(24 * scale)), int(9 * scale), BOX_RECORDING_BGR, -1, cv2.LINE_AA)
        origin = (int(40 * scale), int(33 * scale))
        weight = max(1, int(2 * scale))
        cv2.putText(canvas_bgr, "REC", origin, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, BOX_RECORDING_BGR, weight, cv2.LINE_AA)
    if countdown_s is not None:
        text = f"{max(1, int(np.ceil(countdown_s)))}"
        font_scale = 3.0 * scale
        weight = max(2, int(6 * scale))
        (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, weight)
        if box_xyxy is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in box_xyxy)
        else:
            x0, y0, x1, y1 = 0, 0, canvas_bgr.shape[1], canvas_bgr.shape[0]
        origin = ((x0 + x1 - width) // 2, (y0 + y1 + height) // 2)
        cv2.putText(canvas_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), weight + 4, cv2.LINE_AA)
        cv2.putText(canvas_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, BOX_COUNTDOWN_BGR, weight, cv2.LINE_AA)
    return canvas_bgr


def _centred_text(image, text: str, y: int, font_scale: float, weight: int, colour) -> None:
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, weight)
    origin = ((image.shape[1] - width) // 2, y + height // 2)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), weight + 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, weight, cv2.LINE_AA)
