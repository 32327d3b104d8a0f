"""Score a bundle on perturbed copies of a labelled folder: light, colour, scale, the other hand, another camera.

The held-out test split comes from the same photographs as the training set, so it
shows little of what robustness augmentation is for. Scoring the same images after
a fixed, deterministic change (darker, warmer, a smaller hand, ...) shows what each
addition buys on the conditions a webcam meets.

With a landmark head, the localiser finds the hand again on every perturbed image, and each head
is scored alone beside the fusion (a landmark head's "no hand" counts as wrong; the fusion then
falls back on the CNN, as the app does).

    gesture-train robustness --model BUNDLE --data DIR --split test --seed 0 [--json PATH]
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from models.images import jpeg_round_trip, read_image_bgr

# Plain mid-grey for the area around a shrunken hand: not a fill the training ever used.
BACKGROUND_BGR = (128, 128, 128)


def _gain(image_bgr: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(image_bgr.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _contrast(image_bgr: np.ndarray, factor: float) -> np.ndarray:
    pixels = image_bgr.astype(np.float32)
    mean = pixels.mean(axis=(0, 1), keepdims=True)
    return np.clip((pixels - mean) * factor + mean, 0, 255).astype(np.uint8)


def _tint(image_bgr: np.ndarray, gains_bgr) -> np.ndarray:
    return np.clip(image_bgr.astype(np.float32) * np.float32(gains_bgr), 0, 255).astype(np.uint8)


def _hsv(image_bgr: np.ndarray, hue_shift: int = 0, saturation: float = 1.0) -> np.ndarray:
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + hue_shift) % 180  # OpenCV hue is 0..179 (2 degrees a step)
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def _smaller(image_bgr: np.ndarray, scale: float) -> np.ndarray:
    """The hand shrunk to `scale` of the box, centred on a plain background of the same size."""
    h, w = image_bgr.shape[:2]
    small = cv2.resize(image_bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.empty_like(image_bgr)
    canvas[:] = BACKGROUND_BGR
    y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return canvas


def _square(image_bgr: np.ndarray) -> np.ndarray:
    """The crop centred in a square at its own shape, the sides continuing its edge pixels.

    The training crops (about 76x100) are squashed to a square; the app's box is square,
    so a hand filling its height keeps its natural, narrower shape there.
    """
    h, w = image_bgr.shape[:2]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return cv2.copyMakeBorder(image_bgr, top, side - h - top, left, side - w - left, cv2.BORDER_REPLICATE)


def _noise(image_bgr: np.ndarray, sigma: float) -> np.ndarray:
    """Sensor noise: Gaussian, the same pattern for every image of a size (so scores repeat)."""
    rng = np.random.default_rng(list(image_bgr.shape))
    return np.clip(image_bgr.astype(np.float32) + rng.normal(0, sigma, image_bgr.shape), 0, 255).astype(np.uint8)


def _rotated(image_bgr: np.ndarray, degrees: float) -> np.ndarray:
    """The hand (or the camera) turned in the image plane, about the crop's centre, edges continued."""
    h, w = image_bgr.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image_bgr, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _low_res(image_bgr: np.ndarray, factor: float) -> np.ndarray:
    """A camera with fewer pixels on the hand: shrunk by `factor` and blown up again."""
    h, w = image_bgr.shape[:2]
    small = cv2.resize(image_bgr, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


# name -> (what it imitates, BGR uint8 image -> BGR uint8 image)
PERTURBATIONS = {
    "clean": ("the photographs as they are", lambda im: im),
    "dark": ("a dim room (pixel values x0.45)", lambda im: _gain(im, 0.45)),
    "bright": ("strong light (pixel values x1.6, clipped)", lambda im: _gain(im, 1.6)),
    "low_contrast": ("flat light (contrast x0.5)", lambda im: _contrast(im, 0.5)),
    "warm_light": ("warm white balance (red x1.2, blue x0.75)", lambda im: _tint(im, (0.75, 1.0, 1.2))),
    "hue_shift": ("another skin tone or camera colour (hue +16 degrees, saturation x1.3)",
                  lambda im: _hsv(im, hue_shift=8, saturation=1.3)),
    "desaturated": ("washed-out colour (saturation x0.4)", lambda im: _hsv(im, saturation=0.4)),
    "small_hand": ("the hand further away: 65% of the box on a plain grey background", lambda im: _smaller(im, 0.65)),
    "blur": ("a soft webcam image (Gaussian blur, sigma 1.5 at the crop's size)", lambda im: cv2.GaussianBlur(im, (0, 0), 1.5)),
    "mirrored": ("the other hand (mirror image)", lambda im: im[:, ::-1]),
    "square_box": ("the hand at its own shape in the app's square box, not squashed", _square),
    # Another camera and another take of the same hand:
    "noise": ("a noisy sensor in dim light (Gaussian noise, sigma 12 of 255)", lambda im: _noise(im, 12.0)),
    "jpeg": ("heavy compression (JPEG quality 15)", lambda im: jpeg_round_trip(im, 15)),
    "low_res": ("fewer pixels on the hand (a third of the size, blown up again)", lambda im: _low_res(im, 1 / 3)),
    "rotated": ("the hand turned 25 degrees in the image plane", lambda im: _rotated(im, 25.0)),
}


def perturbed_landmarks(localiser, images_bgr):
    """`landmark_data.ImageLandmarks` of images found afresh (the perturbation changes what the localiser sees)."""
    from .landmark_data import ImageLandmarks, hand_in_image
    from .progress import progress_over

    points = np.full((len(images_bgr), 21, 3), np.nan, np.float32)
    handedness = np.full(len(images_bgr), None, dtype=object)
    for index, image in enumerate(progress_over(images_bgr, "finding hands")):
        found = hand_in_image(localiser, image)
        if found is not None:
            points[index], handedness[index] = found
    return ImageLandmarks(points, handedness)


def robustness_scores(bundle, data, split: str = "test", seed: int = 0, names=None) -> dict:
    """{perturbation: {accuracy, macro_f1, count, heads: {head: {accuracy, macro_f1[, no_hand]}}}} of `bundle`
    on `data` after each perturbation; the top-level figures are the fused ones (what the app shows)."""
    from .dataset import load_labelled_folder
    from .evaluate import DECODE_WITHOUT_CNN, head_probs, score_heads

    images, _, _ = load_labelled_folder(data, bundle.preprocessing or DECODE_WITHOUT_CNN, bundle.classes,
                                        split=split, seed=seed)
    originals_bgr = [read_image_bgr(path) for path in images.paths]
    localiser = None
    if bundle.has_landmarks:
        from models.hands import HandLocaliser

        localiser = HandLocaliser()
    scores = {}
    for name in names or PERTURBATIONS:
        _, perturb = PERTURBATIONS[name]
        perturbed = [np.ascontiguousarray(perturb(image)) for image in originals_bgr]
        landmarks = perturbed_landmarks(localiser, perturbed) if localiser is not None else None
        metrics = score_heads(bundle, images.labels, head_probs(bundle, perturbed, landmarks))
        keep = ("accuracy", "macro_f1", "no_hand")
        scores[name] = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "count": metrics["count"],
                        "heads": {head: {k: v for k, v in figures.items() if k in keep}
                                  for head, figures in metrics["heads"].items()}}
    return scores


def format_scores(scores: dict) -> str:
    """One line per perturbation: accuracy and macro F1; with two heads, each head's accuracy and the fused one."""
    heads = next(iter(scores.values()))["heads"] if scores else {}
    if len(heads) < 2:
        return "\n".join(f"{name:<13} accuracy {score['accuracy']:.4f}  macro F1 {score['macro_f1']:.4f}   {PERTURBATIONS[name][0]}"
                         for name, score in scores.items())
    lines = [f"{'perturbation':<13} {'cnn':>6} {'landm.':>6} {'fused':>6} {'no hand':>7}   accuracy; what it imitates"]
    for name, score in scores.items():
        cnn, landmarks = score["heads"]["cnn"], score["heads"]["landmarks"]
        lines.append(f"{name:<13} {cnn['accuracy']:6.4f} {landmarks['accuracy']:6.4f} {score['accuracy']:6.4f} "
                     f"{landmarks.get('no_hand', 0):7d}   {PERTURBATIONS[name][0]}")
    return "\n".join(lines)


if __name__ == "__main__":  # the old spelling, `python -m training.robustness ...`
    from .cli import main

    sys.exit(main(["robustness", *sys.argv[1:]]))
