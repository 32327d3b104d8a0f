"""gesture-train --distribute multi-worker: two worker processes on 127.0.0.1, started as the README says."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import load_bundle
from training import cli
from training.devices import ClusterError, Distribution, read_tf_config

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--weights", "none", "--input-size", "32", "--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "8", "-q"]
WORKER_TIMEOUT_S = 300  # both workers are killed after this; a pair takes 15-20 s on 2 idle CPU cores


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _train_on_two_workers(tmp_path: Path, args: list[str], worker_args: list[str] | None = None,
                          name: str = "pair") -> list[str]:
    """Run `gesture-train ARGS` as workers 0 and 1 of one cluster (worker 1 with `worker_args` if given).

    Returns their outputs; fails, showing them, unless both exit 0 in time. Each worker gets its
    own TMPDIR under tmp_path, so the test can see what it left behind.
    """
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, logs = [], []
    for index in range(2):
        tmpdir = tmp_path / f"{name}-tmp{index}"
        tmpdir.mkdir()
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "TMPDIR": str(tmpdir),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        log = (tmp_path / f"{name}-worker{index}.log").open("w+")
        logs.append(log)
        own_args = worker_args if index and worker_args else args
        processes.append(subprocess.Popen([sys.executable, "-m", "training.cli", *own_args, "--distribute", "multi-worker"],
                                          cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        codes = [process.wait(timeout=WORKER_TIMEOUT_S) for process in processes]
    except subprocess.TimeoutExpired:
        codes = None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    shown = "\n".join(f"--- worker {i} ---\n{text[-4000:]}" for i, text in enumerate(outputs))
    assert codes is not None, f"the workers did not finish in {WORKER_TIMEOUT_S} s\n{shown}"
    assert codes == [0, 0], f"exit codes {codes}\n{shown}"
    for index in range(2):
        assert not any((tmp_path / f"{name}-tmp{index}").iterdir()), f"worker {index} left temporary files"
    return outputs


@pytest.mark.slow
def test_two_workers_train_what_one_machine_trains(tmp_path, hand_crops):
    shared = tmp_path / "runs"  # one --out for both, as on a shared folder
    # model4 on the feature cache; the next test trains compact, per step.
    _train_on_two_workers(tmp_path, ["--data", str(hand_crops), "--out", str(shared), "--runs", "model4", *QUICK])
    # Only the chief wrote, once: no worker's checkpoint, history or temporary file is left.
    assert {p.name for p in (shared / "model4").iterdir()} == {
        "bundle", "config.json", "history.csv", "curves.png", "confusion_matrix.png", "metrics.json", "explain.png"}
    with (shared / "model4" / "history.csv").open() as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == [0, 1]
    assert (shared / "summary.md").is_file() and (shared / "feature_cache").is_dir()

    # The bundle loads and scores the same on the test split as its metrics.json says.
    from training.evaluate import evaluate_bundle

    scored = evaluate_bundle(load_bundle(shared / "model4" / "bundle"), hand_crops, split="test")
    recorded = json.loads((shared / "model4" / "metrics.json").read_text())["test"]
    assert scored["confusion_matrix"] == recorded["confusion_matrix"]

    # Each step's batch of 8 is split between the workers and their gradients averaged: the model is the one
    # a single machine trains with the same global batch (model4 has no dropout, so it is deterministic).
    one = tmp_path / "one"
    assert cli.main(["--data", str(hand_crops), "--out", str(one), "--runs", "model4", *QUICK,
                     "--distribute", "mirrored"]) == 0
    two_workers, one_machine = load_bundle(shared / "model4" / "bundle").model, load_bundle(one / "model4" / "bundle").model
    for a, b in zip(two_workers.weights, one_machine.weights, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, err_msg=a.path)


@pytest.mark.slow
def test_two_workers_continue_an_interrupted_run_from_the_chiefs_checkpoint(tmp_path, hand_crops,
                                                                           interrupt_after_first_epoch):
    out = tmp_path / "runs"
    args = ["--data", str(hand_crops), "--out", str(out), "--runs", "compact", *QUICK[:-1]]  # not -q: the log is read
    args[args.index("--epochs") + 1] = "3"
    assert cli.main(args) == 130  # one machine, interrupted after its first epoch
    assert json.loads((out / "compact" / "checkpoint" / "state.json").read_text()) == {"epochs_done": 1}

    # Worker 1 gets its own --out: it has no checkpoint, and takes the chief's weights and optimizer state.
    chief_args = args + ["--resume"]
    worker_args = [str(tmp_path / "elsewhere") if a == str(out) else a for a in chief_args]
    assert worker_args != chief_args
    outputs = _train_on_two_workers(tmp_path, chief_args, worker_args)
    for text in outputs:
        assert "compact: resuming after epoch 1 of 3 (optimizer step 3)" in text
    with (out / "compact" / "history.csv").open() as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == [0, 1, 2]
    assert (out / "compact" / "metrics.json").is_file() and not (out / "compact" / "checkpoint").exists()
    assert not (tmp_path / "elsewhere").exists()  # a worker that is not the chief writes nothing into --out


TWO = {"worker": ["host1:23456", "host2:23456"]}


@pytest.mark.parametrize("text, expected", [
    (None, "TF_CONFIG, which is not set"),
    ("{bad", "TF_CONFIG is not valid JSON"),
    (json.dumps({"cluster": TWO}), 'needs a "cluster" and a "task"'),
    (json.dumps({"cluster": TWO, "task": {"type": "worker", "index": 2}}), '"index" this machine\'s place in that list, 0 to 1'),
    (json.dumps({"cluster": TWO, "task": {"type": "ps", "index": 0}}), '"type" must be "worker"'),
    (json.dumps({"cluster": {**TWO, "ps": ["host3:1"]}, "task": {"type": "worker", "index": 0}}), "has ps tasks"),
])
def test_a_tf_config_that_cannot_be_used_says_what_to_set(text, expected):
    with pytest.raises(ClusterError) as info:
        read_tf_config(text)
    assert expected in str(info.value)
    assert 'TF_CONFIG=\'{"cluster": {"worker": ["host1:23456", "host2:23456"]}' in str(info.value)


def test_tf_config_roles_follow_tensorflow_chief_first():
    second = read_tf_config(json.dumps({"cluster": TWO, "task": {"type": "worker", "index": 1}}))
    assert (second.index, second.count, second.is_chief) == (1, 2, False)
    assert read_tf_config(json.dumps({"cluster": TWO, "task": {"type": "worker", "index": 0}})).is_chief
    with_chief = {"chief": ["host0:1"], **TWO}
    assert read_tf_config(json.dumps({"cluster": with_chief, "task": {"type": "chief", "index": 0}})).is_chief
    worker = read_tf_config(json.dumps({"cluster": with_chief, "task": {"type": "worker", "index": 0}}))
    assert (worker.index, worker.count, worker.is_chief) == (1, 3, False)


def test_multi_worker_without_tf_config_stops_with_one_line(tmp_path, hand_crops, monkeypatch, caplog):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = cli.main(["--data", str(hand_crops), "--out", str(tmp_path / "runs"), "--runs", "compact", *QUICK[:-1],
                     "--distribute", "multi-worker"])
    assert code == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "TF_CONFIG, which is not set. Set it on every machine" in errors[0]
    assert not (tmp_path / "runs").exists()


def test_workers_shard_their_input_by_data():
    import tensorflow as tf

    ds = tf.data.Dataset.range(8).batch(4)
    policy = Distribution("mirrored", tf.distribute.MirroredStrategy()).shard(ds).options().experimental_distribute
    assert policy.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
    assert Distribution().shard(ds) is ds
