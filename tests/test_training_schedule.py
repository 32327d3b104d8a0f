"""gesture-train end to end at 32 px with random weights: outputs, resume, evaluate, bundles."""

import csv
import json
import shutil

import numpy as np
import pytest

from models import CLASS_NAMES, default_bundle_path, load_bundle
from models.bundle import BundleError, save_bundle
from training import cli

QUICK = ["--weights", "none", "--input-size", "32", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "-q"]


@pytest.fixture(scope="module")
def schedule_runs(tmp_path_factory, hand_crops):
    """model1, model4 and model4_ft trained once for the module's tests."""
    out = tmp_path_factory.mktemp("runs")
    code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "model1,model4,model4_ft", *QUICK])
    assert code == 0
    return out


@pytest.mark.parametrize("run", ["model1", "model4", "model4_ft"])
def test_every_run_writes_its_outputs(schedule_runs, run):
    run_dir = schedule_runs / run
    for name in ("history.csv", "curves.png", "confusion_matrix.png", "metrics.json", "config.json"):
        assert (run_dir / name).is_file(), name
        assert (run_dir / name).stat().st_size > 0
    assert not (run_dir / "checkpoint").exists()  # removed once the run is finished
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    assert set(test) >= {"accuracy", "macro_f1", "error_rate", "per_class", "confusion_matrix"}
    assert np.array(test["confusion_matrix"]).shape == (5, 5)
    assert np.array(test["confusion_matrix"]).sum(axis=1).tolist() == [1, 1, 1, 1, 1]
    assert set(test["per_class"]["ok"]) >= {"precision", "recall", "f1"}
    assert test["error_rate"] == pytest.approx(1 - test["accuracy"])
    assert set(metrics["val"]) >= {"accuracy", "best_accuracy"}
    with (run_dir / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and "val_accuracy" in rows[0]

    bundle = load_bundle(run_dir / "bundle")
    assert bundle.classes == CLASS_NAMES
    assert bundle.input_size == 32
    description = bundle.description
    assert description["provenance"]["run"] == run
    assert description["provenance"]["dataset"]["counts"]["test"] == dict.fromkeys(CLASS_NAMES, 1)
    assert description["provenance"]["metrics"]["test"]["macro_f1"] == test["macro_f1"]
    assert "tensorflow" in description["provenance"]["versions"]
    mean = description["preprocessing"]["mean_rgb"]
    assert len(mean) == 3 and 0.1 < mean[0] < 0.9  # real statistics of the photographs, not defaults
    probs = bundle.predict_bgr(np.zeros((120, 90, 3), np.uint8))
    assert probs.shape == (5,) and probs.sum() == pytest.approx(1, abs=1e-5)


def test_fine_tune_starts_from_model4_and_unfreezes_block5(schedule_runs):
    from models.architectures import base_of

    model4 = load_bundle(schedule_runs / "model4" / "bundle").model
    tuned = load_bundle(schedule_runs / "model4_ft" / "bundle").model
    base4, base_ft = base_of(model4), base_of(tuned)
    # Frozen layers are untouched by fine-tuning; block 5 was trained further.
    np.testing.assert_array_equal(base4.get_layer("block1_conv1").get_weights()[0], base_ft.get_layer("block1_conv1").get_weights()[0])
    assert not np.array_equal(base4.get_layer("block5_conv1").get_weights()[0], base_ft.get_layer("block5_conv1").get_weights()[0])
    config = json.loads((schedule_runs / "model4_ft" / "config.json").read_text())
    assert config["run"]["unfreeze_from"] == "block5_conv1"


def test_summary_compares_runs_with_the_seed(schedule_runs):
    summary = (schedule_runs / "summary.md").read_text()
    for title in ("Model 1", "Model 4", "Model 4 fine-tuned"):
        assert f"| {title} |" in summary
    assert "0.8864" in summary and "0.9959" in summary


def test_finished_runs_are_not_overwritten_without_asking(schedule_runs, hand_crops, caplog):
    code = cli.main(["--data", str(hand_crops), "--out", str(schedule_runs), "--runs", "model1", *QUICK[:-1]])
    assert code == 2
    assert "--resume" in caplog.text and "--overwrite" in caplog.text


def test_fine_tune_without_model4_says_what_to_run(tmp_path, hand_crops, caplog):
    code = cli.main(["--data", str(hand_crops), "--out", str(tmp_path), "--runs", "model4_ft", *QUICK[:-1]])
    assert code == 2
    assert "--runs model4,model4_ft" in caplog.text


@pytest.mark.parametrize("pipeline", [[], ["--no-feature-cache"]], ids=["feature-cache", "per-step"])
def test_interrupted_run_resumes_where_it_stopped(tmp_path, hand_crops, interrupt_after_first_epoch, pipeline):
    out = tmp_path / "runs"
    args = ["--data", str(hand_crops), "--out", str(out), "--runs", "model4", *QUICK, *pipeline]
    args[args.index("--epochs") + 1] = "3"
    assert cli.main(args) == 130
    run_dir = out / "model4"
    assert json.loads((run_dir / "checkpoint" / "state.json").read_text()) == {"epochs_done": 1}
    assert not (run_dir / "metrics.json").exists()
    assert cli.main(args) == 2  # an unfinished run is not silently restarted

    train_normally = interrupt_after_first_epoch
    train_normally()
    assert cli.main(args + ["--resume"]) == 0
    with (run_dir / "history.csv").open() as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1, 2]
    assert (run_dir / "metrics.json").is_file()
    assert not (run_dir / "checkpoint").exists()
    assert cli.main(args + ["--resume"]) == 0  # finished: skipped


def test_evaluate_matches_the_recorded_test_metrics(schedule_runs, hand_crops, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = cli.main(["evaluate", "--model", str(schedule_runs / "model4" / "bundle"), "--data", str(hand_crops),
                     "--split", "test", "--json", str(out), "-q"])
    assert code == 0
    scored = json.loads(out.read_text())
    assert set(scored) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "classes"}
    recorded = json.loads((schedule_runs / "model4" / "metrics.json").read_text())["test"]
    assert scored["confusion_matrix"] == recorded["confusion_matrix"]
    assert scored["macro_f1"] == pytest.approx(recorded["macro_f1"])
    assert "confusion matrix" in capsys.readouterr().out


def test_evaluate_on_a_folder_with_some_classes(schedule_runs, hand_crops, tmp_path):
    data = tmp_path / "two"
    for name in ("ok", "stop"):
        shutil.copytree(hand_crops / name, data / name)
    out = tmp_path / "eval.json"
    assert cli.main(["evaluate", "--model", str(schedule_runs / "model1" / "bundle"), "--data", str(data), "--json", str(out), "-q"]) == 0
    scored = json.loads(out.read_text())
    assert scored["count"] == 12
    matrix = np.array(scored["confusion_matrix"])
    assert matrix.shape == (5, 5) and matrix[[0, 1, 4]].sum() == 0 and matrix.sum() == 12


def test_bundle_round_trip_gives_the_same_probabilities(tiny_bundle, tmp_path, hand_crops):
    from models.images import read_image_bgr

    bundle = load_bundle(tiny_bundle)
    images = [read_image_bgr(p) for p in sorted(hand_crops.glob("*/*.jpg"))[:6]]
    before = bundle.predict_batch_bgr(images)
    copy = save_bundle(bundle.model, tmp_path / "copy", bundle.classes, bundle.preprocessing, {"run": "copy"}, "vgg16")
    after = load_bundle(copy).predict_batch_bgr(images)
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(before[0], bundle.predict_bgr(images[0]), rtol=1e-5, atol=1e-6)
    # The input size is written once, at the top of bundle.json.
    description = json.loads((copy / "bundle.json").read_text())
    assert description["input_size"] == bundle.input_size and "input_size" not in description["preprocessing"]


def test_bundles_that_record_the_input_size_twice_still_load(tiny_bundle, tmp_path):
    """Bundles written before (the shipped default model among them) also kept it inside "preprocessing"."""
    old = shutil.copytree(tiny_bundle, tmp_path / "old")
    description = json.loads((old / "bundle.json").read_text())
    description["preprocessing"]["input_size"] = description["input_size"]
    (old / "bundle.json").write_text(json.dumps(description))
    assert load_bundle(old).input_size == 32
    shipped = json.loads((default_bundle_path() / "bundle.json").read_text())
    assert shipped["preprocessing"]["input_size"] == shipped["input_size"] == load_bundle(default_bundle_path()).input_size


def test_bundle_errors_name_the_problem(tiny_bundle, tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="bundle.json is missing"):
        load_bundle(tmp_path / "empty")

    damaged = shutil.copytree(tiny_bundle, tmp_path / "damaged")
    (damaged / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(BundleError, match="Cannot read the model"):
        load_bundle(damaged)

    mismatch = shutil.copytree(tiny_bundle, tmp_path / "mismatch")
    description = json.loads((mismatch / "bundle.json").read_text())
    description["classes"] = ["a", "b", "c"]
    (mismatch / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(BundleError, match="Class count mismatch.*outputs 5 classes.*lists 3"):
        load_bundle(mismatch)

    no_model = shutil.copytree(tiny_bundle, tmp_path / "no_model")
    (no_model / "model.keras").unlink()
    with pytest.raises(BundleError, match="model.keras is missing"):
        load_bundle(no_model)

    (tmp_path / "bad_json").mkdir()
    (tmp_path / "bad_json" / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="damaged"):
        load_bundle(tmp_path / "bad_json")


def test_weights_file_that_does_not_exist_says_what_to_pass(tmp_path, hand_crops, caplog):
    code = cli.main(["--data", str(hand_crops), "--out", str(tmp_path), "--runs", "model1", "--weights",
                     str(tmp_path / "vgg16.h5"), "--input-size", "32", "--epochs", "1"])
    assert code == 2
    assert "--weights none" in caplog.text


def test_tensorboard_without_the_package_says_how_to_install_it(tmp_path, hand_crops, caplog, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a))
    code = cli.main(["--data", str(hand_crops), "--out", str(tmp_path / "runs"), "--runs", "model1", "--weights", "none",
                     "--input-size", "32", "--epochs", "1", "--tensorboard"])
    assert code == 2
    assert "pip install tensorboard" in caplog.text
    assert not (tmp_path / "runs").exists()  # stopped before anything was written


def test_split_model_composes_to_the_full_model():
    from models import SCHEDULE
    from models.architectures import build_model, unfreeze_from
    from training.feature_cache import split_model

    model = build_model(SCHEDULE["model4"], 5, weights=None, input_size=32)
    unfreeze_from(model, "block5_conv1")
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
    for cut in (None, "block5_conv1"):
        frozen, head = split_model(model, cut)
        np.testing.assert_allclose(head(frozen(x)).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    frozen, head = split_model(model, "block5_conv1")
    assert frozen.layers[-1].name == "block4_pool"
    assert [w.name for w in head.trainable_weights][:2] == ["kernel", "bias"]
    assert len(head.trainable_weights) == len(model.trainable_weights)  # block 5 + top


def test_per_step_pipeline_trains_the_fine_tune_too(tmp_path, hand_crops):
    out = tmp_path / "runs"
    code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "model4,model4_ft", *QUICK, "--no-feature-cache"])
    assert code == 0
    assert not (out / "feature_cache").exists()
    for run in ("model4", "model4_ft"):
        assert (out / run / "metrics.json").is_file()
        assert json.loads((out / run / "config.json").read_text())["settings"]["feature_cache"] is False


def test_feature_cache_is_reused_by_runs_sharing_the_frozen_base(schedule_runs):
    folders = sorted(p.name.split("-")[0] for p in (schedule_runs / "feature_cache").iterdir())
    # model1 and model4 share one cache of the whole base; the fine-tune caches block4_pool.
    assert folders == ["block4_pool", "block5_pool"]


def test_mirrored_strategy_with_mixed_precision_trains(tmp_path, hand_crops):
    import keras

    out = tmp_path / "runs"
    try:
        code = cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "model4", *QUICK,
                         "--distribute", "mirrored", "--mixed-precision"])
    finally:
        keras.mixed_precision.set_global_policy("float32")  # global state: leave it as other tests expect
    assert code == 0
    bundle = load_bundle(out / "model4" / "bundle")
    assert bundle.model.get_layer("probabilities").dtype_policy.compute_dtype == "float32"
    assert any(layer.dtype_policy.name == "mixed_float16" for layer in bundle.model.layers)
    probs = bundle.predict_bgr(np.zeros((50, 50, 3), np.uint8))
    assert probs.dtype == np.float32 and probs.sum() == pytest.approx(1, abs=1e-3)
