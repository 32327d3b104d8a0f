"""Dataset reading, the documented split, and every bad-input message."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.preprocess import Preprocessing
from training.dataset import DatasetError, load_dataset, load_labelled_folder, split_files


def make_class_images(folder: Path, n: int, seed: int = 0, size=(40, 52)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"img_{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def make_dataset(root: Path, classes=("cool", "fist", "ok"), n=11) -> Path:
    for index, name in enumerate(classes):
        make_class_images(root / name, n, seed=index)
    return root


def test_split_is_deterministic_disjoint_and_independent_of_listing_order():
    paths = [Path(f"/d/cool/{i}.jpg") for i in range(550)]
    first = split_files(paths, "cool", seed=0)
    again = split_files(list(reversed(paths)), "cool", seed=0)
    assert first == again
    assert {k: len(v) for k, v in first.items()} == {"train": 375, "val": 125, "test": 50}
    assert set(first["train"]) | set(first["val"]) | set(first["test"]) == set(paths)
    assert not set(first["train"]) & set(first["test"])
    assert split_files(paths, "cool", seed=1)["test"] != first["test"]
    # Classes are not shuffled in lockstep.
    other = split_files([Path(f"/d/fist/{i}.jpg") for i in range(550)], "fist", seed=0)
    assert [p.name for p in other["test"]] != [p.name for p in first["test"]]


def test_per_class_folder_is_split_stratified(tmp_path):
    data = make_dataset(tmp_path / "data", n=22)
    dataset = load_dataset(data, input_size=32)
    assert dataset.classes == ("cool", "fist", "ok")
    assert dataset.layout == "per-class"
    counts = dataset.counts()
    for name in dataset.classes:
        assert (counts["train"][name], counts["val"][name], counts["test"][name]) == (15, 5, 2)
    assert dataset.splits["train"].images_rgb.shape == (45, 32, 32, 3)
    assert dataset.splits["train"].images_rgb.dtype == np.uint8


def test_pre_split_layout_is_used_as_given(tmp_path):
    root = tmp_path / "data"
    for split, n in (("train", 4), ("validation", 2), ("test", 1)):
        make_dataset(root / split, classes=("ok", "stop"), n=n)
    dataset = load_dataset(root, input_size=32)
    assert dataset.layout == "pre-split"
    assert dataset.counts() == {"train": {"ok": 4, "stop": 4}, "val": {"ok": 2, "stop": 2}, "test": {"ok": 1, "stop": 1}}


def test_pre_split_missing_a_split_names_it(tmp_path):
    root = tmp_path / "data"
    make_dataset(root / "train", classes=("ok", "stop"), n=3)
    make_dataset(root / "test", classes=("ok", "stop"), n=1)
    with pytest.raises(DatasetError, match=r"lacks val/"):
        load_dataset(root, input_size=32)


def test_non_images_are_ignored_and_counted_and_bad_images_reported(tmp_path, caplog):
    data = make_dataset(tmp_path / "data", n=5)
    (data / "cool" / "notes.txt").write_text("not an image")
    (data / "cool" / "manifest.csv").write_text("file,class\n")
    (data / "fist" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    good = data / "ok" / "img_000.png"
    truncated = data / "ok" / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with caplog.at_level("WARNING"):
        dataset = load_dataset(data, input_size=32)
    assert dataset.report.non_image_files == 2
    assert {p.name for p, _ in dataset.report.unreadable} == {"broken.jpg", "truncated.png"}
    assert "broken.jpg" in caplog.text and "truncated.png" in caplog.text
    assert sum(len(s) for s in dataset.splits.values()) == 15


def test_grey_and_rgba_images_are_converted(tmp_path):
    data = make_dataset(tmp_path / "data", n=4)
    Image.fromarray(np.full((30, 30), 200, np.uint8), mode="L").save(data / "cool" / "grey.png")
    Image.fromarray(np.full((30, 30, 4), 100, np.uint8), mode="RGBA").save(data / "cool" / "rgba.png")
    dataset = load_dataset(data, input_size=32)
    assert not dataset.report.unreadable
    all_paths = [p.name for s in dataset.splits.values() for p in s.paths]
    assert "grey.png" in all_paths and "rgba.png" in all_paths
    assert all(s.images_rgb.shape[1:] == (32, 32, 3) for s in dataset.splits.values())


def test_empty_class_folder_is_an_error_naming_it(tmp_path):
    data = make_dataset(tmp_path / "data", n=4)
    (data / "yo").mkdir()
    with pytest.raises(DatasetError, match=r"yo holds no images"):
        load_dataset(data, input_size=32)


def test_too_few_images_names_the_folder_and_the_count_needed(tmp_path):
    data = make_dataset(tmp_path / "data", n=4)
    for path in sorted((data / "ok").iterdir())[2:]:
        path.unlink()
    with pytest.raises(DatasetError, match=r"ok has 2 readable image\(s\); at least 3 are needed"):
        load_dataset(data, input_size=32)


def test_missing_folder_and_folder_without_classes(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope", input_size=32)
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="no class folders"):
        load_dataset(tmp_path / "flat", input_size=32)


def test_labelled_folder_may_hold_some_classes_but_not_unknown_ones(tmp_path):
    data = make_dataset(tmp_path / "data", classes=("ok", "stop"), n=3)
    classes = ("cool", "fist", "ok", "stop", "yo")
    split, names, _ = load_labelled_folder(data, Preprocessing(32), classes)
    assert names == classes
    assert sorted(set(split.labels.tolist())) == [2, 3]
    make_class_images(data / "thumbs_up", 1)
    with pytest.raises(DatasetError, match="thumbs_up"):
        load_labelled_folder(data, Preprocessing(32), classes)


def test_real_photographs_load(hand_crops):
    dataset = load_dataset(hand_crops, input_size=48)
    assert dataset.classes == ("cool", "fist", "ok", "stop", "yo")
    assert not dataset.report.unreadable
    assert sum(len(s) for s in dataset.splits.values()) == 30
