"""Where gesture-app's start-up time goes, and the time to its first classified frame.

Each measurement runs in a fresh Python process (imports are most of the cost), several times;
the medians are printed side by side with their ratio:

- the default model's load, stage by stage, down the Keras path (what a CPU ran before: TensorFlow
  import, Keras deserialisation of both heads, the tf.function's first call) and down the path it
  runs now (the float TFLite export and the landmark head read as numpy weights: no TensorFlow);
  the LiteRT hand models, which both paths load;
- `BundleClassifier.load` of the default model, whole, with `--runtime keras` and `auto`;
- with --app, `gesture-app --source demo --screenshot X --quit-after-frames 1` (under xvfb-run when
  there is no display): process start to first classified frame, screenshot and exit; with
  --before DIR also the same command from an older checkout (e.g. `git worktree add /tmp/before main`).

    python benchmarks/startup.py                       # stages and loads, 3 runs each (~1 min on 2 cores)
    python benchmarks/startup.py --app --before /tmp/before --repeats 3

Run it twice and keep the second: the first reads TensorFlow's 1 GB of libraries from a cold disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# ---- children: one fresh process per measurement ------------------------------------------------

def _stages(path: str) -> dict[str, float]:
    """{stage: ms} of loading the default model down one path, in this (fresh) process."""
    import numpy as np

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    from cli_common.quiet import quiet_libraries

    quiet_libraries(verbose=False)
    times: dict[str, float] = {}
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        times[name] = (now - last[0]) * 1000.0
        last[0] = now

    from models import default_bundle_path, load_bundle
    from models.device import select_device
    from models.hands import HandLocaliser

    bundle_path = default_bundle_path()
    lap("import the app's model code")
    if path == "keras":
        import tensorflow  # noqa: F401

        lap("import TensorFlow")
        select_device("auto")
        lap("choose the device")
        bundle = load_bundle(bundle_path)  # both heads through Keras (the landmark head: see below)
        lap("Keras: load the CNN (model.keras)")
        bundle.landmark_head.model  # noqa: B018 - what loading it through Keras costs
        lap("Keras: load the landmark head")
        bundle.use_runtime("keras", "cpu")
        bundle.predict_bgr(np.zeros((bundle.input_size,) * 2 + (3,), np.uint8))
        lap("first call (traces the tf.function)")
    else:
        select_device("auto")
        lap("choose the device (no TensorFlow on a CPU-only machine)")
        bundle = load_bundle(bundle_path, runtime="auto", device="auto")
        lap("TFLite export + landmark head as numpy weights")
        bundle.predict_bgr(np.zeros((bundle.input_size,) * 2 + (3,), np.uint8))
        lap("first call (LiteRT)")
        assert bundle.runtime == "tflite" and "tensorflow" not in sys.modules, "the TFLite path started TensorFlow"
    localiser = HandLocaliser(max_hands=2, num_threads=2)
    localiser.find(np.zeros((480, 640, 3), np.uint8))
    lap("hand models (LiteRT): create + first search")
    return times


def _load(runtime: str) -> dict[str, float]:
    """{'process start to loaded': ms} of BundleClassifier.load(default model), imports included."""
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    from cli_common.quiet import quiet_libraries

    quiet_libraries(verbose=False)
    from gesture_app.core.classifier import BundleClassifier
    from models import default_bundle_path

    BundleClassifier.load(default_bundle_path(), device="auto", runtime=runtime)
    return {"process start to the model loaded and warmed up": (time.perf_counter() - started) * 1000.0}


# ---- the parent ---------------------------------------------------------------------------------

def _child(kind: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child", kind], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode != 0:
        raise SystemExit(f"child {kind} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _app_seconds(checkout: Path, shot: Path) -> float:
    """Wall time of the app from process start to exit after its first classified frame."""
    command = [sys.executable, "-m", "gesture_app", "--source", "demo", "--screenshot", str(shot), "--quit-after-frames", "1"]
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *command]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=checkout, env=env)
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"gesture-app from {checkout} failed:\n{result.stderr[-2000:]}")
    return took


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _table(title: str, columns: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    names = list(columns)
    print(f"  {'':60s}" + "".join(f"{name:>14s}" for name in names))
    rows = list(dict.fromkeys(key for column in columns.values() for key in column))
    for row in rows:
        print(f"  {row:60s}" + "".join(f"{columns[name][row]:>11.0f} ms" if row in columns[name] else f"{'':>14s}"
                                         for name in names))
    totals = {name: sum(column.values()) for name, column in columns.items()}
    print(f"  {'total':60s}" + "".join(f"{totals[name]:>11.0f} ms" for name in names))
    if len(names) == 2 and totals[names[1]]:
        print(f"  {names[0]} / {names[1]}: {totals[names[0]] / totals[names[1]]:.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement; medians are shown (default 3)")
    parser.add_argument("--app", action="store_true", help="also time gesture-app to its first classified frame")
    parser.add_argument("--before", type=Path, help="with --app: an older checkout to time the same command from")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, _, value = args.child.partition(":")
        print(json.dumps(_stages(value) if kind == "stages" else _load(value)))
        return 0

    stages = {path: [] for path in ("keras", "tflite")}
    loads = {runtime: [] for runtime in ("keras", "auto")}
    for _ in range(args.repeats):  # interleaved, so a busy moment on the machine hits both alike
        for path in stages:
            stages[path].append(_child(f"stages:{path}"))
        for runtime in loads:
            loads[runtime].append(_child(f"load:{runtime}"))
    _table(f"The default model's load, by stage (median of {args.repeats} fresh processes)",
           {"keras (before)": _medians(stages["keras"]), "tflite (now)": _medians(stages["tflite"])})
    _table("BundleClassifier.load(default model): --runtime keras (before on a CPU) and auto (now)",
           {"keras": _medians(loads["keras"]), "auto": _medians(loads["auto"])})

    if args.app:
        checkouts = {"this checkout": ROOT, **({"--before": args.before.resolve()} if args.before else {})}
        seconds = {name: [] for name in checkouts}
        with tempfile.TemporaryDirectory() as folder:
            for _ in range(args.repeats):
                for name, checkout in checkouts.items():
                    seconds[name].append(_app_seconds(checkout, Path(folder) / "shot.png"))
        print(f"\ngesture-app --source demo --screenshot X --quit-after-frames 1 (start to exit, median of {args.repeats})")
        for name, runs in seconds.items():
            print(f"  {name:16s} {statistics.median(runs):6.2f} s   runs: {', '.join(f'{s:.2f}' for s in runs)}")
        if args.before:
            before, now = statistics.median(seconds["--before"]), statistics.median(seconds["this checkout"])
            print(f"  before / now: {before / now:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
