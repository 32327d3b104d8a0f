"""Progress with the time left: a bar on a terminal, plain "... left" lines in logs, nothing under -q."""

import io
import logging

import numpy as np
import pytest

from training import cli, progress
from training.progress import Progress, format_duration


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def info_logging(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def test_durations_read_like_a_person_would_say_them():
    assert [format_duration(s) for s in (4.4, 200, 7500)] == ["4 s", "3 min 20 s", "2 h 05 min"]


def test_without_a_terminal_plain_lines_say_the_time_left(info_logging, monkeypatch):
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    with Progress(4, "scoring", stream=None) as p:
        for _ in range(3):
            p.update()
    lines = [r.getMessage() for r in info_logging.records if r.name == "training.progress"]
    assert lines[0].startswith("scoring: 1/4 images (25 %), ") and lines[0].endswith(" left")
    assert len(lines) == 3


def test_plain_lines_wait_for_long_work(info_logging):
    with Progress(4, "scoring") as p:
        p.update(3)
    assert not [r for r in info_logging.records if r.name == "training.progress"]  # under LINE_EVERY_S: silent


def test_a_terminal_gets_a_tqdm_bar(info_logging, monkeypatch):
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    terminal = FakeTerminal()
    with Progress(10, "feature cache", stream=terminal) as p:
        p.update(5)
    drawn = terminal.getvalue()
    assert "feature cache:   0%|" in drawn and "0/10 [00:00<" in drawn  # elapsed<left, tqdm's time left
    assert not [r for r in info_logging.records if r.name == "training.progress"]


def test_quiet_shows_neither(caplog, monkeypatch):
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    terminal = FakeTerminal()
    with Progress(10, "feature cache", stream=terminal) as p:
        p.update(5)
    with Progress(10, "scoring") as p:
        p.update(5)
    assert terminal.getvalue() == "" and not caplog.records


def test_skipped_work_leaves_the_total():
    p = Progress(100, "schedule", "step")
    p.update(10)
    p.discount(50)
    assert p.total == 50 and p.status().startswith("10/50 steps (20 %)")


def test_training_reports_cache_steps_and_schedule_time_left(tmp_path, hand_crops, info_logging, monkeypatch):
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    args = ["--data", str(hand_crops), "--out", str(tmp_path), "--runs", "model4", "--weights", "none", "--input-size", "32",
            "--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "4", "--cache-copies", "2"]
    assert cli.main(args) == 0
    messages = [r.getMessage() for r in info_logging.records]
    assert any(m.startswith("feature cache: ") and m.endswith(" left") for m in messages)
    assert any(m.startswith("model4 epoch 1/2: 1/3 steps (33 %), ") and m.endswith(" left") for m in messages)
    epoch_lines = [m for m in messages if m.startswith("model4 epoch 2/2: loss")]
    assert len(epoch_lines) == 1 and epoch_lines[0].endswith("; schedule 6/6 steps (100 %), 0 s left")
    assert any(m.startswith("scoring: ") for m in messages)


def test_evaluate_shows_progress_too(tiny_bundle, hand_crops, info_logging, monkeypatch):
    from models import load_bundle
    from training.evaluate import predict_probs

    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    assert cli.main(["evaluate", "--model", str(tiny_bundle), "--data", str(hand_crops)]) == 0
    assert any(r.getMessage().startswith("reading images: 1/30 images") for r in info_logging.records)
    info_logging.clear()
    bundle = load_bundle(tiny_bundle)
    predict_probs(bundle, np.zeros((12, 32, 32, 3), np.uint8), batch_size=4)
    lines = [r.getMessage() for r in info_logging.records if r.name == "training.progress"]
    assert lines[0].startswith("scoring: 4/12 images (33 %), ") and lines[0].endswith(" left")
