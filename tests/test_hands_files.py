"""The shipped MediaPipe model files are the pinned ones, and a damaged one says what to do."""

import shutil
from pathlib import Path

import pytest
from test_app_layering import modules_loaded_by

from models.hands import files
from models.hands.files import HandModelError, load_interpreter, sha256_of

ROOT = Path(__file__).resolve().parents[1]
# The pins, written out again here so a changed constant in files.py fails too.
PINNED = {
    "palm_detection_lite.tflite": "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    "hand_landmark_lite.tflite": "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_model_files_match_their_sha256_pins(name):
    assert files.SHA256[name] == PINNED[name]
    assert sha256_of(files.HERE / name) == PINNED[name]


def test_licence_and_attribution_ship_beside_the_models():
    assert "Apache License" in (files.HERE / "LICENSE").read_text()
    attribution = (files.HERE / "ATTRIBUTION.md").read_text()
    assert "mediapipe==0.10.21" in attribution
    assert all(sha in attribution for sha in PINNED.values())
    pyproject = (ROOT / "pyproject.toml").read_text()  # (tomllib is 3.11+; the project supports 3.10)
    assert all(f'"{glob}"' in pyproject for glob in ("hands/*.tflite", "hands/*.md", "hands/LICENSE"))


def test_a_damaged_model_file_names_itself_and_the_sha_expected(tmp_path):
    damaged = tmp_path / files.PALM_MODEL.name
    shutil.copy(files.PALM_MODEL, damaged)
    with damaged.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0\0\0\0")
    with pytest.raises(HandModelError, match=f"{damaged}.*expected {PINNED[damaged.name]}.*ATTRIBUTION.md"):
        load_interpreter(damaged)


def test_a_missing_model_file_says_so(tmp_path):
    with pytest.raises(HandModelError, match="missing.*reinstall"):
        load_interpreter(tmp_path / files.LANDMARK_MODEL.name)


def test_hand_finding_needs_neither_qt_tensorflow_nor_mediapipe():
    assert modules_loaded_by(["models.hands"], ("PySide6", "tensorflow", "mediapipe", "gesture_app", "training")) == []
