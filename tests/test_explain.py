"""Explain view: occlusion and Grad-CAM find known evidence; the commands and the report page write their files."""

import json

import cv2
import numpy as np
import pytest

from models import Preprocessing, load_bundle
from models.explain import explain, gradcam_map, last_conv_layer, occlusion_map, overlay_heatmap
from training import cli
from training.explain import receptive_field, report_order, top_activating_patches

SIZE = 32
SQUARE = 8


def _square_images(count: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 32, 32, 3) BGR noise; class 1 holds a bright 8-px square at a random place -> (images, labels, corners)."""
    images = rng.integers(0, 90, size=(count, SIZE, SIZE, 3)).astype(np.uint8)
    labels = np.arange(count) % 2
    corners = rng.integers(0, SIZE - SQUARE + 1, size=(count, 2))
    for image, label, (y, x) in zip(images, labels, corners):
        if label:
            image[y : y + SQUARE, x : x + SQUARE] = 240
    return images, labels, corners


@pytest.fixture(scope="module")
def square_model():
    """A tiny net shaped like build_model's (input -> nested conv base -> top) that detects the square."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inner = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1")(inner)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Conv2D(16, 3, padding="same", name="block2_conv1")(x)
    x = layers.BatchNormalization(name="block2_bn")(x)
    x = layers.ReLU(name="block2_relu")(x)
    base = keras.Model(inner, x, name="compact")
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = layers.GlobalAveragePooling2D()(base(inputs))
    outputs = layers.Dense(2, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs)
    preprocessing = Preprocessing(SIZE, mean_rgb=(0.25,) * 3, std_rgb=(0.25,) * 3)
    rng = np.random.default_rng(0)
    images, labels, _ = _square_images(600, rng)
    inputs = np.stack([preprocessing(image) for image in images])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(inputs, labels, epochs=6, batch_size=32, verbose=0)
    test, test_labels, corners = _square_images(40, np.random.default_rng(7))
    predicted = np.asarray(model(np.stack([preprocessing(image) for image in test]), training=False)).argmax(axis=1)
    assert (predicted == test_labels).mean() >= 0.95  # otherwise the maps below would prove nothing
    return model, preprocessing, test[test_labels == 1][:6], corners[test_labels == 1][:6]


def _inside(heat, corner):
    y, x = corner
    mask = np.zeros_like(heat, bool)
    mask[y : y + SQUARE, x : x + SQUARE] = True
    return mask


@pytest.mark.parametrize("method", ["occlusion", "gradcam"])
def test_heat_maps_peak_on_the_evidence(square_model, method):
    model, preprocessing, images, corners = square_model
    for image, corner in zip(images, corners):
        if method == "occlusion":
            result = occlusion_map(model, preprocessing, image, patch=SQUARE, stride=2)
        else:
            result = gradcam_map(model, preprocessing, image)
            assert result.layer == "block2_relu"  # the last conv block, after its BN and ReLU
        heat, inside = result.heat, _inside(result.heat, corner)
        assert result.class_index == 1 and result.confidence > 0.5
        assert heat.shape == (SIZE, SIZE) and heat.max() == pytest.approx(1.0)
        peak = np.unravel_index(heat.argmax(), heat.shape)
        # Within the square, or touching it (the occluder overlapping its edge still hides it).
        assert corner[0] - 2 <= peak[0] < corner[0] + SQUARE + 2 and corner[1] - 2 <= peak[1] < corner[1] + SQUARE + 2, (peak, corner)
        assert heat[inside].mean() > 2 * heat[~inside].mean()


def test_occlusion_of_the_square_drops_the_probability(square_model):
    model, preprocessing, images, corners = square_model
    result = occlusion_map(model, preprocessing, images[0], patch=SQUARE, stride=SQUARE // 2)
    assert result.peak > 0.5  # hiding the square removes most of the class-1 evidence
    # Explaining the other class: its evidence is never the square.
    other = occlusion_map(model, preprocessing, images[0], class_index=0, patch=SQUARE, stride=SQUARE // 2)
    assert other.class_index == 0 and other.heat[_inside(other.heat, corners[0])].mean() < 0.5


def test_gradcam_finds_the_last_conv_block_of_each_backbone():
    from models import SCHEDULE
    from models.architectures import build_model

    compact = build_model(SCHEDULE["compact"], 5, weights=None, input_size=32)
    assert last_conv_layer(compact) == "block4_2_relu"
    preprocessing = Preprocessing(32)
    image = np.random.default_rng(0).integers(0, 255, (40, 30, 3)).astype(np.uint8)
    result = gradcam_map(compact, preprocessing, image)
    assert result.heat.shape == (32, 32) and result.probs.shape == (5,)
    assert result.probs.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(result.probs, np.asarray(compact(preprocessing(image)[None], training=False))[0], atol=1e-5)
    with pytest.raises(ValueError, match="not in the compact base"):
        gradcam_map(compact, preprocessing, image, layer="nope")
    # VGG16 at 32 px: block5_conv3; its receptive field grows with depth.
    assert receptive_field(compact, "stem_conv") == (3, 2)
    assert receptive_field(compact, "block2_pool")[0] > receptive_field(compact, "block1_1_conv")[0]


def test_vgg16_bundle_explains_a_hand_photo(tiny_bundle, hand_crops):
    from models.images import read_image_bgr

    bundle = load_bundle(tiny_bundle)
    image = read_image_bgr(next((hand_crops / "fist").glob("*.jpg")))
    gradcam = explain(bundle, image, "gradcam")
    assert gradcam.layer == "block5_conv3"
    np.testing.assert_allclose(gradcam.probs, bundle.predict_bgr(image), atol=1e-4)
    occlusion = explain(bundle, image, "occlusion", patch=8, stride=4)
    assert occlusion.class_index == gradcam.class_index
    drawn = overlay_heatmap(image, occlusion.heat, "fist 40%")
    assert drawn.dtype == np.uint8 and min(drawn.shape[:2]) >= 256 and drawn.shape[2] == 3
    with pytest.raises(ValueError, match="valid methods"):
        explain(bundle, image, "deconvnet")


def test_report_order_puts_mistakes_first():
    labels = np.array([0, 0, 1, 1, 2])
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.1, 0.9, 0], [0.6, 0.4, 0], [0, 0, 1.0]])
    assert report_order(labels, probs) == [1, 3, 0, 2, 4]  # the surer mistake (0.8) first, then a class at a time
    assert report_order(labels, probs, max_images=2) == [1, 3]


def test_top_activating_patches_show_the_square_to_a_square_filter(square_model):
    model, preprocessing, images, _ = square_model
    grid = top_activating_patches(model, "block2_relu", list(images), preprocessing, n_filters=3, n_patches=4, cell=40)
    assert grid.dtype == np.uint8 and grid.shape == (26 + 3 * 40, 56 + 4 * 40, 3)
    # The strongest filter's patches are cut around the squares: bright (240) in the middle.
    first = grid[26 + 1 : 26 + 39, 56 + 1 : 56 + 39]
    assert first[14:24, 14:24].mean() > 150


def test_explain_command_writes_a_png_per_image(tiny_bundle, hand_crops, tmp_path):
    images = sorted((hand_crops / "ok").glob("*.jpg"))[:2]
    for method in ("occlusion", "gradcam"):
        out = tmp_path / method
        code = cli.main(["explain", "--model", str(tiny_bundle), "--image", *map(str, images), "--out", str(out),
                         "--method", method, "--patch", "8", "--stride", "4", "-q"])
        assert code == 0
        written = sorted(out.glob("*.png"))
        assert [p.name for p in written] == sorted(f"{p.stem}_{method}.png" for p in images)
        assert cv2.imread(str(written[0])).shape[2] == 3
    features = tmp_path / "features"
    code = cli.main(["explain", "--features", "--model", str(tiny_bundle), "--layer", "block1_conv2", "--data", str(hand_crops),
                     "--out", str(features), "--filters", "4", "--patches", "5", "-q"])
    assert code == 0
    grid = cv2.imread(str(features / "features_block1_conv2.png"))
    assert grid is not None and grid.shape[0] > 4 * 40


def test_explain_command_names_bad_input(tiny_bundle, hand_crops, tmp_path, caplog):
    assert cli.main(["explain", "--model", str(tiny_bundle), "--image", str(tmp_path / "missing.jpg"), "--out", str(tmp_path)]) == 2
    assert "missing.jpg" in caplog.text
    assert cli.main(["explain", "--model", str(tiny_bundle), "--features", "--layer", "fc1", "--data", str(tmp_path),
                     "--out", str(tmp_path)]) == 2
    assert cli.main(["explain", "--model", str(tiny_bundle), "--out", str(tmp_path)]) == 2  # neither --image nor --features
    image = next((hand_crops / "yo").glob("*.jpg"))
    assert cli.main(["explain", "--model", str(tiny_bundle), "--image", str(image), "--class", "peace", "--out", str(tmp_path)]) == 2
    assert "'peace' is not one of the model's: cool, fist, ok, stop, yo" in caplog.text
    assert cli.main(["explain", "--model", str(tiny_bundle), "--image", str(image), "--class", "yo", "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{image.stem}_gradcam.png").is_file()


def test_training_report_page(tmp_path, hand_crops):
    out = tmp_path / "runs"
    code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "model4", "--weights", "none", "--input-size", "32",
                     "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "4", "-q"])
    assert code == 0
    page = cv2.imread(str(out / "model4" / "explain.png"))
    tests = sum(json.loads((out / "model4" / "metrics.json").read_text())["test"]["confusion_matrix"], [])
    assert page is not None and page.shape[1] == 4 * 192
    rows = -(-sum(tests) // 4)
    assert page.shape[0] == 34 + rows * (192 + 40)  # every test image (fewer than 16) has a cell
    assert "(model4/explain.png)" in (out / "summary.md").read_text()


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_live_explainer_maps_the_box_at_a_reduced_rate(square_model):
    from types import SimpleNamespace

    from gesture_app.core.explain_view import LiveExplainer
    from gesture_app.core.pipeline import GesturePipeline, ModelView
    from gesture_app.core.roi import RegionOfInterest

    model, preprocessing, images, corners = square_model
    classifier = SimpleNamespace(classes=("none", "square"), bundle=SimpleNamespace(model=model, preprocessing=preprocessing))
    pipeline = GesturePipeline(classifier, roi=RegionOfInterest(cx=0.5, cy=0.5, size=0.5))
    frame = np.zeros((128, 128, 3), np.uint8)
    pipeline.last_model_view = ModelView(images[0], pipeline.roi.to_pixels(frame.shape))
    clock = _Clock()
    explainer = LiveExplainer(interval_s=1.0, clock=clock)
    assert not explainer.update(pipeline) and explainer.draw(frame) is frame  # off until toggled
    explainer.set_enabled(True)
    assert explainer.update(pipeline, frame_index=7)
    latest = explainer.latest
    assert latest.label == "square" and latest.frame_index == 7 and latest.box_xyxy == pipeline.roi.to_pixels(frame.shape)
    y, x = np.unravel_index(latest.heat.argmax(), latest.heat.shape)
    assert corners[0][0] - 2 <= y < corners[0][0] + SQUARE + 2 and corners[0][1] - 2 <= x < corners[0][1] + SQUARE + 2
    clock.now += 0.5
    assert not explainer.update(pipeline)  # not due yet: the worker keeps classifying
    clock.now += 0.6
    assert explainer.update(pipeline)

    clock.now += 0.4
    drawn = explainer.draw(frame)
    x0, y0, x1, y1 = pipeline.roi.to_pixels(frame.shape)
    assert drawn[y0:y1, x0:x1].any()  # the heat map lies in the box it was computed for
    assert not drawn[: y0 - 1].any() and not drawn[:, : x0 - 1].any()
    assert not drawn[y1 + 24 :].any()  # the age label sits just under the box
    pipeline.roi = RegionOfInterest(cx=0.2, cy=0.2, size=0.3)  # moving the box leaves the map where it was made
    assert np.array_equal(explainer.draw(frame, now=clock.now)[y0:y1, x0:x1], drawn[y0:y1, x0:x1])

    pipeline.classifier = SimpleNamespace(classes=("a", "b"), name="fake")  # a model with nothing to explain
    assert not explainer.update(pipeline) and explainer.latest is None
    assert "cannot be explained" in explainer.message
    explainer.set_enabled(False)
    assert explainer.draw(frame) is frame
