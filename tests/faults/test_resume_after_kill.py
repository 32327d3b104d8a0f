"""Training killed with SIGKILL (no clean-up at all) resumes from its last checkpoint (held when #16 was filed)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from training import cli

from .conftest import REPO

EPOCHS = 60


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_training_killed_with_sigkill_resumes_where_it_stopped(hand_crops, tmp_path):
    out = tmp_path / "runs"
    args = ["--data", str(hand_crops), "--out", str(out), "--runs", "model4", "--weights", "none", "--input-size", "32",
            "--epochs", str(EPOCHS), "--steps-per-epoch", "2", "--batch-size", "4", "-q"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    state = out / "model4" / "checkpoint" / "state.json"
    training = subprocess.Popen([sys.executable, "-m", "training.cli", *args], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not state.exists() and training.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        training.send_signal(signal.SIGKILL)
        training.wait()
    assert training.returncode == -signal.SIGKILL, "training ended before it could be killed"
    done = json.loads(state.read_text())["epochs_done"]
    assert 1 <= done < EPOCHS and not (out / "model4" / "metrics.json").exists()

    assert cli.main(args) == 2  # an unfinished run is not silently restarted
    assert cli.main(args + ["--resume"]) == 0
    with (out / "model4" / "history.csv").open() as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == sorted(set(epochs)) and epochs[-1] == EPOCHS - 1  # no epoch trained twice, none past the end
    assert set(range(done, EPOCHS)) <= set(epochs)
    assert (out / "model4" / "metrics.json").is_file() and not (out / "model4" / "checkpoint").exists()
    assert not [p for p in (out / "model4").rglob(".tmp-*")]  # nothing the kill left behind
