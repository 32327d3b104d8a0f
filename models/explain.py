"""Where the network looks: occlusion maps and Grad-CAM of one image, and drawing them over it.

Occlusion follows Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks"
(a grey square slid over the input); Grad-CAM weights the last convolutional block's maps
by the gradient of the class score. Both the app's explain view and `gesture-train explain`
use it; the training report page and the feature grid are in `training/explain.py`.
No Qt here; TensorFlow is imported lazily.

    explanation = explain(bundle, image_bgr, method="occlusion")
    overlay_bgr = overlay_heatmap(image_bgr, explanation.heat, caption(bundle.classes, explanation))
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import Preprocessing

METHODS = ("occlusion", "gradcam")
# Layers that keep the spatial grid and act per position, so Grad-CAM may read the
# last convolutional block after its normalisation and activation.
_ELEMENTWISE = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU", "ELU", "PReLU", "LayerNormalization")
CONVOLUTIONS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")
TEXT_BGR = (245, 245, 245)
PANEL_BGR = (25, 25, 25)
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Explanation:
    heat: np.ndarray  # (S, S) float32 in [0, 1] at the model's input size; 1 = most evidence
    class_index: int  # the class explained (the predicted one unless asked otherwise)
    probs: np.ndarray  # (classes,) the model's probabilities for the whole image
    method: str  # "occlusion" or "gradcam"
    peak: float  # occlusion: the largest drop in the class probability; gradcam: the largest raw CAM value
    layer: str = ""  # the layer Grad-CAM read

    @property
    def confidence(self) -> float:
        return float(self.probs[self.class_index])


# --- finding the convolutional base ------------------------------------------------------


def find_base(model):
    """The nested convolutional base (`build_model`'s "vgg16"/"compact"), else the model itself."""
    from .architectures import BACKBONES

    nested = [layer for layer in model.layers if hasattr(layer, "layers")]
    for layer in nested:
        if layer.name in BACKBONES:
            return layer
    for layer in nested:
        if any(type(inner).__name__ in CONVOLUTIONS for inner in layer.layers):
            return layer
    return model


def last_conv_layer(model) -> str:
    """Name (in `find_base(model)`) of the last convolutional block's output.

    The last convolution, followed through any per-position layers after it (batch
    normalisation, ReLU) but not through pooling: VGG16 -> block5_conv3, compact -> block4_2_relu.
    """
    layers = find_base(model).layers
    convs = [i for i, layer in enumerate(layers) if type(layer).__name__ in CONVOLUTIONS]
    if not convs:
        raise ValueError(f"Model {model.name!r} has no convolutional layer to explain.")
    index = convs[-1]
    while index + 1 < len(layers) and type(layers[index + 1]).__name__ in _ELEMENTWISE:
        index += 1
    return layers[index].name


def layer_in_base(model, layer_name: str):
    base = find_base(model)
    try:
        return base, base.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in base.layers if type(layer).__name__ != "InputLayer"]
        raise ValueError(f"Layer {layer_name!r} is not in the {base.name} base; its layers are {', '.join(names)}.") from None


def _top_layers(model, base) -> list:
    """The layers after the base, in order (build_model's top is a plain chain)."""
    if base is model:
        return []
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    return layers[layers.index(base) + 1 :]


def _split_at(model, layer: str):
    """(functional model: input -> (`layer`'s maps, base output), the top's layers), cached per model.

    Building the functional model takes longer than a Grad-CAM pass of a small net, and the
    app asks for one every second.
    """
    import keras

    cached = _SPLITS.setdefault(model, {})
    if layer not in cached:
        base, target = layer_in_base(model, layer)
        source = model if base is model else base
        cached[layer] = (keras.Model(source.input, [target.output, source.output]), _top_layers(model, base))
    return cached[layer]


_SPLITS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --- Grad-CAM ------------------------------------------------------------------------------


def gradcam_maps(model, inputs: np.ndarray, class_indices=None, layer: str | None = None, batch_size: int = 16):
    """(N, S, S, 3) preprocessed inputs -> ((N, S, S) heat in [0, 1], (N, classes) probs, (N,) peaks, layer).

    Each heat map explains `class_indices[i]` (default: the predicted class). The nested
    base is split at `layer` with a functional model giving both its maps and its
    output; the top runs on that output, so one pass gives maps, gradients and probs.
    """
    import tensorflow as tf

    layer = layer or last_conv_layer(model)
    split, top = _split_at(model, layer)
    size = inputs.shape[1:3]
    heats, all_probs, peaks = [], [], []
    for start in range(0, len(inputs), batch_size):
        batch = tf.convert_to_tensor(inputs[start : start + batch_size], tf.float32)
        with tf.GradientTape() as tape:
            maps, x = split(batch, training=False)
            tape.watch(maps)
            for top_layer in top:
                x = top_layer(x, training=False)
            probs = tf.cast(x, tf.float32)
            if class_indices is None:
                chosen = tf.argmax(probs, axis=1, output_type=tf.int32)
            else:
                chosen = tf.constant(np.asarray(class_indices[start : start + batch_size], np.int32))
            score = tf.gather(probs, chosen, axis=1, batch_dims=1)
        grads = tf.cast(tape.gradient(score, maps), tf.float32).numpy()  # (n, h, w, k)
        maps = tf.cast(maps, tf.float32).numpy()
        weights = grads.mean(axis=(1, 2), keepdims=True)  # one weight per channel
        cams = np.maximum((weights * maps).sum(axis=-1), 0.0)  # (n, h, w)
        for cam in cams:
            peak = float(cam.max())
            peaks.append(peak)
            cam = cv2.resize(cam.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
            heats.append(cam / cam.max() if cam.max() > 0 else cam)
        all_probs.append(probs.numpy())
    return np.stack(heats).astype(np.float32), np.concatenate(all_probs), np.array(peaks), layer


def gradcam_map(model, preprocessing: Preprocessing, image_bgr: np.ndarray, class_index: int | None = None,
                layer: str | None = None) -> Explanation:
    """Grad-CAM of one BGR image on the last convolutional block (or `layer` of the base)."""
    inputs = preprocessing(image_bgr)[None]
    heats, probs, peaks, layer = gradcam_maps(model, inputs, None if class_index is None else [class_index], layer)
    chosen = int(probs[0].argmax()) if class_index is None else int(class_index)
    return Explanation(heats[0], chosen, probs[0], "gradcam", float(peaks[0]), layer)


# --- occlusion -------------------------------------------------------------------------------


def default_patch(input_size: int) -> int:
    """About a seventh of the input (32 px at 224), as in the paper's sweeps."""
    return max(4, int(round(input_size / 7)))


def _positions(size: int, patch: int, stride: int) -> list[int]:
    """Top-left offsets of the square along one axis; the last one reaches the border."""
    last = size - patch
    positions = list(range(0, last + 1, stride))
    if positions[-1] != last:
        positions.append(last)
    return positions


def _predict(model, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([
        np.asarray(model(inputs[i : i + batch_size], training=False), dtype=np.float32)
        for i in range(0, len(inputs), batch_size)
    ])


def occlusion_map(model, preprocessing: Preprocessing, image_bgr: np.ndarray, class_index: int | None = None,
                  patch: int | None = None, stride: int | None = None, grey: float = 0.5,
                  batch_size: int = 32) -> Explanation:
    """The paper's occlusion test: how much the class probability drops with each part hidden.

    A `patch`-pixel square of grey (`grey` x 255 in every channel) is slid over the
    model's input with `stride`; each pixel's heat is the mean drop over the squares
    that covered it. Squares that raise the probability count as no evidence.
    """
    size = preprocessing.input_size
    patch = patch or default_patch(size)
    stride = stride or max(1, patch // 2)
    if not 1 <= patch <= size:
        raise ValueError(f"The occluding square must be 1 to {size} pixels (the model's input size), got {patch}.")
    image_rgb = preprocessing.resize_rgb(image_bgr).astype(np.float32)  # (S, S, 3)
    probs = _predict(model, preprocessing.normalize(image_rgb)[None], 1)[0]
    chosen = int(probs.argmax()) if class_index is None else int(class_index)
    boxes = [(y, x) for y in _positions(size, patch, stride) for x in _positions(size, patch, stride)]
    drops = []
    # Occluded copies are built a batch at a time so a 224-px sweep never holds them all.
    for start in range(0, len(boxes), batch_size):
        copies = np.repeat(image_rgb[None], len(boxes[start : start + batch_size]), axis=0)
        for copy, (y, x) in zip(copies, boxes[start : start + batch_size]):
            copy[y : y + patch, x : x + patch] = grey * 255.0
        drops.append(probs[chosen] - _predict(model, preprocessing.normalize(copies), batch_size)[:, chosen])
    drops = np.concatenate(drops)
    total = np.zeros((size, size), np.float64)
    count = np.zeros((size, size), np.float64)
    for drop, (y, x) in zip(drops, boxes):
        total[y : y + patch, x : x + patch] += drop
        count[y : y + patch, x : x + patch] += 1
    heat = np.maximum(total / count, 0.0)
    peak = float(heat.max())
    heat = heat / peak if peak > 0 else heat
    return Explanation(heat.astype(np.float32), chosen, probs, "occlusion", float(drops.max()))


def explain(bundle, image_bgr: np.ndarray, method: str = "gradcam", class_index: int | None = None, **options) -> Explanation:
    """One image through a bundle's Keras model: `method` is "occlusion" (patch, stride, grey) or "gradcam" (layer)."""
    if method == "occlusion":
        return occlusion_map(bundle.model, bundle.preprocessing, image_bgr, class_index, **options)
    if method == "gradcam":
        return gradcam_map(bundle.model, bundle.preprocessing, image_bgr, class_index, **options)
    raise ValueError(f"Unknown method {method!r}; valid methods are {', '.join(METHODS)}.")


# --- drawing -------------------------------------------------------------------------------------


def caption(classes, explanation: Explanation) -> str:
    """"yo 63% (occlusion, peak drop 41%)": what the heat map explains (a drop under 1%: no region matters)."""
    name = classes[explanation.class_index] if explanation.class_index < len(classes) else str(explanation.class_index)
    drop = "<1%" if explanation.peak < 0.005 else f"{100 * explanation.peak:.0f}%"
    detail = f"peak drop {drop}" if explanation.method == "occlusion" else explanation.layer
    return f"{name} {100 * explanation.confidence:.0f}% ({explanation.method}, {detail})"


def _put_caption(image_bgr: np.ndarray, text: str, colour=TEXT_BGR) -> None:
    """Text on a dark band across the top of the image (in place), shrunk to fit its width."""
    h, w = image_bgr.shape[:2]
    scale = float(np.clip(h / 480.0, 0.35, 1.2))
    width = cv2.getTextSize(text, FONT, 0.6 * scale, 1)[0][0]
    if width > w - 8:
        scale *= (w - 8) / width
    band = int(round(26 * max(scale, 0.5)))
    top = image_bgr[:band]
    cv2.addWeighted(top, 0.35, np.full_like(top, PANEL_BGR), 0.65, 0, dst=top)
    cv2.putText(image_bgr, text, (4, band - int(round(8 * max(scale, 0.5)))), FONT, 0.6 * scale, colour,
                1, cv2.LINE_AA)


def heat_colours_bgr(heat: np.ndarray) -> np.ndarray:
    """(H, W) heat in [0, 1] -> (H, W, 3) BGR uint8 in the jet colour map (blue = none, red = most)."""
    return cv2.applyColorMap(np.clip(heat * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)


def overlay_heatmap(image_bgr: np.ndarray, heat: np.ndarray, text: str | None = None, alpha: float = 0.6,
                    min_size: int = 256) -> np.ndarray:
    """The image with the heat map blended over it (stretched to the image, as the model squashes it).

    Images smaller than `min_size` on their short side are enlarged first so the text stays legible.
    """
    image = np.ascontiguousarray(image_bgr)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    if min(h, w) < min_size:
        factor = min_size / min(h, w)
        image = cv2.resize(image, (int(round(w * factor)), int(round(h * factor))), interpolation=cv2.INTER_LINEAR)
        h, w = image.shape[:2]
    heat_big = cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    # Opacity grows with the heat, so the image stays visible where there is no evidence.
    weight = (alpha * (0.35 + 0.65 * np.clip(heat_big, 0.0, 1.0)))[..., None]
    blended = (image * (1.0 - weight) + heat_colours_bgr(heat_big) * weight).round().astype(np.uint8)
    if text:
        _put_caption(blended, text)
    return blended
