"""`gesture-train`: train the documented schedule, or evaluate, export, explain or stress-test a bundle.

    gesture-train [train] --data DATA --out RUNS [--runs model1,model4_ft] [...]
    gesture-train [train] --config FILE.toml [flags that override it]
    gesture-train evaluate --model BUNDLE --data DIR [--json PATH]
    gesture-train export --model BUNDLE [--int8]
    gesture-train explain --model BUNDLE --image PATH... --out DIR [--method occlusion|gradcam]
    gesture-train explain --model BUNDLE --features --layer NAME --data DIR --out DIR
    gesture-train robustness --model BUNDLE --data DIR [--split test] [--json PATH]
    gesture-train combine --cnn BUNDLE --landmarks BUNDLE --out BUNDLE

One argparse parser with a sub-parser per command; `train` is the default, so a command line
that starts with a flag (`gesture-train --data DATA ...`) trains. The train flags' `dest`s are
`TrainConfig`'s field names, so a new setting is a field plus its `add_argument` line.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import errno
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import tomllib

from cli_common import positive_float, positive_int
from cli_common.quiet import quiet_libraries
from models.dataset_rules import ClassNameError, parse_class_list
from models.preprocess import INPUT_STYLES, MIN_INPUT_SIZE
from models.schedule import SCHEDULE

from .augment import AUGMENT_ON_CHOICES
from .dataset import SPLIT_CHOICES
from .devices import DISTRIBUTE_CHOICES
from .progress import report_progress_to

log = logging.getLogger("gesture-train")

COMMANDS = ("train", "evaluate", "export", "explain", "robustness", "combine")
# Flags the train command needs, from the command line or the --config file.
REQUIRED_TRAIN_FLAGS = ("data",)

EXAMPLES = """examples:
  gesture-train --data DATA --out runs                      # the whole documented schedule
  gesture-train --data DATA --out runs --runs model4,model4_ft
  gesture-train --data DATA --out runs --resume             # continue after an interruption
  gesture-train --data DATA --out quick --weights none --input-size 64 --epochs 2 --steps-per-epoch 5
  gesture-train --config models/default/train.toml          # retrain the bundled default model
  gesture-train --data DATA --out runs --runs compact --weights none --extra-augmentation none
  gesture-train evaluate --model runs/model4_ft/bundle --data other_hands/ --json scores.json
  gesture-train evaluate --locate --data full_frames/      whole camera frames: find the hand first, as the app does
  gesture-train export --model runs/model4_ft/bundle --int8  # fast CPU inference in gesture-app
  gesture-train explain --model runs/model4_ft/bundle --image hand.jpg --out why/ --method occlusion
  gesture-train robustness --model runs/compact/bundle --data DATA --split test --seed 0
  gesture-train --data DATA --out runs --runs landmarks      # the landmark head alone, in seconds
  gesture-train combine --cnn runs/compact/bundle --landmarks runs/landmarks/bundle --out runs/both
"""


class ConfigError(ValueError):
    """A --config file that cannot be used; the message names the key and what is valid."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that remembers its long flags, so a --config file's keys can be checked against them.

    Only flags added on the parser itself are recorded (the train command uses no argument groups).
    """

    def __init__(self, *args, **kwargs):
        self.long_flags: dict[str, argparse.Action] = {}  # set first: __init__ adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *names, **kwargs):
        action = super().add_argument(*names, **kwargs)
        self.long_flags.update({name[2:]: action for name in names if name.startswith("--")})
        return action


# --- argument types ---------------------------------------------------------------------------


def _input_size(text: str) -> int:
    value = positive_int(text)
    if value < MIN_INPUT_SIZE:
        raise argparse.ArgumentTypeError(f"{value} is too small; the VGG16 base needs at least {MIN_INPUT_SIZE} px")
    return value


def _weights(text: str):
    return None if text.lower() == "none" else text


def _extra_augmentation(text: str) -> tuple[str, ...]:
    from .augment import check_extra_augmentation

    names = () if text.strip().lower() == "none" else tuple(n.strip() for n in text.split(",") if n.strip())
    try:
        return check_extra_augmentation(names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _class_list(text: str) -> list[str]:
    try:
        return parse_class_list(text)
    except ClassNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- the parsers -------------------------------------------------------------------------------


def _add_verbosity(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors (no progress)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log details, TensorFlow's and OpenCV's own messages, and the traceback of an error")


def _add_progress_file(p) -> None:
    p.add_argument("--progress-file", type=Path, metavar="PATH",
                   help="also write the progress (stage, done/total, time left, last log line, final state) as JSON "
                   "to PATH, replaced a few times a second, for another program to show (gesture-capture's Train)")


def _add_train(commands) -> _Parser:
    p = commands.add_parser(
        "train",
        help="train the documented schedule (the default command)",
        description="Train the documented VGG16 transfer-learning schedule (Models 1-4 and the fine-tuned Model 4)\n"
        "on a folder of gesture images, writing curves, confusion matrices, F1 and model bundles.\n"
        "The default command: `gesture-train --data DATA ...` is `gesture-train train --data DATA ...`.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", dest="config_file", type=Path, metavar="FILE",
                   help="TOML file of settings, keys = these long flag names (data = \"DATA\", runs = \"compact\", "
                   "epochs = 60, resume = true); flags given on the command line override it")
    p.add_argument("--data", type=Path, help="dataset folder: DATA/<class>/*.jpg or DATA/train|val|test/<class>/ (required, "
                   "here or in --config)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="output folder; each run writes OUT/<run>/ (default: runs)")
    p.add_argument("--runs", help="comma-separated runs to train (default: the documented "
                   f"{','.join(n for n, s in SCHEDULE.items() if s.documented)}; also: "
                   f"{','.join(n for n, s in SCHEDULE.items() if not s.documented)})")
    p.add_argument("--weights", type=_weights, default="imagenet",
                   help="base weights: imagenet (default, downloaded once by Keras), none, or a path to a VGG16 notop .h5 file")
    p.add_argument("--input-size", type=_input_size,
                   help=f"square input size in pixels (documented: 224; at least {MIN_INPUT_SIZE})")
    p.add_argument("--input-style", choices=INPUT_STYLES, default="colour",
                   help="what the images show, recorded in the bundle so the app matches (default: colour)")
    p.add_argument("--epochs", type=positive_int, help="override every run's epoch count")
    p.add_argument("--epoch-scale", type=positive_float, default=1.0,
                   help="scale every run's documented epochs, e.g. 0.1 for a tenth of the schedule (at least 1 epoch each)")
    p.add_argument("--steps-per-epoch", type=positive_int, help="override every run's steps per epoch")
    p.add_argument("--batch-size", type=positive_int, help="override every run's batch size")
    p.add_argument("--validation-steps", type=positive_int, help="override every run's validation steps")
    p.add_argument("--classes", type=_class_list, help="comma-separated class folders to use (default: every class folder)")
    p.add_argument("--extra-augmentation", type=_extra_augmentation,
                   help="override every run's augmentation beyond the documented set: comma-separated names from "
                   "light, colour, scale, blur, or none (default: each run's own; the documented runs use none)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, shuffling and augmentation (default 0)")
    p.add_argument("--resume", action="store_true", help="continue runs from their last checkpoint; skip finished runs")
    p.add_argument("--overwrite", action="store_true", help="train runs again even if their folder holds results")
    p.add_argument("--no-feature-cache", dest="feature_cache", action="store_false",
                   help="run every step through the whole network with fresh augmentation (the exact, slow pipeline) "
                   "instead of training on cached outputs of the frozen base")
    p.add_argument("--cache-copies", type=positive_int, default=10,
                   help="augmented copies of each training image in the feature cache (default 10)")
    p.add_argument("--augment-on", choices=AUGMENT_ON_CHOICES, default="auto",
                   help="where the per-step pipeline (--no-feature-cache, the compact backbone) augments and "
                   "standardises: host (tf.data on the CPU), device (inside the training step, on the GPU), "
                   "or auto (device when TensorFlow sees a GPU; the default)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="float16 compute with float32 weights: faster on GPUs with tensor cores")
    p.add_argument("--distribute", choices=DISTRIBUTE_CHOICES, default="none",
                   help="tf.distribute strategy: mirrored (all GPUs here) or multi-worker (machines listed in TF_CONFIG)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to RUNS/<run>/tensorboard")
    _add_progress_file(p)
    _add_verbosity(p)
    p.set_defaults(run=_run_train, output_flag="--out", retry=", then run the same command with --resume to continue")
    return p


def _add_evaluate(commands) -> None:
    p = commands.add_parser(
        "evaluate",
        help="score a bundle on a labelled folder",
        description="Score a model bundle on a labelled folder (DIR/<class>/ or DIR/train|val|test/<class>/); "
        "the folder may hold only some of the model's classes.",
    )
    p.add_argument("--model", type=Path, help="model bundle folder (default: the bundled default model)")
    p.add_argument("--data", required=True, type=Path, help="labelled folder")
    p.add_argument("--split", choices=SPLIT_CHOICES, default="auto",
                   help="which images: auto (the test split of a pre-split folder or of the folder the bundle was "
                   "trained on, else all), all, or one split of the documented seeded split")
    p.add_argument("--seed", type=int, help="the seed of the split on a per-class folder (default: the one recorded "
                   "in the bundle when DATA is its training folder, else 0)")
    p.add_argument("--locate", action="store_true",
                   help="the images are full camera frames: find the hand, classify its padded square as gesture-app "
                   "does (the most confident of up to --max-hands hands); a photo with no hand found is its own outcome")
    p.add_argument("--max-hands", type=positive_int, default=2, help="with --locate, hands looked for per photo (default 2, as gesture-app)")
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here (\"scored\" says which images)")
    _add_verbosity(p)
    p.set_defaults(run=_run_evaluate, output_flag="--json")


def _add_export(commands) -> None:
    p = commands.add_parser(
        "export",
        help="add a (int8) TFLite model to a bundle",
        description="Add a TFLite model to a bundle (int8 with --int8, calibrated on training images) and record "
        "its test accuracy next to the float model's; gesture-app runs it on CPUs.",
    )
    p.add_argument("--model", required=True, type=Path, help="model bundle folder")
    p.add_argument("--int8", action="store_true", help="quantise weights and activations to int8 (about 4x faster on CPU)")
    p.add_argument("--data", type=Path, help="the training data folder (default: the one recorded in the bundle)")
    p.add_argument("--calibration-images", type=positive_int, default=600, help="training images used to calibrate int8 (default 600)")
    _add_verbosity(p)
    p.set_defaults(run=_run_export, output_flag=None)  # it writes into the bundle


def _add_explain(commands) -> None:
    p = commands.add_parser(
        "explain",
        help="heat maps of where a bundle looks, or a layer's top-activating patches",
        description="Show where a model bundle looks.\n"
        "  --image: each image with a heat map of the evidence for its predicted class, the class and confidence\n"
        "    written on it, as OUT/<image>_<method>.png. occlusion: a grey square slid over the input, the drop in\n"
        "    the class's probability; gradcam: the last convolutional block's maps weighted by their gradient.\n"
        "  --features: the dataset patches that activate a layer's strongest filters most, as OUT/features_<layer>.png.",
        epilog="examples:\n"
        "  gesture-train explain --model runs/model4_ft/bundle --image hand.jpg other/ --out why/\n"
        "  gesture-train explain --model runs/model4_ft/bundle --image hand.jpg --out why/ --method occlusion --patch 32 --stride 8\n"
        "  gesture-train explain --model runs/model4_ft/bundle --features --layer block3_conv3 --data DATA --out why/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", type=Path, metavar="BUNDLE", help="model bundle folder (default: the bundled default model)")
    p.add_argument("--image", nargs="+", type=Path, metavar="PATH", help="images, or folders of images, to explain")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the PNGs")
    p.add_argument("--method", choices=("gradcam", "occlusion"), default="gradcam", help="default: gradcam (one pass; occlusion runs the model once per square)")
    p.add_argument("--patch", type=positive_int, metavar="N", help="occlusion: side of the grey square in input pixels (default: a seventh of the input)")
    p.add_argument("--stride", type=positive_int, metavar="N", help="occlusion: step between squares (default: half the square)")
    p.add_argument("--class", dest="class_name", metavar="NAME", help="explain this class instead of the predicted one")
    p.add_argument("--features", action="store_true", help="draw the top-activating patches of --layer over the images in --data instead")
    p.add_argument("--layer", metavar="NAME", help="gradcam: the base layer to read (default: the last conv block); --features: the layer to show (required)")
    p.add_argument("--data", type=Path, metavar="DIR", help="--features: folder of images, searched recursively")
    p.add_argument("--filters", type=positive_int, default=8, metavar="N", help="--features: rows, the layer's strongest filters (default 8)")
    p.add_argument("--patches", type=positive_int, default=8, metavar="N", help="--features: patches per filter (default 8)")
    p.add_argument("--max-images", type=positive_int, default=500, metavar="N", help="--features: images read from --data at most, evenly spread (default 500)")
    _add_verbosity(p)
    p.set_defaults(run=_run_explain, output_flag="--out")


def _add_robustness(commands) -> None:
    from .robustness import PERTURBATIONS

    p = commands.add_parser(
        "robustness",
        help="score a bundle on perturbed copies of a labelled folder",
        description="Score a model bundle on perturbed copies of a labelled folder's images, one accuracy and\n"
        "macro F1 per perturbation:\n" + "\n".join(f"  {name:<13} {what}" for name, (what, _) in PERTURBATIONS.items()),
        epilog="example:\n  gesture-train robustness --model runs/compact/bundle --data DATA --split test --seed 0 --json robust.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", type=Path, help="model bundle folder (default: the bundled default model)")
    p.add_argument("--data", required=True, type=Path, help="labelled folder (DIR/<class>/ or DIR/train|val|test/<class>/)")
    p.add_argument("--split", choices=SPLIT_CHOICES, default="test",
                   help="which images (default: test, the held-out split; with --seed as used in training)")
    p.add_argument("--seed", type=int, default=0, help="the training seed, for --split on a per-class folder")
    p.add_argument("--json", type=Path, help="also write the scores as JSON here")
    _add_verbosity(p)
    p.set_defaults(run=_run_robustness, output_flag="--json")


def _add_combine(commands) -> None:
    p = commands.add_parser(
        "combine",
        help="put a CNN bundle and a landmark head into one bundle, scored fused",
        description="Write a bundle with both heads: every file of the CNN bundle (copied byte for byte) plus the\n"
        "landmark head, then score each head and their fusion on the held-out split both were trained\n"
        "without, into bundle.json. The two must come from the same data and --seed.",
        epilog="example:\n  gesture-train combine --cnn runs/compact/bundle --landmarks runs/landmarks/bundle --out runs/both",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cnn", required=True, type=Path, metavar="BUNDLE", help="bundle holding the CNN")
    p.add_argument("--landmarks", required=True, type=Path, metavar="BUNDLE", help="bundle holding the landmark head (RUNS/landmarks/bundle)")
    p.add_argument("--out", required=True, type=Path, metavar="BUNDLE", help="the combined bundle's folder (may be --cnn, updated in place)")
    p.add_argument("--data", type=Path, help="the training data (default: the folder recorded in the CNN bundle)")
    _add_progress_file(p)
    _add_verbosity(p)
    p.set_defaults(run=_run_combine, output_flag="--out")


def _build_parsers() -> tuple[argparse.ArgumentParser, _Parser]:
    """(the gesture-train parser, its train sub-parser)."""
    parser = argparse.ArgumentParser(
        prog="gesture-train",
        description="Train the documented gesture-recognition schedule and work with the model bundles it writes.\n"
        "Without a command, gesture-train trains: `gesture-train --data DATA --out runs` is\n"
        "`gesture-train train --data DATA --out runs`; `gesture-train train --help` lists its flags.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", parser_class=_Parser)
    train = _add_train(commands)
    _add_evaluate(commands)
    _add_export(commands)
    _add_explain(commands)
    _add_robustness(commands)
    _add_combine(commands)
    return parser, train


def build_parser() -> argparse.ArgumentParser:
    return _build_parsers()[0]


def _default_to_train(argv: list[str]) -> list[str]:
    """`train` when no command is named: train takes no positional arguments, so a command line
    that is empty or starts with a flag (other than --help) is a train command line."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return ["train", *argv]
    return argv


# --- --config ------------------------------------------------------------------------------------


def config_defaults(path: Path, train_parser: _Parser | None = None) -> dict:
    """A TOML file whose keys are the train command's long flag names -> {dest: value}.

    Values are checked exactly as on the command line; lists become comma-separated
    values, and a flag without a value (--resume) takes true or false.
    """
    train_parser = train_parser or _build_parsers()[1]
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path} ({exc}); it must be TOML: key = value per line.") from None
    flags = {name: action for name, action in train_parser.long_flags.items() if name not in ("help", "config")}
    defaults = {}
    for key, value in data.items():
        name = key.replace("_", "-")
        action = flags.get(name)
        if action is None:
            close = difflib.get_close_matches(name, flags, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"Unknown key '{key}' in {path}.{hint} Valid keys are the long flags: {', '.join(flags)}.")
        if action.nargs == 0:  # a switch: store_true (const True) or store_false (const False)
            if not isinstance(value, bool):
                raise ConfigError(f"'{key} = {value!r}' in {path}: must be true or false.")
            defaults[action.dest] = value if action.const else not value
            continue
        if isinstance(value, (dict, bool)):
            raise ConfigError(f"'{key} = {value!r}' in {path}: must be a string, a number or a list.")
        text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        try:
            converted = action.type(text) if action.type else text
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise ConfigError(f"'{key} = {value!r}' in {path}: {str(exc).rstrip('.')}.") from None
        if action.choices is not None and converted not in action.choices:
            raise ConfigError(f"'{key} = {value!r}' in {path}: valid values are {', '.join(map(str, action.choices))}.")
        defaults[action.dest] = converted
    return defaults


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The namespace a command runs with: `train` when none is named, a --config file's values
    below the command line's (command line > config file > defaults). Raises ConfigError."""
    argv = _default_to_train(list(sys.argv[1:] if argv is None else argv))
    parser, train = _build_parsers()
    args = parser.parse_args(argv)
    if args.command != "train":
        return args
    if args.config_file is not None:
        train.set_defaults(**config_defaults(args.config_file, train))
        args = parser.parse_args(argv)
    missing = [f"--{name}" for name in REQUIRED_TRAIN_FLAGS if getattr(args, name) is None]
    if missing:
        train.error(f"the following arguments are required: {', '.join(missing)} (on the command line or in --config)")
    return args


def train_config(args: argparse.Namespace):
    """The TrainConfig of parsed train arguments: every field whose name is a flag's dest."""
    from .runner import TrainConfig

    given = vars(args)
    return TrainConfig(**{field.name: given[field.name] for field in dataclasses.fields(TrainConfig) if field.name in given})


# --- the commands --------------------------------------------------------------------------------


def _setup_logging(quiet: bool, verbose: bool = False) -> None:
    quiet_libraries(verbose)
    level = logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")  # no-op where handlers exist (tests, embedding apps)
    logging.getLogger().setLevel(level)
    for name in ("gesture-train", "training", "models"):  # our details, not every library's
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.NOTSET)
    # TensorFlow warns about tf.function retracing when each run builds its own model; expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def _model_path(args):
    from models.bundle import default_bundle_path

    path = args.model or default_bundle_path()
    if path is None:
        log.error("error: no --model given and this installation ships no default model; pass --model RUNS/<run>/bundle.")
    return path


# --- output paths: checked before the slow work, so a typo costs seconds, not a training run ------------


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _why_not_writable(folder: Path) -> str | None:
    """Why files cannot be created in an existing folder ("... is on a read-only disk"), or None."""
    if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        return f"{folder} is on a read-only disk"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"you may not write into {folder}"
    return None


def _output_folder_problem(path: Path, flag: str) -> str | None:
    """Why `path` cannot be used (created, then written into) as an output folder; None when it can."""
    if os.path.lexists(path) and not os.path.isdir(path):
        return f"{flag} {path} is a file; pass a folder (it is created if missing)."
    existing = _nearest_existing(Path(path))
    if not os.path.isdir(existing):
        return f"{flag} {path} cannot be created: {existing} is a file, not a folder. Pass another folder."
    reason = _why_not_writable(existing)
    if reason:
        return f"{flag} {path} is not writable: {reason}. Pass a folder you can write to, or change its permissions."
    return None


def _output_file_problem(path: Path, flag: str) -> str | None:
    """Why `path` cannot be written as an output file; None when it can."""
    if os.path.isdir(path):
        return f"{flag} {path} is a folder; pass a file name, e.g. {Path(path) / 'scores.json'}."
    existing = _nearest_existing(Path(path).parent)
    if not os.path.isdir(existing):
        return f"{flag} {path} cannot be created: {existing} is a file, not a folder. Pass another file name."
    # The file is written beside itself and renamed into place, so its folder must be writable.
    reason = _why_not_writable(existing)
    if reason:
        return f"{flag} {path} cannot be written: {reason}. Pass a path you can write to, or change its permissions."
    return None


# Said after the system's reason when a read or write fails: what to do about it.
# (what to do, the alternative through the command's output flag)
_OS_ERROR_ADVICE = {
    errno.ENOSPC: ("The disk is full: free some space on it", "pass {flag} a path on another disk"),
    errno.EDQUOT: ("Your disk quota is used up: free some space", "pass {flag} a path on another disk"),
    errno.EACCES: ("Give yourself permission there", "pass {flag} a path you can write to"),
    errno.EPERM: ("Give yourself permission there", "pass {flag} a path you can write to"),
    errno.EROFS: ("That disk is read-only: make it writable", "pass {flag} a path on a writable disk"),
}


def _os_error_line(exc: OSError, args: argparse.Namespace) -> str:
    """One line for a failed read or write: the system's reason, the path, and what to do."""
    from models.atomic_files import TEMP_PREFIX

    flag = getattr(args, "output_flag", None)
    path = exc.filename or (getattr(args, flag.lstrip("-"), None) if flag else None)
    if path is not None and Path(path).name.startswith(TEMP_PREFIX):
        path = Path(path).parent  # a temporary of the atomic writer: name the folder it was written in
    reason = exc.strerror or str(exc)
    line = f"{reason}: {path}" if path is not None else reason
    if exc.errno not in _OS_ERROR_ADVICE:
        return f"{line} (run with -v for details)."
    fix, alternative = _OS_ERROR_ADVICE[exc.errno]
    advice = fix + getattr(args, "retry", "") + (f"; or {alternative.format(flag=flag)}" if flag else "")
    return f"{line}. {advice}."


def _run_train(args) -> int:
    problem = _output_folder_problem(args.out, "--out")
    if problem:
        log.error("error: %s", problem)
        return 2

    from .dataset import DatasetError
    from .runner import TrainingError, train_schedule

    try:
        train_schedule(train_config(args))
    except (DatasetError, TrainingError, ValueError, FileNotFoundError) as exc:
        log.error("error: %s", exc, exc_info=args.verbose)
        return 2
    except KeyboardInterrupt:
        log.error("Interrupted. Finished epochs are kept; run the same command with --resume to continue.")
        return 130
    return 0


def _json_writable(args) -> bool:
    """Check --json before scoring; logs the problem when it is not writable."""
    problem = args.json and _output_file_problem(args.json, "--json")
    if problem:
        log.error("error: %s", problem)
    return not problem


def _write_json(path: Path, data: dict) -> None:
    from models.atomic_files import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _run_evaluate(args) -> int:
    from models.bundle import BundleError, load_bundle

    from .dataset import DatasetError
    from .evaluate import evaluate_bundle, format_metrics

    model_path = _model_path(args)
    if model_path is None or not _json_writable(args):
        return 2
    try:
        bundle = load_bundle(model_path)
        if args.locate:
            from .evaluate import choose_split
            from .evaluate_located import evaluate_located, format_located

            split, seed, _ = choose_split(bundle, args.data, args.split, args.seed)
            metrics = evaluate_located(bundle, args.data, split=split, seed=seed, max_hands=args.max_hands)
        else:
            metrics = evaluate_bundle(bundle, args.data, split=args.split, seed=args.seed)
    except (BundleError, DatasetError) as exc:
        log.error("error: %s", exc)
        return 2
    print(format_located(metrics) if args.locate else format_metrics(metrics))
    if args.json:
        _write_json(args.json, metrics)
    return 0


def _run_export(args) -> int:
    from models.bundle import BundleError

    from .dataset import DatasetError
    from .export import export_bundle

    try:
        export_bundle(args.model, int8=args.int8, data=args.data, calibration_images=args.calibration_images,
                      verbose=args.verbose)
    except (BundleError, DatasetError) as exc:
        log.error("error: %s", exc)
        return 2
    return 0


def _run_explain(args) -> int:
    from models.bundle import BundleError, load_bundle
    from models.images import UnreadableImageError

    from .explain import explain_features, explain_images

    model_path = _model_path(args)
    if model_path is None:
        return 2
    if args.features == bool(args.image) or (args.features and not (args.layer and args.data)):
        log.error("error: pass --image PATH... to explain predictions, or --features --layer NAME --data DIR for the patch grid.")
        return 2
    try:
        bundle = load_bundle(model_path)
        if args.features:
            explain_features(bundle, args.layer, args.data, args.out, args.filters, args.patches, args.max_images)
        else:
            explain_images(bundle, args.image, args.out, args.method, patch=args.patch, stride=args.stride,
                           layer=args.layer, class_name=args.class_name)
    except (BundleError, UnreadableImageError, ValueError, FileNotFoundError) as exc:
        log.error("error: %s", exc)
        return 2
    return 0


def _run_robustness(args) -> int:
    from models.bundle import BundleError, load_bundle

    from .dataset import DatasetError
    from .robustness import format_scores, robustness_scores

    model_path = _model_path(args)
    if model_path is None or not _json_writable(args):
        return 2
    try:
        scores = robustness_scores(load_bundle(model_path), args.data, args.split, args.seed)
    except (BundleError, DatasetError) as exc:
        log.error("error: %s", exc)
        return 2
    for line in format_scores(scores).splitlines():
        log.info("%s", line)
    if args.json:
        _write_json(args.json, {"model": str(model_path), "split": args.split, "scores": scores})
    return 0


def _run_combine(args) -> int:
    from models.bundle import BundleError

    from .combine import combine_bundles
    from .dataset import DatasetError
    from .evaluate import format_metrics

    try:
        metrics = combine_bundles(args.cnn, args.landmarks, args.out, data=args.data)
    except (BundleError, DatasetError) as exc:
        log.error("error: %s", exc)
        return 2
    print(format_metrics(metrics))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except ConfigError as exc:
        _setup_logging(False)
        log.error("error: %s", exc)
        return 2
    _setup_logging(args.quiet, args.verbose)
    reporter = report_progress_to(getattr(args, "progress_file", None))
    code = 1
    try:
        with _sigterm_as_interrupt():
            code = _run_command(args)
    finally:
        if reporter is not None:
            reporter.finish(code)
    return code


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """A terminate request (a window's Cancel, a job scheduler) stops like Ctrl+C: finished epochs are
    kept, temporaries removed, and the run can resume."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_command(args) -> int:
    # The user gets one line saying what to do; the traceback only with -v.
    try:
        with _log_above_progress_bars():
            return args.run(args)
    except OSError as exc:  # a full disk, a folder without permission, a read-only disk
        log.error("error: %s", _os_error_line(exc, args), exc_info=args.verbose)
        return 1
    except KeyboardInterrupt:
        log.error("Interrupted.")
        return 130
    except Exception as exc:
        log.error("error: unexpected %s: %s (run with -v for the traceback, and please report it)",
                  type(exc).__name__, exc, exc_info=args.verbose)
        return 1


@contextlib.contextmanager
def _log_above_progress_bars():
    """On a terminal, log lines print above the progress bars instead of through them."""
    if not sys.stderr.isatty():
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm():
        yield


if __name__ == "__main__":
    sys.exit(main())
