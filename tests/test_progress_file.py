"""gesture-train --progress-file: the JSON another program polls (models/progress_file.py)."""

import json
import logging

from models.progress_file import DONE, FAILED, INTERRUPTED, RUNNING, STARTING, ProgressState, read_progress
from training import cli, progress
from training.progress import Progress, report_progress_to


def test_the_file_shows_the_outermost_work_under_way(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(progress, "WRITE_EVERY_S", 0.0)
    file = tmp_path / "progress.json"
    reporter = report_progress_to(file)
    try:
        assert read_progress(file).stage == STARTING
        with Progress(10, "schedule", "step") as schedule:
            with Progress(5, "landmarks epoch 1/2", "step") as epoch:
                epoch.update(3)
                schedule.update(3)
                state = read_progress(file)
                assert (state.stage, state.done, state.total, state.unit, state.state) == ("schedule", 3, 10, "step", RUNNING)
                assert state.fraction == 0.3 and state.seconds_left is not None
            logging.getLogger("training.runner").info("landmarks epoch 1/2: loss 0.5")
            assert read_progress(file).message == "landmarks epoch 1/2: loss 0.5"
    finally:
        reporter.finish(0)
    state = read_progress(file)
    assert state.state == DONE and state.finished and state.exit_code == 0
    assert progress._reporter is None


def test_a_failed_command_leaves_its_error_line(tmp_path):
    file = tmp_path / "p.json"
    code = cli.main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "runs"), "--runs", "compact",
                     "--weights", "none", "--progress-file", str(file)])
    state = read_progress(file)
    assert code == 2 and state.state == FAILED and state.exit_code == 2
    assert "missing" in state.message


def test_an_interrupted_command_says_so(tmp_path, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    file = tmp_path / "p.json"
    monkeypatch.setattr(cli, "_run_train", interrupted)
    parser_defaults = cli.parse_args(["--data", "d"])  # the run function is bound at parse time
    monkeypatch.setattr(cli, "parse_args", lambda argv: parser_defaults.__class__(**{**vars(parser_defaults), "run": interrupted,
                                                                                      "progress_file": file}))
    assert cli.main([]) == 130
    assert read_progress(file).state == INTERRUPTED


def test_unknown_or_damaged_files_read_as_nothing(tmp_path):
    assert read_progress(tmp_path / "none.json") is None
    (tmp_path / "bad.json").write_text("{half")
    assert read_progress(tmp_path / "bad.json") is None
    (tmp_path / "new.json").write_text(json.dumps({"state": "running", "stage": "x", "added_later": 1}))
    assert read_progress(tmp_path / "new.json") == ProgressState(stage="x")
