"""Image files that are unusual or hostile: 16-bit greyscale, decompression bombs (#16, items 3 and 4)."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.images import UnreadableImageError, read_image_bgr
from models.preprocess import Preprocessing
from training import cli
from training.dataset import load_dataset, load_labelled_folder

from .conftest import REPO, write_solid_png


def _grey16_ramp(path: Path) -> np.ndarray:
    """A 16-bit greyscale PNG of a ramp over the whole 0..65535 range; returns its 8-bit values."""
    ramp = np.linspace(0, 65535, 48 * 64).round().astype(np.uint16).reshape(48, 64)
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")  # Pillow keeps it 16-bit ("I;16")
    return np.round(ramp / 257.0).astype(np.uint8)


def test_16_bit_greyscale_png_is_read_as_the_picture_it_is(tmp_path):
    expected = _grey16_ramp(tmp_path / "grey16.png")
    image_bgr = read_image_bgr(tmp_path / "grey16.png")
    assert image_bgr.dtype == np.uint8 and image_bgr.shape == (48, 64, 3)
    # Before: every pixel above 255 clipped, a white picture (mean 255).
    assert image_bgr.mean() == pytest.approx(expected.mean(), abs=0.5)
    assert np.abs(image_bgr[:, :, 0].astype(int) - expected).max() <= 1
    assert (image_bgr[:, :, 0] == image_bgr[:, :, 2]).all()


def test_16_bit_greyscale_reaches_training_and_evaluation_as_the_picture(tmp_path):
    data = tmp_path / "data"
    for name in ("ok", "stop"):
        (data / name).mkdir(parents=True)
        for index in range(4):
            _grey16_ramp(data / name / f"{index}.png")
    dataset = load_dataset(data, input_size=32)
    split, _, _ = load_labelled_folder(data, Preprocessing(32), ("ok", "stop"))
    for images_rgb in (dataset.splits["train"].images_rgb, split.images_rgb):
        assert 100 < images_rgb.mean() < 155  # the ramp's mean is 127.5; white would be 255


def test_one_image_reader_for_every_package():
    """Only models/images.py decodes image files, so a fix there reaches training, evaluation and the app."""
    decoders = re.compile(r"cv2\.imread\b|cv2\.imdecode\b|Image\.open\b|tf\.io\.decode_|tf\.image\.decode_|imageio")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for package in ("models", "training", "gesture_app", "cli_common")
        for path in sorted((REPO / package).rglob("*.py"))
        if path != REPO / "models" / "images.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if decoders.search(line.split("#")[0])
    ]
    assert offenders == []


@pytest.fixture
def small_bomb_limit(monkeypatch):
    """Pillow's decompression-bomb limit lowered to 1,000 pixels: it warns above 1,000, refuses above 2,000."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)


def test_image_above_the_bomb_limit_is_refused_naming_the_file(tmp_path, small_bomb_limit):
    bomb = write_solid_png(tmp_path / "huge.png", 50, 50)
    with pytest.raises(UnreadableImageError, match=r"huge\.png.*too large"):  # before: DecompressionBombError, no path
        read_image_bgr(bomb)


def test_image_above_the_warning_size_is_read_with_a_warning_naming_it(tmp_path, small_bomb_limit, caplog):
    big = write_solid_png(tmp_path / "big.png", 40, 30)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level("WARNING"):
        warnings.simplefilter("always")
        image_bgr = read_image_bgr(big)
    assert image_bgr.shape == (30, 40, 3)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]  # Pillow's, with no path
    assert "big.png" in caplog.text


def test_training_and_evaluate_skip_a_bomb_and_name_it(hand_data, tiny_bundle, tmp_path, caplog):
    """A real 13,400 x 13,400 (180-megapixel) PNG: above Pillow's limit of 2 x 89.5 million pixels."""
    bomb = write_solid_png(hand_data / "ok" / "bomb.png", 13_400, 13_400)
    with caplog.at_level("WARNING"):
        dataset = load_dataset(hand_data, input_size=32)
    assert [p.name for p, _ in dataset.report.unreadable] == ["bomb.png"]
    assert sum(len(split) for split in dataset.splits.values()) == 30
    assert str(bomb) in caplog.text and "too large" in caplog.text

    caplog.clear()
    out = tmp_path / "scores.json"
    assert cli.main(["evaluate", "--model", str(tiny_bundle), "--data", str(hand_data), "--json", str(out)]) == 0
    assert str(bomb) in caplog.text
    assert '"count": 30' in out.read_text() and '"skipped_unreadable": 1' in out.read_text()
