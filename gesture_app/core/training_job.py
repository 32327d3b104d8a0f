"""Training from the capture window, without Qt: gesture-train in a subprocess, its progress, its result.

The window adds nothing the command line cannot do: each job is `gesture-train` command lines, run
one after another in a child process (`python -m training.cli ...`; the app never imports the
training package), each writing `--progress-file`, which `TrainingJob.poll` reads. The window
calls `poll` on a timer, as it polls for frames.

    job = TrainingJob(landmark_steps(data, classes), runs_dir(data))
    job.start()
    status = job.poll()          # every few hundred ms: step i of n, stage, fraction, time left
    job.cancel()                 # SIGTERM: gesture-train stops like Ctrl+C (no half bundle is ever written)
    result = job.result          # when done: the bundle (a copy under RUNS/bundles/) and its test figures

Runs go to DATA/.runs (hidden, so gesture-train does not take it for a class folder). Every
finished bundle is copied to DATA/.runs/bundles/<run>-<time>/ because the next training replaces
RUNS/<run>/: the copy is what Try it runs, Export copies and the recent-bundles list names.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from models.atomic_files import atomic_directory
from models.bundle import BundleError, read_description
from models.dataset_rules import MANIFEST_NAME, MIN_IMAGES_PER_CLASS
from models.progress_file import DONE, FAILED, INTERRUPTED, RUNNING, ProgressState, read_progress

logger = logging.getLogger(__name__)

RUNS_DIR_NAME = ".runs"
BUNDLES_DIR_NAME = "bundles"
SNAPSHOT_DIR_NAME = "snapshot"
PROGRESS_FILE = "progress.json"
LOG_FILE = "train.log"
LANDMARK_RUN = "landmarks"
CNN_RUN = "compact"  # the schedule's CPU-friendly CNN, trained from scratch
COMBINED = "compact+landmarks"
# A first target that makes sense for the landmark head: it trains on 21 points, not pixels, and
# every step draws freshly augmented hands, so some 30 photos a class already teach it a gesture.
FIRST_TARGET = 30
# Below this the compact CNN (trained from scratch on pixels) learns little; the window offers it from here.
CNN_MIN_PER_CLASS = 300
KEEP_BUNDLES = 8  # copies kept under RUNS/bundles (each training adds one; exported copies live elsewhere)
CANCEL_GRACE_S = 8.0  # after SIGTERM, then the process is killed
CANCELLED = "cancelled"


def runs_dir(data: str | Path) -> Path:
    return Path(data) / RUNS_DIR_NAME


def trainable_classes(counts: dict[str, int]) -> list[str]:
    """The classes with enough images to split into train/val/test (gesture-train refuses fewer)."""
    return [name for name, count in counts.items() if count >= MIN_IMAGES_PER_CLASS]


def why_not_trainable(counts: dict[str, int]) -> str | None:
    """Why Train cannot run on these counts yet, or None when it can."""
    ready = trainable_classes(counts)
    if len(ready) < 2:
        return (f"Record at least {MIN_IMAGES_PER_CLASS} images in each of two classes first "
                f"(about {FIRST_TARGET} a class for a useful landmark head).")
    return None


def cnn_offered(counts: dict[str, int]) -> bool:
    """Whether "also train the CNN" makes sense: every class being trained has CNN_MIN_PER_CLASS images."""
    ready = trainable_classes(counts)
    return len(ready) >= 2 and all(counts[name] >= CNN_MIN_PER_CLASS for name in ready)


@dataclass(frozen=True)
class TrainStep:
    """One gesture-train command line (without the program), and what it makes."""

    args: tuple[str, ...]
    title: str                 # what the window calls this step
    bundle: str | None = None  # the bundle folder it writes, relative to the runs folder
    run: str | None = None     # the run whose metrics.json holds its test figures

    def command_line(self) -> str:
        """As a user would type it."""
        return " ".join(["gesture-train", *(_quote(a) for a in self.args)])


def _quote(text: str) -> str:
    return f'"{text}"' if any(c in text for c in " \t'\"") else text


def landmark_steps(data: str | Path, classes: list[str], runs: str | Path | None = None, extra: tuple[str, ...] = ()) -> list[TrainStep]:
    """The Train button: `gesture-train --data DATA --out DATA/.runs --runs landmarks --overwrite` on the given classes."""
    runs = Path(runs) if runs is not None else runs_dir(data)
    args = ("--data", str(data), "--out", str(runs), "--runs", LANDMARK_RUN, "--classes", ",".join(classes),
            "--overwrite", *extra)
    return [TrainStep(args, "landmark head", f"{LANDMARK_RUN}/bundle", LANDMARK_RUN)]


def cnn_steps(data: str | Path, classes: list[str], runs: str | Path | None = None, *, resume: bool = False,
              extra: tuple[str, ...] = ()) -> list[TrainStep]:
    """"Also train the CNN": the compact run (resumed when asked), the landmark head on the same images, and
    `gesture-train combine` into one bundle with both heads (fused as in the app)."""
    runs = Path(runs) if runs is not None else runs_dir(data)
    cnn = ("--data", str(data), "--out", str(runs), "--runs", CNN_RUN, "--weights", "none", "--classes", ",".join(classes),
           "--resume" if resume else "--overwrite", *extra)
    return [
        TrainStep(cnn, "CNN (compact)", f"{CNN_RUN}/bundle", CNN_RUN),
        *landmark_steps(data, classes, runs),
        TrainStep(("combine", "--cnn", str(runs / CNN_RUN / "bundle"), "--landmarks", str(runs / LANDMARK_RUN / "bundle"),
                   "--out", str(runs / COMBINED), "--data", str(data)), "combining the heads", COMBINED, CNN_RUN),
    ]


def snapshot_dataset(data: str | Path, classes: list[str], runs: str | Path) -> Path:
    """The CNN job's own copy of the images recorded so far: RUNS/snapshot/<data's name>/<class>/.

    The job is three commands over minutes to an hour, and the user keeps recording meanwhile; the
    CNN, the landmark head and their combination must all see the same images (combine checks that
    their splits match). Files are hard links where the disk allows (no space used), copies elsewhere;
    the manifest comes along so landmarks recorded with the images are used.
    """
    data = Path(data)
    target = Path(runs) / SNAPSHOT_DIR_NAME / data.name
    if target.exists():
        shutil.rmtree(target)
    for name in classes:
        (target / name).mkdir(parents=True)
        for image in sorted((data / name).iterdir()):
            if image.is_file() and not image.name.startswith("."):
                try:
                    os.link(image, target / name / image.name)
                except OSError:
                    shutil.copy2(image, target / name / image.name)
    manifest = data / MANIFEST_NAME
    if manifest.is_file():
        shutil.copy2(manifest, target / MANIFEST_NAME)
    return target


def cnn_snapshot(runs: str | Path) -> Path | None:
    """The snapshot an interrupted CNN job trained on (to resume on the same images), or None."""
    folder = Path(runs) / SNAPSHOT_DIR_NAME
    found = [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    return found[0] if len(found) == 1 else None


def unfinished_cnn_run(runs: str | Path) -> bool:
    """An interrupted compact run that --resume would continue."""
    run = Path(runs) / CNN_RUN
    return (run / "checkpoint").exists() and not (run / "metrics.json").is_file()


@dataclass(frozen=True)
class ClassScore:
    correct: int
    count: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.count if self.count else None


@dataclass(frozen=True)
class TrainedBundle:
    """A finished job's bundle and how it did on the held-out test split of what was recorded."""

    path: Path
    accuracy: float | None
    test_images: int
    per_class: dict[str, ClassScore]  # from the run's metrics.json (its test split: images never trained on)
    no_hand: int = 0                  # test images where no hand was found (counted wrong)
    seconds: float = 0.0              # from Train to the bundle, as the window measured it


def read_test_scores(metrics: dict, classes) -> tuple[float | None, int, dict[str, ClassScore], int]:
    """(accuracy, test images, {class: right of count}, no-hand images) from a run's metrics.json.

    A class's accuracy is its recall on the test split (a photo where no hand was found counts wrong).
    """
    test = metrics.get("test") or {}
    per_class = {}
    for name in classes:
        entry = (test.get("per_class") or {}).get(name) or {}
        support = int(entry.get("support") or 0)
        per_class[name] = ClassScore(int(round(float(entry.get("recall") or 0.0) * support)), support)
    no_hand = test.get("no_hand", 0)
    no_hand = no_hand.get("count", 0) if isinstance(no_hand, dict) else int(no_hand or 0)
    return test.get("accuracy"), int(test.get("count") or sum(s.count for s in per_class.values())), per_class, no_hand


def _fused_test_metrics(description: dict, cnn_test: dict) -> dict:
    """The fusion's test figures from a combined bundle's bundle.json, per class from its confusion matrix
    (rows = true class) over the CNN run's per-class test counts (the same split: combine checks it)."""
    fusion = (description.get("fusion") or {}).get("test_metrics") or {}
    matrix = fusion.get("confusion_matrix") or []
    per_class = {}
    for index, name in enumerate(description.get("classes", [])):
        support = ((cnn_test.get("per_class") or {}).get(name) or {}).get("support") or 0
        correct = matrix[index][index] if index < len(matrix) else 0
        per_class[name] = {"recall": correct / support if support else 0.0, "support": support}
    return {**cnn_test, **fusion, "per_class": per_class}


@dataclass(frozen=True)
class JobStatus:
    state: str                 # running, done, failed, cancelled
    step: int                  # 0-based index of the step under way (or the last one)
    steps: int
    title: str                 # the step's title
    progress: ProgressState | None
    message: str = ""          # for the user: the error line when failed

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    def describe(self) -> str:
        """'CNN (compact) (1 of 3): training 430/1,720 steps' and the like (the bar shows the time left)."""
        where = f"{self.title[0].upper()}{self.title[1:]}" + (f" ({self.step + 1} of {self.steps})" if self.steps > 1 else "")
        if self.state == DONE:
            return "Trained."
        if self.state == CANCELLED:
            return "Cancelled; nothing was changed."
        if self.state == FAILED:
            return f"{where} failed: {self.message}"
        progress = self.progress
        if progress is None or progress.stage == "starting":
            return f"{where}: starting (loading TensorFlow)…"
        if progress.total:
            stage = "training" if progress.stage == "schedule" else progress.stage
            return f"{where}: {stage} {progress.done:,}/{progress.total:,} {progress.unit}s"  # the bar shows the time left
        return f"{where}: {progress.message}" if progress.message else f"{where}…"


def format_left(seconds: float) -> str:
    """'12 s left', '3 min 05 s left'."""
    seconds = max(0, int(round(seconds)))
    return (f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s") + " left"


class TrainingJob:
    """Runs `steps` (gesture-train command lines) one after another in child processes."""

    def __init__(self, steps: list[TrainStep], runs: str | Path, *, python: str = sys.executable,
                 env: dict | None = None, clock=time.monotonic):
        if not steps:
            raise ValueError("a training job needs at least one step")
        self.steps = list(steps)
        self.runs = Path(runs)
        self.python = python
        self.env = env
        self._clock = clock
        self.progress_file = self.runs / PROGRESS_FILE
        self.log_file = self.runs / LOG_FILE
        self.step = 0
        self.state = "idle"
        self.message = ""
        self.result: TrainedBundle | None = None
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self._cancel_at: float | None = None
        self._log = None

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> None:
        self.runs.mkdir(parents=True, exist_ok=True)
        self.started_at = self._clock()
        self.state = RUNNING
        self._log = open(self.log_file, "w", encoding="utf-8")
        self._start_step()

    def _start_step(self) -> None:
        step = self.steps[self.step]
        try:
            self.progress_file.unlink()
        except FileNotFoundError:
            pass
        argv = [self.python, "-m", "training.cli", *step.args, "--progress-file", str(self.progress_file)]
        self._log.write(f"$ {step.command_line()}\n")
        self._log.flush()
        logger.info("training: %s", step.command_line())
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, **_new_process_group())

    def poll(self) -> JobStatus:
        """Where the job stands; moves on to the next step when one has finished."""
        if self.state == RUNNING and self.process is not None:
            code = self.process.poll()
            if code is None and self._cancel_at is not None and self._clock() >= self._cancel_at:
                logger.warning("gesture-train did not stop within %.0f s of the cancel; killing it", CANCEL_GRACE_S)
                self.process.kill()
                code = self.process.wait()
            if code is not None:
                self._step_ended(code)
        return self.status()

    def status(self) -> JobStatus:
        progress = read_progress(self.progress_file) if self.state in (RUNNING, FAILED) else None
        step = self.steps[min(self.step, len(self.steps) - 1)]
        return JobStatus(self.state, min(self.step, len(self.steps) - 1), len(self.steps), step.title, progress, self.message)

    def _step_ended(self, code: int) -> None:
        if self._cancel_at is not None:
            self._finish(CANCELLED, "")
            return
        if code != 0:
            progress = read_progress(self.progress_file)
            message = progress.message if progress is not None and progress.message else self._log_tail()
            self._finish(FAILED, message.removeprefix("error: ") or f"gesture-train exited with status {code}")
            return
        if self.step + 1 < len(self.steps):
            self.step += 1
            self._start_step()
            return
        try:
            self.result = self._publish(self.steps[-1])
        except (OSError, BundleError, ValueError, KeyError) as exc:
            self._finish(FAILED, f"the trained bundle could not be kept ({exc})")
            return
        self._finish(DONE, "")

    def _finish(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        self.process = None
        if self._log is not None:
            self._log.write(f"# {state}{': ' + message if message else ''}\n")
            self._log.close()
            self._log = None

    def _log_tail(self) -> str:
        try:
            self._log.flush()
            lines = [line.strip() for line in self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError:
            return ""
        errors = [line for line in lines if line.startswith("error:")]
        return errors[-1] if errors else next((line for line in reversed(lines) if line), "")

    def cancel(self) -> None:
        """Ask gesture-train to stop (SIGTERM: it stops as on Ctrl+C); killed if it has not within CANCEL_GRACE_S."""
        if self.state != RUNNING or self.process is None or self._cancel_at is not None:
            return
        self._cancel_at = self._clock() + CANCEL_GRACE_S
        try:
            self.process.terminate()
        except OSError:  # it has just ended
            pass

    def wait(self, timeout: float = 60.0, interval: float = 0.1) -> JobStatus:
        """Poll until the job has finished (headless use and tests); the window polls on its timer instead."""
        deadline = time.monotonic() + timeout
        status = self.poll()
        while not status.finished and time.monotonic() < deadline:
            time.sleep(interval)
            status = self.poll()
        return status

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    # -- the result -------------------------------------------------------------------------------

    def _publish(self, step: TrainStep) -> TrainedBundle:
        """Copy the finished bundle to RUNS/bundles/<run>-<time>/ and read its test figures."""
        source = self.runs / step.bundle
        description = read_description(source)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = step.bundle.split("/")[0]
        target = self.runs / BUNDLES_DIR_NAME / f"{name}-{stamp}"
        copy_bundle(source, target)
        _prune(self.runs / BUNDLES_DIR_NAME, KEEP_BUNDLES)
        metrics = json.loads((self.runs / step.run / "metrics.json").read_text(encoding="utf-8"))
        if step.bundle != f"{step.run}/bundle":  # a combined bundle: what the app shows is the fusion's
            metrics = {"test": _fused_test_metrics(description, metrics.get("test", {}))}
        accuracy, count, per_class, no_hand = read_test_scores(metrics, description["classes"])
        seconds = self._clock() - self.started_at if self.started_at is not None else 0.0
        return TrainedBundle(target, accuracy, count, per_class, no_hand, seconds)


def _new_process_group() -> dict:
    # A Ctrl+C in the terminal that started the window goes to its whole process group; training
    # stops only through Cancel (or when the window closes), so it gets a group of its own.
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def copy_bundle(source: str | Path, target: str | Path) -> Path:
    """Copy a bundle folder whole, atomically (a half-copied bundle never appears at `target`)."""
    source, target = Path(source), Path(target)
    read_description(source)  # names the problem when it is no bundle
    if target.exists():
        raise FileExistsError(f"{target} already exists; pick another folder or name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(target) as staging:
        for item in source.iterdir():
            if item.is_dir():
                shutil.copytree(item, staging / item.name)
            else:
                shutil.copy2(item, staging / item.name)
    return target


def _prune(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` bundle copies (their names sort by time)."""
    copies = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    for old in copies[:-keep] if keep > 0 else copies:
        shutil.rmtree(old, ignore_errors=True)


def export_bundle(bundle: str | Path, folder: str | Path) -> Path:
    """Copy a bundle into `folder` (the user's pick) as <folder>/<its name>; returns the new bundle's path."""
    bundle, folder = Path(bundle), Path(folder)
    if (folder / "bundle.json").is_file():
        raise FileExistsError(f"{folder} is itself a model bundle; pick the folder to put the bundle in.")
    target = folder / bundle.name
    suffix = 2
    while target.exists():
        target = folder / f"{bundle.name}-{suffix}"
        suffix += 1
    return copy_bundle(bundle, target)


def app_command(bundle: str | Path, source: str | None = None, python: str = sys.executable) -> list[str]:
    """The command line that opens gesture-app on a bundle (and the capture window's source)."""
    argv = [python, "-m", "gesture_app.cli", "--model", str(bundle)]
    if source is not None:
        argv += ["--source", str(source)]
    return argv


def open_in_app(bundle: str | Path, source: str | None = None, python: str = sys.executable) -> subprocess.Popen:
    """Start gesture-app on `bundle` as a program of its own (it outlives the capture window)."""
    return subprocess.Popen(app_command(bundle, source, python), stdin=subprocess.DEVNULL, **_new_process_group())
