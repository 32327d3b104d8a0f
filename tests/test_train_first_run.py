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


def test_runs_that_need_no_imagenet_weights_do_not_fetch_them(offline, tmp_path, hand_crops):
    out = tmp_path / "runs"
    # compact trains from scratch: the default --weights imagenet means nothing to download for it.
    assert cli.main(["--data", str(hand_crops), "--out", str(out), "--runs", "compact", *QUICK[2:]]) == 0


def test_a_run_folder_with_nothing_trained_is_not_an_unfinished_run(tmp_path):
    config = runner.TrainConfig(data=tmp_path, out=tmp_path)
    run_dir = tmp_path / "model1"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")  # what a run stopped before its first epoch leaves
    assert runner._prepare_run_dir(run_dir, config) == "fresh"
    (run_dir / "history.csv").write_text("epoch,loss\n0,1.6\n")
    with pytest.raises(runner.TrainingError, match="unfinished run"):
        runner._prepare_run_dir(run_dir, config)
