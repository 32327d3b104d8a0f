"""gesture-train as a newcomer first meets it: offline ImageNet weights, what the summary and evaluate say."""

import socket
import urllib.error

import pytest

from training import cli, runner

QUICK = ["--weights", "none", "--input-size", "32", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "-q"]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, and an empty Keras cache (so no earlier download hides the failure)."""
    from keras.src.backend import config as keras_config
    from keras.src.utils import file_utils

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(file_utils, "urlretrieve", unreachable)
    monkeypatch.setattr(keras_config, "keras_home", lambda: str(tmp_path / "keras-home"))


def test_offline_imagenet_weights_fail_first_with_one_line_and_nothing_written(offline, tmp_path, hand_crops, caplog, capsys):
    out = tmp_path / "runs"
    code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "model1", "--input-size", "32"])
    assert code == 2
    assert not out.exists()
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "ImageNet weights" in errors[0] and "Name or service not known" in errors[0]
    assert "--weights none" in errors[0] and "--weights PATH" in errors[0]
    assert "Traceback" not in caplog.text + capsys.readouterr().err
    # Nothing was loaded either: the check comes before the dataset is read.
    assert not any("Reading" in r.getMessage() for r in caplog.records)


def test_runs_that_need_no_imagenet_weights_do_not_fetch_them(offline, tmp_path, hand_crops, caplog):
    out = tmp_path / "runs"
    # compact trains from scratch: the default --weights imagenet means nothing to download for it.
    assert cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "compact", *QUICK[2:]]) == 0
    # 1 test photo a class, one epoch: the log and the summary say the figures mean little.
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(w.startswith("compact: the test split is tiny: 1 image(s)") for w in warnings)
    summary = (out / "summary.md").read_text()
    assert "## Read with care" in summary and "**compact**: the test split is tiny" in summary


def _test_metrics(accuracy: float, per_class: int, classes: int = 5) -> dict:
    names = [f"c{i}" for i in range(classes)]
    return {"accuracy": accuracy, "count": per_class * classes, "classes": names,
            "per_class": {n: {"support": per_class} for n in names}}


@pytest.mark.parametrize(
    "accuracy, per_class, flags",
    [
        (0.20, 73, {"near chance"}),  # the README's quick example: five runs at 20 %
        (0.29, 73, {"near chance"}),  # below 1.5x chance
        (0.31, 73, set()),
        (0.96, 73, set()),
        (0.50, 1, {"near chance", "tiny test split"}),  # 5 test images: 50 % is within two standard errors
        (0.90, 19, {"tiny test split"}),
        (0.90, 20, set()),
    ],
)
def test_near_chance_and_tiny_test_splits_are_flagged(accuracy, per_class, flags):
    from training.reports import result_warnings

    assert set(result_warnings(_test_metrics(accuracy, per_class))) == flags


def test_the_chance_bar_is_written_down():
    from training.reports import chance_bar

    assert chance_bar(5, 365) == pytest.approx((0.2, 0.3))  # 1.5x chance wins on a real test split
    assert chance_bar(5, 5)[1] == pytest.approx(0.2 + 2 * (0.16 / 5) ** 0.5)  # two standard errors win on 5 images
    assert chance_bar(2, 1000) == pytest.approx((0.5, 0.75))


def test_the_summary_says_what_the_seed_figures_are_and_flags_chance_runs(tmp_path):
    import json

    from training.reports import write_summary

    for run, accuracy in (("model1", 0.2), ("model4", 0.95)):
        (tmp_path / run).mkdir()
        test = dict(_test_metrics(accuracy, 73), macro_f1=accuracy, error_rate=1 - accuracy, confusion_matrix=[])
        (tmp_path / run / "metrics.json").write_text(json.dumps({"test": test, "val": {}, "config": {}}))
    summary = write_summary(tmp_path, ["model1", "model4"]).read_text()
    assert "results reported by the reference document" in summary
    rows = {line.split("|")[1].strip(): line for line in summary.splitlines() if line.startswith("| Model")}
    assert rows["Model 1"].rstrip().endswith("| near chance |") and rows["Model 4"].rstrip().endswith("| — |")
    assert "- **model1**: test accuracy 20.0 % is near chance" in summary and "**model4**" not in summary


def test_a_run_folder_with_nothing_trained_is_not_an_unfinished_run(tmp_path):
    config = runner.TrainConfig(data=tmp_path, out=tmp_path)
    run_dir = tmp_path / "model1"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")  # what a run stopped before its first epoch leaves
    assert runner._prepare_run_dir(run_dir, config) == "fresh"
    (run_dir / "history.csv").write_text("epoch,loss\n0,1.6\n")
    with pytest.raises(runner.TrainingError, match="unfinished run"):
        runner._prepare_run_dir(run_dir, config)


@pytest.fixture
def bundle_trained_on(tiny_bundle, tmp_path):
    """The tiny bundle, its provenance saying it was trained on `data` with `seed`."""
    import shutil

    from models.bundle import update_description

    def make(data, seed=0):
        path = shutil.copytree(tiny_bundle, tmp_path / f"bundle-{seed}", dirs_exist_ok=True)
        counts = {"train": {}, "val": {}, "test": {}}
        from models.dataset_rules import split_counts

        for folder in sorted(p for p in data.iterdir() if p.is_dir()):
            for split, n in split_counts(len(list(folder.glob("*.jpg")))).items():
                counts[split][folder.name] = n
        update_description(path, provenance={
            "run": "tiny-test", "config": {"settings": {"seed": seed}},
            "dataset": {"root": str(data.resolve()), "layout": "per-class", "counts": counts, "skipped_unreadable": 0},
        })
        return path

    return make


def _evaluate(bundle, data, tmp_path, capsys, *extra):
    import json

    out = tmp_path / "scores.json"
    assert cli.main(["evaluate", "--model", str(bundle), "--data", str(data), "--json", str(out), "-q", *extra]) == 0
    return json.loads(out.read_text()), capsys.readouterr().out.splitlines()[0]


def test_evaluate_on_the_training_folder_scores_its_test_split(bundle_trained_on, hand_crops, tmp_path, capsys):
    from training.dataset import split_files

    bundle = bundle_trained_on(hand_crops, seed=3)
    scores, first_line = _evaluate(bundle, hand_crops, tmp_path, capsys)
    assert scores["count"] == 5 and scores["split"] == "test"
    assert scores["scored"]["seed"] == 3 and scores["scored"]["training_folder"] is True
    assert scores["scored"]["training_images_included"] is False
    assert first_line.startswith("scored: the test split, 5 images of") and "seed 3" in first_line
    # The same images training held out with seed 3: each class's one test photo.
    held_out = split_files(sorted((hand_crops / "cool").glob("*.jpg")), "cool", 3)["test"]
    assert scores["per_class"]["cool"]["support"] == len(held_out) == 1


def test_evaluate_all_of_the_training_folder_says_training_images_are_included(bundle_trained_on, hand_crops, tmp_path, capsys):
    scores, first_line = _evaluate(bundle_trained_on(hand_crops), hand_crops, tmp_path, capsys, "--split", "all")
    assert scores["count"] == 30 and scores["scored"]["training_images_included"] is True
    assert first_line == f"scored: all 30 images of {hand_crops} (training images included: the bundle was trained on this folder)"


def test_evaluate_recognises_a_copy_of_the_training_folder(bundle_trained_on, hand_crops, tmp_path, capsys):
    import shutil

    bundle = bundle_trained_on(hand_crops)
    copy = shutil.copytree(hand_crops, tmp_path / "copied-data")
    scores, _ = _evaluate(bundle, copy, tmp_path, capsys)
    assert scores["split"] == "test" and scores["scored"]["training_folder"] is True


def test_evaluate_on_other_data_scores_all_of_it(bundle_trained_on, hand_crops, tmp_path, capsys):
    import shutil

    bundle = bundle_trained_on(hand_crops)
    other = tmp_path / "other"
    for name in ("ok", "stop"):
        shutil.copytree(hand_crops / name, other / name)
    scores, first_line = _evaluate(bundle, other, tmp_path, capsys)
    assert scores["count"] == 12 and scores["scored"]["training_folder"] is False
    assert scores["scored"]["training_images_included"] is False
    assert first_line == f"scored: all 12 images of {other}"
