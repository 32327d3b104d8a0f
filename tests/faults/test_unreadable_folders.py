"""Folders a normal user may not read (#16, item 7): said so, never taken for empty.

Run as a normal user: directly when the tests are not root, else in a subprocess without
root's power to ignore permissions (see `as_normal_user`).
"""

import pytest


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_training_says_a_class_folder_is_unreadable(hand_data, tmp_path, as_normal_user, locked):
    locked(hand_data / "fist")
    result = as_normal_user("-m", "training.cli", "--data", str(hand_data), "--out", str(tmp_path / "runs"),
                            "--weights", "none", "--input-size", "32", "--epochs", "1", "-q")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = _error_lines(result.stderr)
    assert "holds no images" not in line  # before: "Class folder .../fist holds no images"
    assert str(hand_data / "fist") in line and "ermission denied" in line


def test_evaluate_does_not_score_an_unreadable_class_on_0_images(hand_data, tiny_bundle, as_normal_user, locked):
    locked(hand_data / "fist")
    result = as_normal_user("-m", "training.cli", "evaluate", "--model", str(tiny_bundle), "--data", str(hand_data))
    assert result.returncode == 2, result.stdout  # before: exit 0 and a confusion matrix with fist's row all 0
    assert "confusion matrix" not in result.stdout and "Traceback" not in result.stderr
    [line] = _error_lines(result.stderr)
    assert str(hand_data / "fist") in line and "ermission denied" in line


@pytest.mark.parametrize("where", ["subfolder", "dataset"])
def test_an_unreadable_subfolder_or_dataset_folder_is_named(where, hand_data, tmp_path, as_normal_user, locked):
    if where == "subfolder":  # inside a class folder (class folders are searched recursively)
        folder = hand_data / "ok" / "more"
        folder.mkdir()
        first = sorted((hand_data / "ok").glob("*.jpg"))[0]
        first.rename(folder / first.name)
    else:
        folder = hand_data
    locked(folder)
    script = ("from training.dataset import DatasetError, load_dataset\n"
              "try:\n"
              f"    load_dataset({str(hand_data)!r}, 32)\n"
              "except DatasetError as exc:\n"
              "    print(exc)\n")
    result = as_normal_user("-c", script)
    assert "Traceback" not in result.stderr, result.stderr  # before: PermissionError, or a silent skip
    assert str(folder) in result.stdout and "ermission denied" in result.stdout, result.stdout


def test_an_unreadable_image_is_skipped_and_named(hand_data, as_normal_user, locked):
    image = hand_data / "ok" / sorted(p.name for p in (hand_data / "ok").iterdir())[0]
    locked(image)
    script = ("from training.dataset import load_dataset\n"
              f"dataset = load_dataset({str(hand_data)!r}, 32)\n"
              "print([(p.name, reason) for p, reason in dataset.report.unreadable])\n")
    result = as_normal_user("-c", script)
    assert image.name in result.stdout and "ermission denied" in result.stdout, result.stdout + result.stderr
