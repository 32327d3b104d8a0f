"""Training from the capture window without Qt: the command lines, the test scores, export, bundle names and
the recent-bundles list (core/training_job.py, core/bundles.py)."""

import json
import logging
from pathlib import Path

import pytest

from gesture_app.core import training_job
from gesture_app.core.bundles import RecentBundles, bundle_title, config_dir, title_of
from gesture_app.core.training_job import (
    CNN_MIN_PER_CLASS,
    ClassScore,
    TrainingJob,
    cnn_offered,
    cnn_steps,
    export_bundle,
    landmark_steps,
    read_test_scores,
    trainable_classes,
    why_not_trainable,
)
from models.bundle import default_bundle_path


def fake_bundle(folder: Path, run="landmarks", data="/data/my-gestures", created="2026-11-30T15:04:00+00:00",
                classes=("cool", "fist", "ok"), heads=None) -> Path:
    folder.mkdir(parents=True)
    description = {"format": "gesture-bundle", "format_version": 2, "classes": list(classes),
                   "heads": heads or {"landmarks": {"model_file": "landmarks.keras"}},
                   "provenance": {"run": run, "created": created, "dataset": {"root": data}}}
    (folder / "bundle.json").write_text(json.dumps(description))
    (folder / "landmarks.keras").write_bytes(b"weights")
    return folder


# --- what the Train button runs ----------------------------------------------------------------------


def test_train_runs_the_landmarks_run_of_gesture_train(tmp_path):
    data = tmp_path / "my gestures"
    [step] = landmark_steps(data, ["cool", "ok"])
    assert step.args == ("--data", str(data), "--out", str(data / ".runs"), "--runs", "landmarks", "--classes", "cool,ok",
                         "--overwrite")
    assert step.command_line() == (f'gesture-train --data "{data}" --out "{data / ".runs"}" --runs landmarks '
                                   "--classes cool,ok --overwrite")
    assert step.bundle == "landmarks/bundle" and step.run == "landmarks"


def test_the_cnn_job_trains_compact_then_the_landmark_head_then_combines(tmp_path):
    steps = cnn_steps(tmp_path, ["a", "b"])
    assert [s.args[s.args.index("--runs") + 1] if "--runs" in s.args else s.args[0] for s in steps] == [
        "compact", "landmarks", "combine"]
    assert "--overwrite" in steps[0].args and "--weights" in steps[0].args
    assert "--resume" in cnn_steps(tmp_path, ["a", "b"], resume=True)[0].args
    assert steps[-1].bundle == training_job.COMBINED


def test_train_needs_two_classes_that_can_be_split_and_the_cnn_needs_300_each():
    assert why_not_trainable({"a": 30, "b": 2}) is not None  # b cannot be split into train/val/test
    assert why_not_trainable({"a": 3, "b": 3}) is None
    assert trainable_classes({"a": 30, "b": 2, "c": 5}) == ["a", "c"]
    assert not cnn_offered({"a": 30, "b": 400})
    assert cnn_offered({"a": CNN_MIN_PER_CLASS, "b": 400, "empty": 0})  # a class not trained does not hold it back


def test_per_class_accuracy_is_the_test_recall_with_a_missed_hand_counted_wrong():
    metrics = {"test": {"accuracy": 0.75, "count": 8, "no_hand": 1,
                        "per_class": {"a": {"recall": 1.0, "support": 4}, "b": {"recall": 0.5, "support": 4}}}}
    accuracy, count, per_class, no_hand = read_test_scores(metrics, ["a", "b", "c"])
    assert (accuracy, count, no_hand) == (0.75, 8, 1)
    assert per_class == {"a": ClassScore(4, 4), "b": ClassScore(2, 4), "c": ClassScore(0, 0)}
    assert per_class["b"].accuracy == 0.5 and per_class["c"].accuracy is None


def test_export_copies_the_bundle_whole_and_never_over_another(tmp_path):
    bundle = fake_bundle(tmp_path / "runs" / "bundles" / "landmarks-20261130-150400")
    first = export_bundle(bundle, tmp_path / "exports")
    second = export_bundle(bundle, tmp_path / "exports")
    assert first == tmp_path / "exports" / bundle.name and second.name == bundle.name + "-2"
    assert sorted(p.name for p in first.iterdir()) == ["bundle.json", "landmarks.keras"]
    assert (first / "landmarks.keras").read_bytes() == b"weights"
    with pytest.raises(FileExistsError, match="itself a model bundle"):
        export_bundle(bundle, first)  # picked the bundle instead of the folder to put it in
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "exports").iterdir())


def test_open_in_app_starts_gesture_app_on_the_bundle(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(training_job.subprocess, "Popen", lambda argv, **kw: started.append((argv, kw)) or "process")
    assert training_job.open_in_app(tmp_path / "b", "demo", python="py") == "process"
    [(argv, options)] = started
    assert argv == ["py", "-m", "gesture_app.cli", "--model", str(tmp_path / "b"), "--source", "demo"]
    assert options.get("start_new_session") or options.get("creationflags")  # outlives the capture window


def test_a_job_that_fails_says_why_in_one_line(tmp_path):
    # A class with no folder: gesture-train stops with its one-line error, which the window shows.
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    job = TrainingJob(landmark_steps(data, ["a", "b"]), training_job.runs_dir(data))
    job.start()
    status = job.wait(timeout=120)
    assert status.state == "failed" and job.result is None
    assert status.message == f"{data} has no folder for class(es) b; found a."
    assert status.describe().startswith("Landmark head failed: ")
    assert (training_job.runs_dir(data) / "train.log").read_text().startswith("$ gesture-train --data")


# --- names and the recent-bundles list --------------------------------------------------------------


def test_a_bundle_is_named_by_its_run_data_and_date_not_its_folder(tmp_path):
    bundle = fake_bundle(tmp_path / "bundle")
    title = title_of(bundle)
    assert title.startswith("landmarks · my-gestures · ") and "2026" in title and "bundle" not in title
    both = {"cnn": {"model_file": "model.keras"}, "landmarks": {"model_file": "l.keras", "provenance": {"run": "landmarks"}}}
    assert bundle_title({"heads": both, "provenance": {"run": "compact"}}, tmp_path / "bundle") == "compact + landmarks"
    assert bundle_title({}, tmp_path / "bundle") == "bundle"  # nothing recorded: the folder is all there is
    assert title_of(tmp_path / "nothing-here") == "nothing-here"
    default = default_bundle_path()
    if default is not None:
        assert title_of(default).startswith("default model (")


def test_recent_bundles_newest_first_without_duplicates_or_vanished_folders(tmp_path, user_config_dir):
    recent = RecentBundles(limit=3)
    assert recent.file == config_dir() / "recent.json" and config_dir() == user_config_dir
    bundles = [fake_bundle(tmp_path / f"b{i}", run=f"run{i}") for i in range(4)]
    for bundle in bundles:
        recent.add(bundle)
    recent.add(bundles[1])  # opened again: to the top, once
    assert [e.title.split(" · ")[0] for e in recent.entries()] == ["run1", "run3", "run2"]
    assert recent.entries()[0].classes == ("cool", "fist", "ok")
    (bundles[3] / "bundle.json").unlink()  # deleted by hand: no longer offered
    assert [e.path for e in recent.entries()] == [bundles[1].resolve(), bundles[2].resolve()]
    assert recent.add(tmp_path / "not-a-bundle") is None


def test_a_damaged_recent_list_starts_afresh(user_config_dir, tmp_path, caplog):
    (user_config_dir / "recent.json").write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert RecentBundles().entries() == []
    assert "damaged" in caplog.text
    RecentBundles().add(fake_bundle(tmp_path / "b"))
    assert len(RecentBundles().entries()) == 1


def test_the_open_model_dialog_lists_recent_bundles_by_title(qtbot, tmp_path):
    from gesture_app.qt.open_model_dialog import OpenModelDialog

    recent = RecentBundles()
    recent.add(fake_bundle(tmp_path / "old" / "bundle", run="compact", created="2026-11-01T09:00:00+00:00"))
    recent.add(fake_bundle(tmp_path / "new" / "bundle"))
    dialog = OpenModelDialog(recent.entries())
    qtbot.addWidget(dialog)
    titles = dialog.titles()
    offset = 1 if default_bundle_path() is not None else 0
    assert titles[offset].startswith("landmarks · my-gestures") and titles[offset + 1].startswith("compact · my-gestures")
    assert not any(title == "bundle" for title in titles)
    assert dialog.list.currentRow() == offset  # the newest recent bundle is preselected
    dialog.choose(offset + 1)
    assert dialog.chosen_path == (tmp_path / "old" / "bundle").resolve()


def test_class_counts_show_the_first_target_then_550_and_weak_classes_stand_out(qtbot):
    from gesture_app.qt.capture_widgets import ClassTable

    table = ClassTable(550, first_target=30)
    qtbot.addWidget(table)
    for name, count in (("a", 12), ("b", 40), ("c", 600)):
        table.add(name, count)
    assert [table.rows[n].progress.text() for n in "abc"] == ["12 / 30", "40 / 550", "600 / 550"]
    assert table.rows["a"].progress.maximum() == 30 and table.rows["b"].progress.maximum() == 550
    table.show_accuracy("a", 1, 4)   # weak
    table.show_accuracy("b", 8, 10)  # so-so
    table.show_accuracy("c", 10, 10)
    assert table.rows["a"].accuracy.text() == "25% 1/4" and "#c03030" in table.rows["a"].accuracy.styleSheet()
    assert "#f0c040" in table.rows["b"].accuracy.styleSheet() and "record more" in table.rows["b"].accuracy.toolTip()
    assert table.rows["c"].accuracy.styleSheet() == "" and table.rows["c"].accuracy.text() == "100% 10/10"
    table.clear_accuracy()
    assert table.rows["a"].accuracy.text() == ""


def test_a_combined_bundle_is_scored_by_its_fusion_per_class():
    description = {"classes": ["a", "b"], "fusion": {"test_metrics": {"accuracy": 0.75, "count": 8,
                                                                      "confusion_matrix": [[4, 0], [2, 2]]}}}
    cnn_test = {"accuracy": 0.5, "per_class": {"a": {"recall": 0.5, "support": 4}, "b": {"recall": 0.5, "support": 4}}}
    accuracy, count, per_class, _ = read_test_scores({"test": training_job._fused_test_metrics(description, cnn_test)},
                                                     ["a", "b"])
    assert accuracy == 0.75 and count == 8
    assert per_class == {"a": ClassScore(4, 4), "b": ClassScore(2, 4)}
