"""`gesture-train`: train the documented schedule, or evaluate a bundle.

    gesture-train --data DATA --out RUNS [--runs model1,model4_ft] [...]
    gesture-train --config FILE.toml [flags that override it]
    gesture-train evaluate --model BUNDLE --data DIR [--json PATH]
    gesture-train export --model BUNDLE [--int8]
    gesture-train explain --model BUNDLE --image PATH... --out DIR [--method occlusion|gradcam]
    gesture-train explain --model BUNDLE --features --layer NAME --data DIR --out DIR
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import sys
from pathlib import Path

import tomllib

from cli_common import positive_int
from models.preprocess import INPUT_STYLES
from models.schedule import SCHEDULE

from .augment import AUGMENT_ON_CHOICES
from .dataset import SPLIT_CHOICES
from .devices import DISTRIBUTE_CHOICES

log = logging.getLogger("gesture-train")

TRAIN_EXAMPLES = """examples:
  gesture-train --data DATA --out runs                      # the whole documented schedule
  gesture-train --data DATA --out runs --runs model4,model4_ft
  gesture-train --data DATA --out runs --resume             # continue after an interruption
  gesture-train --data DATA --out quick --weights none --input-size 64 --epochs 2 --steps-per-epoch 5
  gesture-train --config models/default/train.toml          # retrain the bundled default model
  gesture-train --data DATA --out runs --runs compact --weights none --extra-augmentation none
  gesture-train evaluate --model runs/model4_ft/bundle --data other_hands/ --json scores.json
  gesture-train export --model runs/model4_ft/bundle --int8  # fast CPU inference in gesture-app
  gesture-train explain --model runs/model4_ft/bundle --image hand.jpg --out why/ --method occlusion
"""


class ConfigError(ValueError):
    """A --config file that cannot be used; the message names the key and what is valid."""


def _weights(text: str):
    return None if text.lower() == "none" else text


def _extra_augmentation(text: str) -> tuple[str, ...]:
    from .augment import check_extra_augmentation

    names = () if text.strip().lower() == "none" else tuple(n.strip() for n in text.split(",") if n.strip())
    try:
        return check_extra_augmentation(names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config_defaults(parser: argparse.ArgumentParser, path: Path) -> dict:
    """A TOML file whose keys are the long flag names -> {dest: value} for the parser's defaults.

    Values are checked exactly as on the command line; lists become comma-separated
    values, and a flag without a value (--resume) takes true or false.
    """
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path} ({exc}); it must be TOML: key = value per line.") from None
    actions = {
        option[2:]: action for action in parser._actions for option in action.option_strings
        if option.startswith("--") and option not in ("--help", "--config")
    }
    defaults = {}
    for key, value in data.items():
        name = key.replace("_", "-")
        action = actions.get(name)
        if action is None:
            close = difflib.get_close_matches(name, actions, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"Unknown key '{key}' in {path}.{hint} Valid keys are the long flags: {', '.join(actions)}.")
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if not isinstance(value, bool):
                raise ConfigError(f"'{key} = {value!r}' in {path}: must be true or false.")
            defaults[action.dest] = value if isinstance(action, argparse._StoreTrueAction) else not value
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
        action.required = False
    return defaults


def _train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gesture-train",
        description="Train the documented VGG16 transfer-learning schedule (Models 1-4 and the fine-tuned "
        "Model 4) on a folder of gesture images, writing curves, confusion matrices, F1 and model bundles.",
        epilog="subcommands: evaluate, export, explain (gesture-train evaluate --help)\n\n" + TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path,
                   help="TOML file of settings, keys = these long flag names (data = \"DATA\", runs = \"compact\", "
                   "epochs = 60, resume = true); flags given on the command line override it")
    p.add_argument("--data", required=True, type=Path, help="dataset folder: DATA/<class>/*.jpg or DATA/train|val|test/<class>/")
    p.add_argument("--out", required=True, type=Path, help="output folder; each run writes RUNS/<run>/")
    p.add_argument("--runs", help="comma-separated runs to train (default: the documented "
                   f"{','.join(n for n, s in SCHEDULE.items() if s.documented)}; also: "
                   f"{','.join(n for n, s in SCHEDULE.items() if not s.documented)})")
    p.add_argument("--weights", type=_weights, default="imagenet",
                   help="base weights: imagenet (default, downloaded once by Keras), none, or a path to a VGG16 notop .h5 file")
    p.add_argument("--input-size", type=positive_int, help="square input size in pixels (documented: 224; at least 32)")
    p.add_argument("--input-style", choices=INPUT_STYLES, default="colour",
                   help="what the images show, recorded in the bundle so the app matches (default: colour)")
    p.add_argument("--epochs", type=positive_int, help="override every run's epoch count")
    p.add_argument("--epoch-scale", type=float, default=1.0,
                   help="scale every run's documented epochs, e.g. 0.1 for a tenth of the schedule (at least 1 epoch each)")
    p.add_argument("--steps-per-epoch", type=positive_int, help="override every run's steps per epoch")
    p.add_argument("--batch-size", type=positive_int, help="override every run's batch size")
    p.add_argument("--validation-steps", type=positive_int, help="override every run's validation steps")
    p.add_argument("--classes", help="comma-separated class folders to use (default: every class folder)")
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
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return p


def _evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gesture-train evaluate",
        description="Score a model bundle on a labelled folder (DIR/<class>/ or DIR/train|val|test/<class>/); "
        "the folder may hold only some of the model's classes.",
    )
    p.add_argument("--model", type=Path, help="model bundle folder (default: the bundled default model)")
    p.add_argument("--data", required=True, type=Path, help="labelled folder")
    p.add_argument("--split", choices=SPLIT_CHOICES, default="auto",
                   help="which images: auto (test/ of a pre-split folder, else all), all, or one split of the "
                   "documented seeded split (with --seed as used in training)")
    p.add_argument("--seed", type=int, default=0, help="the training seed, for --split on a per-class folder")
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def _export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gesture-train export",
        description="Add a TFLite model to a bundle (int8 with --int8, calibrated on training images) and record "
        "its test accuracy next to the float model's; gesture-app runs it on CPUs.",
    )
    p.add_argument("--model", required=True, type=Path, help="model bundle folder")
    p.add_argument("--int8", action="store_true", help="quantise weights and activations to int8 (about 4x faster on CPU)")
    p.add_argument("--data", type=Path, help="the training data folder (default: the one recorded in the bundle)")
    p.add_argument("--calibration-images", type=positive_int, default=600, help="training images used to calibrate int8 (default 600)")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def _run_export(args) -> int:
    from models.bundle import BundleError

    from .dataset import DatasetError
    from .export import export_bundle

    try:
        export_bundle(args.model, int8=args.int8, data=args.data, calibration_images=args.calibration_images)
    except (BundleError, DatasetError) as exc:
        log.error("error: %s", exc)
        return 2
    return 0


def _explain_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gesture-train explain",
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
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def _run_explain(args) -> int:
    from models.bundle import BundleError, default_bundle_path, load_bundle
    from models.images import UnreadableImageError

    from .explain import explain_features, explain_images

    model_path = args.model or default_bundle_path()
    if model_path is None:
        log.error("error: no --model given and this installation ships no default model; pass --model RUNS/<run>/bundle.")
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


def _setup_logging(quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")  # no-op where handlers exist (tests, embedding apps)
    logging.getLogger().setLevel(level)
    # TensorFlow warns about tf.function retracing when each run builds its own model; expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def _run_train(args) -> int:
    from .dataset import DatasetError
    from .runner import TrainConfig, TrainingError, train_schedule

    config = TrainConfig(
        data=args.data, out=args.out, runs=args.runs, weights=args.weights, input_size=args.input_size,
        input_style=args.input_style, epochs=args.epochs, epoch_scale=args.epoch_scale, steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size, validation_steps=args.validation_steps, seed=args.seed, resume=args.resume,
        overwrite=args.overwrite, tensorboard=args.tensorboard, feature_cache=args.feature_cache,
        cache_copies=args.cache_copies, augment_on=args.augment_on, mixed_precision=args.mixed_precision, distribute=args.distribute, extra_augmentation=args.extra_augmentation, config_file=args.config,
        classes=[c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None,
    )
    try:
        train_schedule(config)
    except (DatasetError, TrainingError, ValueError, FileNotFoundError) as exc:
        log.error("error: %s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("Interrupted. Finished epochs are kept; run the same command with --resume to continue.")
        return 130
    return 0


def _run_evaluate(args) -> int:
    from models.bundle import BundleError, default_bundle_path, load_bundle

    from .dataset import DatasetError
    from .evaluate import evaluate_bundle, format_metrics

    model_path = args.model or default_bundle_path()
    if model_path is None:
        log.error("error: no --model given and this installation ships no default model; pass --model RUNS/<run>/bundle.")
        return 2
    try:
        bundle = load_bundle(model_path)
        metrics = evaluate_bundle(bundle, args.data, split=args.split, seed=args.seed)
    except (BundleError, DatasetError) as exc:
        log.error("error: %s", exc)
        return 2
    print(format_metrics(metrics))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "evaluate":
        args = _evaluate_parser().parse_args(argv[1:])
        _setup_logging(args.quiet)
        return _run_evaluate(args)
    if argv and argv[0] == "export":
        args = _export_parser().parse_args(argv[1:])
        _setup_logging(args.quiet)
        return _run_export(args)
    if argv and argv[0] == "explain":
        args = _explain_parser().parse_args(argv[1:])
        _setup_logging(args.quiet)
        return _run_explain(args)
    if argv and argv[0] == "train":
        argv = argv[1:]
    parser = _train_parser()
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    config_file = pre.parse_known_args(argv)[0].config
    if config_file is not None:
        try:
            parser.set_defaults(**_config_defaults(parser, config_file))
        except ConfigError as exc:
            _setup_logging(False)
            log.error("error: %s", exc)
            return 2
    args = parser.parse_args(argv)
    _setup_logging(args.quiet)
    return _run_train(args)


if __name__ == "__main__":
    sys.exit(main())
