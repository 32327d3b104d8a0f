"""`gesture-train`'s command line: sub-commands, train as the default, --config, and the README's command lines."""

import dataclasses
import re
from pathlib import Path

import pytest

from training import cli
from training.runner import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def _documented_command_lines() -> list[str]:
    """Every `gesture-train ...` line of a fenced code block in the README and docs/."""
    lines = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "models").rglob("README.md"))]:
        for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.splitlines():
                line = line.split("#")[0].strip()
                if line.startswith("gesture-train"):
                    lines.append(line)
    return lines


DOCUMENTED = _documented_command_lines()


def test_the_docs_show_command_lines_to_check():
    assert any(line.split()[1].startswith("--") for line in DOCUMENTED)  # train, without naming it
    assert {"evaluate", "explain"} <= {line.split()[1] for line in DOCUMENTED}


@pytest.mark.parametrize("line", DOCUMENTED)
def test_every_documented_command_line_parses(line):
    args = cli.parse_args(line.split()[1:])
    assert args.command in cli.COMMANDS and callable(args.run)


def test_train_is_the_default_command():
    plain = cli.parse_args(["--data", "d", "--out", "o", "--runs", "compact", "-q"])
    named = cli.parse_args(["train", "--data", "d", "--out", "o", "--runs", "compact", "-q"])
    assert plain.command == named.command == "train"
    assert vars(plain) == vars(named)


def test_train_needs_data(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main([])
    assert caught.value.code == 2
    assert "required: --data (on the command line or in --config)" in capsys.readouterr().err
    assert cli.parse_args(["--data", "d"]).out == Path("runs")


def test_a_mistyped_command_is_not_taken_for_train(capsys):
    with pytest.raises(SystemExit):
        cli.main(["evalute", "--data", "d"])
    assert "invalid choice: 'evalute'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["robustness", "train", "evaluate", "export", "explain"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--help"])
    assert caught.value.code == 0
    assert f"gesture-train {command}" in capsys.readouterr().out


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in cli.COMMANDS) and "Without a command, gesture-train trains" in out


def test_every_train_setting_is_a_flag():
    """TrainConfig is built from the parsed flags by name, so each field needs a flag with that dest."""
    args = cli.parse_args(["--data", "d", "--out", "o"])
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    assert fields <= set(vars(args)), fields - set(vars(args))


def test_train_config_takes_every_flag(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('runs = "compact"\nclasses = ["cool", "fist"]\n')
    args = cli.parse_args(["--config", str(config), "--data", "d", "--out", "o", "--epochs", "3", "--no-feature-cache",
                           "--distribute", "mirrored", "--weights", "none", "--epoch-scale", "0.5"])
    train = cli.train_config(args)
    assert (train.runs, train.classes, train.epochs, train.feature_cache) == ("compact", ["cool", "fist"], 3, False)
    assert (train.distribute, train.weights, train.epoch_scale, train.config_file) == ("mirrored", None, 0.5, config)
    assert train.data == Path("d") and train.out == Path("o")


def test_bad_class_list_is_refused_with_the_capture_rules(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--data", "d", "--out", "o", "--classes", "cool,train"])
    assert "reserved" in capsys.readouterr().err


def test_evaluate_locate_scores_full_frames_as_the_app_sees_them(tmp_path, capsys):
    """A tiny folder of whole frames: the hand is found, cropped and classified; a frame with no hand is its own outcome."""
    import json
    import shutil

    import numpy as np
    from hands_helpers import HANDS_DATA, read_test_image

    from models import default_bundle_path, load_bundle
    from models.hands import HandLocaliser, hand_crop_bgr
    from training.cli import main

    data = tmp_path / "frames"
    for folder, name in (("stop", "hand_7d846766.jpg"), ("stop", "hand_fa5c360c.jpg"), ("cool", "no_hand_room.jpg")):
        (data / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(HANDS_DATA / name, data / folder / name)
    out = tmp_path / "scores.json"
    assert main(["evaluate", "--locate", "--data", str(data), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads(out.read_text())
    assert metrics["count"] == 3 and metrics["no_hand"] == 1 and metrics["located"] is True
    assert metrics["no_hand_per_class"] == {"cool": 1, "fist": 0, "ok": 0, "stop": 0, "yo": 0}
    assert "no hand" in printed and "no hand found in 1 of 3 photos" in printed
    # The two hands were classified on their padded squares (what the app's classifier sees), not the whole frame.
    bundle, localiser = load_bundle(default_bundle_path()), HandLocaliser(max_hands=2)
    expected = []
    for name in ("hand_7d846766.jpg", "hand_fa5c360c.jpg"):
        frame = read_test_image(name)
        hand = localiser.find(frame)[0]
        expected.append(bundle.classes[int(np.argmax(bundle.predict_bgr(hand_crop_bgr(frame, hand.crop_box_xyxy))))])
    matrix = np.array(metrics["confusion_matrix"])
    stop_row = matrix[bundle.classes.index("stop")]
    assert stop_row.sum() == 2 and all(stop_row[bundle.classes.index(label)] >= expected.count(label) for label in expected)
    assert metrics["accuracy"] == pytest.approx(expected.count("stop") / 3)
