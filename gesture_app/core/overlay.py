"""Drawing the result onto the frame with OpenCV (no Qt here), so the window, screenshots,
recordings and headless videos all show the same thing.

    annotated_bgr = draw_overlay(frame_bgr, prediction, roi, OverlayStats(...))

Top left (top right when the user's box is in the frame's left half), on a translucent panel: the gesture (or "no gesture", or "no hand") and its
confidence as text and a bar, the top three classes with their probabilities,
display FPS, inference FPS and latency, the device and the model. Each hand found is
boxed in its gesture's colour (the hand driving the label more boldly) with its label,
confidence and which hand it is, and its 21 landmarks are drawn as a skeleton; the user's
box (when the app classifies it) is outlined in the gesture's colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.classes import NO_GESTURE

from .prediction import NO_HAND, HandPrediction, Prediction, confidence_percent
from .roi import RegionOfInterest

FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR; distinct hues so a glance at the bar says which gesture, even from across the room.
CLASS_COLOURS_BGR = {
    "cool": (235, 170, 40),
    "fist": (70, 70, 235),
    "ok": (70, 200, 60),
    "stop": (30, 190, 250),
    "yo": (220, 90, 210),
}
NONE_COLOUR_BGR = (160, 160, 160)
LOADING_MODEL = "loading model..."
# OpenCV's Hershey fonts draw ASCII only (anything else comes out as "?").
ASCII_FOR = str.maketrans({"…": "...", "●": "*", "–": "-", "—": "-"})
TEXT_BGR = (245, 245, 245)
DIM_TEXT_BGR = (200, 200, 200)
WARNING_BGR = (60, 220, 255)
PANEL_BGR = (25, 25, 25)
PANEL_ALPHA = 0.62
SKELETON_BGR = (240, 240, 240)
JOINT_BGR = (40, 40, 230)
# MediaPipe's hand: the wrist (0) to each finger's tip, and the knuckles joined across the palm.
HAND_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (17, 18), (18, 19), (19, 20), (0, 17),
)


@dataclass(frozen=True)
class OverlayStats:
    display_fps: float | None = None
    inference_fps: float | None = None
    latency_ms: float | None = None
    device: str = ""
    model: str = ""
    message: str = ""  # shown in warning colour, e.g. "no model loaded" or "paused"
    waiting: str = ""  # why nothing is classified yet (e.g. LOADING_MODEL): shown in place of the gesture, no bar


def class_colour_bgr(label: str) -> tuple[int, int, int]:
    return CLASS_COLOURS_BGR.get(label, NONE_COLOUR_BGR)


def overlay_scale(frame_shape) -> float:
    """Text and panel scale: 1.0 on a 480-line frame, kept legible on small and large ones."""
    return float(np.clip(frame_shape[0] / 480.0, 0.5, 2.5))


def _px(value: float, scale: float) -> int:
    return int(round(value * scale))


def label_area(frame_shape) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the gesture name text."""
    s = overlay_scale(frame_shape)
    return _px(18, s), _px(14, s), _px(268, s), _px(52, s)


def confidence_bar_area(frame_shape) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the confidence bar; its filled width is the confidence."""
    s = overlay_scale(frame_shape)
    return _px(18, s), _px(60, s), _px(208, s), _px(76, s)


PANEL_WIDTH = 290  # at scale 1; wider only for a line that needs it
TOP_Y = 98  # the first of the top three classes' lines, at scale 1
LINE_HEIGHT = 20


def panel_on_right(frame_shape, roi: RegionOfInterest | None) -> bool:
    """The panel takes the top corner the user's box leaves free: the left, or the right when the box is in the left half."""
    if roi is None:
        return False
    x0, _, x1, _ = roi.to_pixels(frame_shape)
    return x0 + x1 < frame_shape[1]


def readout_area(frame_shape, roi: RegionOfInterest | None = None) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the panel's readout: the gesture, its confidence bar and the top three classes.

    The window keeps the user's box off it (`RegionOfInterest.kept_clear_of`); the dim lines below
    (rates, device, model) may lie over a box that sits right under the readout.
    """
    s = overlay_scale(frame_shape)
    width = min(frame_shape[1], _px(PANEL_WIDTH, s))
    left = frame_shape[1] - width if panel_on_right(frame_shape, roi) else 0
    return left, 0, left + width, _px(TOP_Y + 2 * LINE_HEIGHT + 8, s)


def inset_area(frame_shape) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the classifier's-view inset, bottom left (clear of the default box)."""
    s = overlay_scale(frame_shape)
    height, width = frame_shape[:2]
    side = min(_px(112, s), height // 3, width // 3)
    margin = _px(10, s)
    return margin, height - margin - side, margin + side, height - margin


def _draw_inset(image, inset_bgr, s) -> None:
    x0, y0, x1, y1 = inset_area(image.shape)
    if inset_bgr.ndim == 2:
        inset_bgr = cv2.cvtColor(inset_bgr, cv2.COLOR_GRAY2BGR)
    image[y0:y1, x0:x1] = cv2.resize(inset_bgr, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    cv2.rectangle(image, (x0 - 1, y0 - 1), (x1, y1), TEXT_BGR, 1)
    _text(image, "model sees", (x0, y0 - _px(6, s)), s, TEXT_BGR, size=0.4)


def _text(image, text, origin, scale, colour=TEXT_BGR, size=0.55, thickness=1):
    cv2.putText(image, text.translate(ASCII_FOR), origin, FONT, size * scale, colour, max(1, _px(thickness, scale)), cv2.LINE_AA)


def _format_rate(value: float | None, unit: str) -> str:
    return f"-- {unit}" if value is None else f"{value:.1f} {unit}"


def _draw_skeleton(image, landmarks_px, s) -> None:
    points = [(int(round(x)), int(round(y))) for x, y in np.asarray(landmarks_px)[:, :2]]
    for a, b in HAND_CONNECTIONS:
        cv2.line(image, points[a], points[b], SKELETON_BGR, max(1, _px(2, s)), cv2.LINE_AA)
    for point in points:
        cv2.circle(image, point, max(2, _px(3, s)), JOINT_BGR, -1, cv2.LINE_AA)


def hand_tag(hand: HandPrediction) -> str:
    """The text beside a hand's box: its gesture, confidence and which hand it is."""
    title = hand.label.upper() if hand.label != NO_GESTURE else "no gesture"
    return f"{title} {confidence_percent(hand.confidence)}%  {hand.handedness}"


def _draw_hand(image, hand: HandPrediction, s, drives: bool, box: bool) -> None:
    colour = class_colour_bgr(hand.label)
    x0, y0, x1, y1 = (int(round(v)) for v in hand.box_xyxy)
    if box:
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, max(2, _px(3 if drives else 2, s)), cv2.LINE_AA)
    text = hand_tag(hand)
    size = 0.5
    (width, height), base = cv2.getTextSize(text, FONT, size * s, max(1, _px(1, s)))
    # Above the box, or inside its top edge when the box touches the top of the frame.
    tx = min(max(x0, 0), max(0, image.shape[1] - width - _px(6, s)))
    ty = y0 - _px(6, s) if y0 - height - _px(10, s) >= 0 else max(y0, 0) + height + _px(6, s)
    cv2.rectangle(image, (tx, ty - height - _px(4, s)), (tx + width + _px(6, s), ty + base), PANEL_BGR, -1)
    _text(image, text, (tx + _px(3, s), ty), s, colour if hand.label != NO_GESTURE else DIM_TEXT_BGR, size=size)


def _heads_line(prediction: Prediction | None) -> str:
    """What each head of a two-head bundle says about the driving hand (the label is their fusion)."""
    hand = prediction.hand if prediction is not None else None
    if hand is None or hand.landmark_probs is None or hand.cnn_probs is None:
        return ""
    classes = prediction.classes
    parts = [f"{name} {classes[int(np.argmax(p))]} {confidence_percent(float(np.max(p)))}%"
             for name, p in (("cnn", hand.cnn_probs), ("landmarks", hand.landmark_probs))]
    return "heads: " + ", ".join(parts)  # the label above is their fusion


def draw_overlay(
    frame_bgr: np.ndarray,
    prediction: Prediction | None,
    roi: RegionOfInterest | None = None,
    stats: OverlayStats = OverlayStats(),
    inset_bgr: np.ndarray | None = None,
    landmarks: bool = True,
) -> np.ndarray:
    """A copy of the (H, W, 3) BGR frame with the result drawn on it.

    roi: the user's box, outlined when the app classifies it (None when hands are found anywhere).
    inset_bgr: what the classifier was shown (e.g. the silhouette), drawn small at the bottom left.
    landmarks: draw each hand's 21 landmarks as a skeleton.
    """
    if stats.waiting:
        prediction = None  # nothing is classified yet: no label, hands or notes from before
    image = np.ascontiguousarray(frame_bgr).copy()
    s = overlay_scale(image.shape)
    if inset_bgr is not None:
        _draw_inset(image, inset_bgr, s)
    label = prediction.label if prediction is not None else NO_GESTURE
    colour = class_colour_bgr(label)
    hands = prediction.hands if prediction is not None else ()

    if roi is not None:
        x0, y0, x1, y1 = roi.to_pixels(image.shape)
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, max(2, _px(3, s)), cv2.LINE_AA)

    lines = []  # (text, colour) below the top-3 block
    lines.append(
        (
            f"display {_format_rate(stats.display_fps, 'fps')}   inference {_format_rate(stats.inference_fps, 'fps')}   "
            + ("-- ms" if stats.latency_ms is None else f"{stats.latency_ms:.0f} ms"),
            DIM_TEXT_BGR,
        )
    )
    if stats.device:
        lines.append((f"device: {stats.device}", DIM_TEXT_BGR))
    if stats.model:
        lines.append((f"model: {stats.model}", DIM_TEXT_BGR))
    heads = _heads_line(prediction)
    if heads:
        lines.append((heads, DIM_TEXT_BGR))
    note = prediction.note if prediction is not None else ""
    if note == NO_HAND:
        note = ""  # the title says it
    for message in (stats.message, note if note not in stats.message else ""):
        if message:
            lines.append((message, WARNING_BGR))

    top = prediction.top(3) if prediction is not None and prediction.classified else []
    line_height = _px(LINE_HEIGHT, s)
    top_y = _px(TOP_Y, s)
    panel_bottom = top_y + line_height * (len(top) + len(lines)) + _px(4, s)
    widest = max(cv2.getTextSize(text.translate(ASCII_FOR), FONT, 0.45 * s, max(1, _px(1, s)))[0][0] for text, _ in lines)
    panel_width = min(image.shape[1], max(_px(PANEL_WIDTH, s), label_area(image.shape)[0] + widest + _px(14, s)))
    # Everything on the panel is laid out from its left edge: 0, or the right corner's.
    left = image.shape[1] - panel_width if panel_on_right(image.shape, roi) else 0
    panel = image[: min(panel_bottom, image.shape[0]), left:left + panel_width]
    # Translucent, so the video under the panel stays visible.
    cv2.addWeighted(panel, 1.0 - PANEL_ALPHA, np.full_like(panel, PANEL_BGR), PANEL_ALPHA, 0, dst=panel)

    x0, y0, x1, y1 = label_area(image.shape)
    x0, x1 = x0 + left, x1 + left
    no_hand = prediction is not None and prediction.no_hand
    title = label.upper() if label != NO_GESTURE else ("no hand" if no_hand else "no gesture")
    title = stats.waiting or title
    _text(image, title, (x0, y1 - _px(6, s)), s, colour if label != NO_GESTURE else DIM_TEXT_BGR, size=1.15, thickness=2)

    if not stats.waiting:  # a bar at 0 % would read as an answer
        bx0, by0, bx1, by1 = confidence_bar_area(image.shape)
        bx0, bx1 = bx0 + left, bx1 + left
        confidence = prediction.confidence if prediction is not None else 0.0
        cv2.rectangle(image, (bx0, by0), (bx1, by1), (70, 70, 70), -1)
        filled = bx0 + int(round((bx1 - bx0) * float(np.clip(confidence, 0.0, 1.0))))
        if filled > bx0:
            cv2.rectangle(image, (bx0, by0), (filled, by1), colour, -1)
        _text(image, f"{confidence_percent(confidence)}%", (bx1 + _px(10, s), by1 - _px(1, s)), s, TEXT_BGR, size=0.55)

    y = top_y
    small_bar = _px(90, s)
    for name, probability in top:
        _text(image, name, (x0, y), s, TEXT_BGR, size=0.5)
        bar_x = x0 + _px(62, s)
        cv2.rectangle(image, (bar_x, y - _px(10, s)), (bar_x + small_bar, y - _px(2, s)), (70, 70, 70), -1)
        cv2.rectangle(image, (bar_x, y - _px(10, s)), (bar_x + int(small_bar * probability), y - _px(2, s)), class_colour_bgr(name), -1)
        _text(image, f"{confidence_percent(probability) / 100:.2f}", (bar_x + small_bar + _px(8, s), y), s, TEXT_BGR, size=0.5)
        y += line_height
    for text, text_colour in lines:
        _text(image, text, (x0, y), s, text_colour, size=0.45)
        y += line_height
    # The hands last, over the panel: a hand raised at the top left is what the user is looking at.
    for index, hand in enumerate(hands):
        if landmarks:
            _draw_skeleton(image, hand.landmarks_px, s)
        # With the user's box drawn, the hand's own box would be a second square: the tag is enough.
        _draw_hand(image, hand, s, drives=index == 0, box=roi is None)
    return image
