"""The compact backbone, the robustness augmentation and `gesture-train --config`."""

import json

import numpy as np
import pytest

from models import SCHEDULE, load_bundle, resolve_runs
from training import cli

QUICK_TOML = """
runs = "compact"
weights = "none"
input-size = 32
epochs = 1
steps-per-epoch = 2
batch-size = 4
quiet = true
"""


def test_compact_is_an_extra_run_not_the_documented_default():
    assert "compact" not in [spec.name for spec in resolve_runs(None)]
    spec = SCHEDULE["compact"]
    assert spec.backbone == "compact" and not spec.documented
    assert all(s.extra_augmentation == () and s.lr_schedule == "constant" for s in resolve_runs(None))


def test_compact_model_trains_its_base_and_loads_safely(tmp_path):
    import keras

    from models.architectures import base_of, build_model

    model = build_model(SCHEDULE["compact"], 5, weights=None, input_size=32)
    base = base_of(model)
    assert base.name == "compact" and base.trainable
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers)
    # Batch normalisation follows the batch in training and its moving statistics in inference.
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 32, 32, 3)).astype(np.float32)
    assert not np.allclose(model(x, training=True), model(x, training=False))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-5)


def test_extra_augmentation_is_named_and_checked():
    import tensorflow as tf

    from training.augment import EXTRA_AUGMENTATIONS, build_extra_augmenter, check_extra_augmentation

    assert {"light", "colour", "scale"} <= set(EXTRA_AUGMENTATIONS)
    assert build_extra_augmenter(()) is None
    with pytest.raises(ValueError, match="valid names are light"):
        check_extra_augmentation(["sunburn"])
    images = tf.constant(np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)), tf.float32)
    out = build_extra_augmenter(("light", "colour", "scale", "blur"), seed=1)(images, training=True)
    assert out.shape == images.shape and not np.allclose(out, images)


def _write(path, text):
    path.write_text(text)
    return path


def test_config_keys_are_the_long_flags_and_the_command_line_wins(tmp_path):
    config = _write(tmp_path / "c.toml", 'data = "d"\nout = "o"\nruns = ["compact"]\nepochs = 3\nresume = true\n'
                    'no-feature-cache = true\nextra_augmentation = ["light", "scale"]\n')
    args = cli.parse_args(["--config", str(config), "--epochs", "5"])
    assert (str(args.data), str(args.out), args.runs) == ("d", "o", "compact")
    assert args.epochs == 5 and args.resume and not args.feature_cache
    assert args.extra_augmentation == ("light", "scale")
    # The same through the named command, and a flag on the command line beats the file.
    named = cli.parse_args(["train", "--config", str(config), "--data", "elsewhere"])
    assert str(named.data) == "elsewhere" and named.epochs == 3


@pytest.mark.parametrize("line, message", [
    ("epoch = 3", "Did you mean 'epochs'"),
    ('epochs = "many"', "'many' is not a whole number"),
    ("epochs = 0", "must be at least 1"),
    ("resume = 1", "must be true or false"),
    ('input-style = "sketch"', "valid values are colour, silhouette"),
    ('extra-augmentation = "sun"', "valid names are light"),
    ("epochs = [", "must be TOML"),
])
def test_bad_config_names_the_key_and_what_is_valid(tmp_path, caplog, line, message):
    config = _write(tmp_path / "bad.toml", line + "\n")
    assert cli.main(["--config", str(config), "--data", "d", "--out", "o"]) == 2
    assert message in caplog.text


def test_missing_config_file_is_an_error(tmp_path, caplog):
    assert cli.main(["--config", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in caplog.text


@pytest.mark.slow
def test_compact_run_trains_from_a_config(tmp_path, hand_crops):
    config = _write(tmp_path / "quick.toml", f'data = "{hand_crops}"\nout = "{tmp_path / "runs"}"\n' + QUICK_TOML)
    assert cli.main(["--config", str(config), "--extra-augmentation", "light,blur"]) == 0
    run_dir = tmp_path / "runs" / "compact"
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["run"]["extra_augmentation"] == ["light", "blur"]
    assert saved["run"]["lr_schedule"] == "cosine"
    assert saved["settings"]["config_file"] == str(config)
    bundle = load_bundle(run_dir / "bundle")
    assert bundle.description["backbone"] == "compact" and bundle.input_size == 32


def test_robustness_perturbations_keep_the_image_usable(hand_crops):
    from models.images import read_image_bgr
    from training.robustness import PERTURBATIONS

    image_bgr = read_image_bgr(next((hand_crops / "cool").glob("*.jpg")))
    for name, (_, perturb) in PERTURBATIONS.items():
        out = perturb(image_bgr)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, name
        assert (out.shape == image_bgr.shape) or name == "square_box", name
        assert name == "clean" or not np.array_equal(out, image_bgr), name


def test_robustness_scores_every_perturbation(tiny_bundle, hand_crops, tmp_path):
    from training import robustness

    out = tmp_path / "scores.json"
    assert cli.main(["robustness", "--model", str(tiny_bundle), "--data", str(hand_crops), "--split", "all",
                     "--json", str(out), "-q"]) == 0
    scores = json.loads(out.read_text())["scores"]
    assert set(scores) == set(robustness.PERTURBATIONS)
    assert all(0.0 <= s["accuracy"] <= 1.0 and s["count"] == 30 for s in scores.values())
