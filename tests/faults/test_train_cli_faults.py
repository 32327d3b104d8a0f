"""`gesture-train` meeting full disks, files where folders belong, unwritable paths and hostile flags
(#16, items 6 and 8): one line that says what to do, exit 1 or 2, a traceback only with -v."""

import csv
import errno
import json
import os
import subprocess
import sys

import keras
import pytest

from training import cli

from .conftest import REPO

QUICK = ["--weights", "none", "--input-size", "32", "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "4",
         "--runs", "model4", "-q"]


def _errors(caplog) -> list:
    return [record for record in caplog.records if record.levelname == "ERROR"]


def _one_line_without_traceback(caplog) -> str:
    errors = _errors(caplog)
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert not errors[0].exc_info  # the traceback only with -v
    message = errors[0].getMessage()
    assert "\n" not in message
    return message


def _gesture_train(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "training.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


# --- item 6: disk full, --out and --json --------------------------------------------------------------


def test_disk_full_while_saving_the_bundle_is_one_line_and_resume_recovers(hand_crops, tmp_path, monkeypatch, caplog):
    out = tmp_path / "runs"
    args = ["--data", str(hand_crops), "--out", str(out), *QUICK]
    save = keras.Model.save

    def save_on_a_full_disk(model, filepath, *a, **k):
        if ".tmp-bundle" in str(filepath):  # the bundle's staging folder; checkpoints still fit
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as Keras raises it: no file name
        return save(model, filepath, *a, **k)

    with monkeypatch.context() as patched:
        patched.setattr(keras.Model, "save", save_on_a_full_disk)
        assert cli.main(args) == 1  # before: OSError traceback
    message = _one_line_without_traceback(caplog)
    assert "No space left on device" in message and str(out) in message and "--resume" in message
    assert not list((out / "model4").glob(".tmp-*"))

    caplog.clear()
    assert cli.main(args + ["--resume"]) == 0
    assert (out / "model4" / "bundle" / "model.keras").is_file() and (out / "model4" / "metrics.json").is_file()
    with (out / "model4" / "history.csv").open() as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == [0, 1]  # not trained again


def test_out_pointing_at_a_file_is_one_line_before_the_dataset_is_read(hand_crops, tmp_path):
    existing = tmp_path / "runs.txt"
    existing.write_text("notes")
    result = _gesture_train("--data", str(hand_crops), "--out", str(existing), *QUICK)
    assert result.returncode == 2, result.stderr  # before: FileExistsError traceback, after reading the data
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(existing) in result.stderr and "--out" in result.stderr and "folder" in result.stderr
    assert existing.read_text() == "notes"


def test_out_inside_a_file_is_refused_too(hand_crops, tmp_path, caplog):
    (tmp_path / "file").write_text("")
    assert cli.main(["--data", str(hand_crops), "--out", str(tmp_path / "file" / "runs"), *QUICK]) == 2
    assert "--out" in _one_line_without_traceback(caplog)


def test_out_not_writable_is_one_line_before_the_dataset_is_read(hand_crops, tmp_path, as_normal_user, locked):
    parent = tmp_path / "read-only"
    parent.mkdir()
    locked(parent, 0o555)
    result = as_normal_user("-m", "training.cli", "--data", str(hand_crops), "--out", str(parent / "runs"), *QUICK)
    assert result.returncode == 2, result.stderr  # before: PermissionError traceback
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(parent) in result.stderr and "--out" in result.stderr


@pytest.mark.parametrize("command", ["evaluate", "robustness"])
def test_json_pointing_at_a_folder_is_refused_before_scoring(command, tiny_bundle, hand_crops, tmp_path, caplog,
                                                             capsys):
    code = cli.main([command, "--model", str(tiny_bundle), "--data", str(hand_crops), "--json", str(tmp_path)])
    assert code == 2  # before: IsADirectoryError traceback, after scoring every image
    message = _one_line_without_traceback(caplog)
    assert str(tmp_path) in message and "--json" in message and "file" in message
    assert "accuracy" not in capsys.readouterr().out + caplog.text


def test_json_not_writable_is_one_line_before_scoring(tiny_bundle, hand_crops, tmp_path, as_normal_user, locked):
    folder = tmp_path / "read-only"
    folder.mkdir()
    locked(folder, 0o555)
    result = as_normal_user("-m", "training.cli", "evaluate", "--model", str(tiny_bundle), "--data", str(hand_crops),
                            "--json", str(folder / "scores.json"))
    assert result.returncode == 2, result.stderr  # before: PermissionError traceback naming a temporary file
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(folder / "scores.json") in result.stderr and "accuracy" not in result.stdout


def test_disk_full_while_writing_json_names_it_and_shows_the_traceback_only_with_v(tiny_bundle, hand_crops, tmp_path,
                                                                                    monkeypatch, caplog):
    def full(path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("models.atomic_files.fsync_file", full)
    out = tmp_path / "scores.json"
    args = ["evaluate", "--model", str(tiny_bundle), "--data", str(hand_crops), "--json", str(out), "-q"]
    assert cli.main(args) == 1
    message = _one_line_without_traceback(caplog)
    assert str(out) in message and "No space left on device" in message
    assert not list(tmp_path.glob(".tmp-*"))

    caplog.clear()
    assert cli.main(args + ["-v"]) == 1
    assert any(record.exc_info for record in _errors(caplog))


# --- item 8: hostile flags ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_epoch_scale_must_be_a_finite_number_above_0(value, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.parse_args(["--data", "DATA", f"--epoch-scale={value}"])  # before: inf crashed in round()
    assert stopped.value.code == 2
    assert "--epoch-scale" in capsys.readouterr().err


def test_epoch_scale_inf_in_a_config_file_names_the_key(tmp_path, caplog):
    config = tmp_path / "train.toml"
    config.write_text('data = "DATA"\nepoch_scale = inf\n')
    assert cli.main(["--config", str(config)]) == 2
    assert "epoch_scale" in _one_line_without_traceback(caplog)


def test_input_size_below_32_is_refused_before_the_dataset_is_read(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--data", str(tmp_path / "not-read"), "--input-size", "16"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--input-size" in err and "32" in err  # before: refused only after reading the whole dataset


def test_input_size_below_32_in_a_config_file_names_the_key(tmp_path, caplog):
    config = tmp_path / "train.toml"
    config.write_text(f'data = "{tmp_path}"\ninput_size = 16\n')
    assert cli.main(["--config", str(config)]) == 2
    message = _one_line_without_traceback(caplog)
    assert "'input_size = 16'" in message and "at least 32" in message


def test_a_good_json_path_still_gets_its_scores(tiny_bundle, hand_crops, tmp_path):
    """The --json checks must not change what a good run writes."""
    out = tmp_path / "new" / "scores.json"
    assert cli.main(["evaluate", "--model", str(tiny_bundle), "--data", str(hand_crops), "--json", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["count"] == 30
