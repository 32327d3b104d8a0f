"""The model bundle: one folder with a CNN, a landmark head or both, and a JSON description.

    bundle/
      model.keras      the CNN (Keras native format), when the bundle has one
      landmarks.keras  the landmark head (models/landmark_head.py), when the bundle has one
      bundle.json      classes; "heads": which of the two it holds, each head's file and test
                       metrics; for the CNN its input size and style, preprocessing (mean/std),
                       and "crop": how its training images were cut around the hand (the app cuts
                       found hands the same way; models.hands.CropStyle);
                       for the landmark head its feature set; "fusion": the rule and its test
                       metrics; provenance

Bundles written before landmark heads existed have no "heads" key: they hold a CNN only, and
load as such. `load_bundle` validates the folder and names the problem when it cannot be used;
a loaded `Bundle` turns a BGR crop and the hand's landmarks into class probabilities with exactly
the preprocessing used in training (`predict_hand`, per frame; `predict_bgr` for the CNN alone).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic_files import atomic_directory, atomic_write_text
from .fusion import fuse
from .hands.crops import SQUARE, CropStyle
from .hands.localiser import MIN_PRESENCE
from .landmark_features import FEATURES_VERSION, check_features, feature_count
from .preprocess import Preprocessing

BUNDLE_FORMAT = "gesture-bundle"
# 1: a CNN (with or without a landmark head beside it: a reader of version 1 ignores "heads" and
# still runs the CNN); 2: no CNN, a landmark head only, which a version-1 reader could not run.
BUNDLE_VERSION = 2
MODEL_FILE = "model.keras"
LANDMARK_MODEL_FILE = "landmarks.keras"
DESCRIPTION_FILE = "bundle.json"
HEADS = ("cnn", "landmarks")
# Landmarks of a hand the localiser is less sure of than its own threshold are not used (it returns
# no hand below it, so this only matters for hands found some other way).
MIN_HAND_PRESENCE = MIN_PRESENCE
# Bundles written before "crop" existed: the padded square the app always cut, which is what the
# capture tool's images are; a bundle trained on other crops says so (the default model: "tight").
LEGACY_CROP = SQUARE


class BundleError(ValueError):
    """A folder that is not a usable model bundle; the message says why and what to try."""


@dataclass(frozen=True)
class HeadProbs:
    """One frame's probabilities from each head, and the fused ones the app shows."""

    cnn: np.ndarray | None  # (C,); None when the bundle has no CNN or no crop was given
    landmarks: np.ndarray | None  # (C,); None without a landmark head or without a (confident) hand
    fused: np.ndarray | None  # (C,) `models.fusion.fuse` of the two; None: nothing to read (show "no gesture")
    timings_ms: dict[str, float]  # cnn (preprocess + inference), landmarks (features + MLP)


def _hand_points(hand):
    """(points (21, 3), handedness) of a models.hands.Hand, a (points, handedness) pair, or None."""
    if hand is None:
        return None
    if isinstance(hand, tuple):
        points, handedness = hand
        return np.asarray(points, np.float32), handedness
    if getattr(hand, "presence", 1.0) < MIN_HAND_PRESENCE:
        return None
    return np.asarray(hand.landmarks_px, np.float32), hand.handedness


@dataclass
class Bundle:
    path: Path
    classes: tuple[str, ...]
    preprocessing: Preprocessing | None  # None: no CNN
    description: dict
    model: object  # the CNN's keras.Model; None: no CNN
    _runtime: object = field(default=None, repr=False)
    landmark_head: object = None  # models.landmark_head.LandmarkHead, or None

    @property
    def heads(self) -> tuple[str, ...]:
        """("cnn",), ("landmarks",) or ("cnn", "landmarks")."""
        return tuple(name for name, present in (("cnn", self.model is not None), ("landmarks", self.landmark_head is not None))
                     if present)

    @property
    def has_cnn(self) -> bool:
        return self.model is not None

    @property
    def has_landmarks(self) -> bool:
        return self.landmark_head is not None

    @property
    def input_size(self) -> int | None:
        """The CNN's square input size; None for a landmark-only bundle."""
        return self.preprocessing.input_size if self.preprocessing is not None else None

    @property
    def input_style(self) -> str:
        # A landmark-only bundle reads the hand's landmarks from the colour frame.
        return self.preprocessing.input_style if self.preprocessing is not None else "colour"

    @property
    def crop(self) -> CropStyle:
        """How the CNN's training images were cut around the hand (bundle.json "crop"; LEGACY_CROP without it)."""
        return crop_style_of(self.description)

    def head_metrics(self, head: str) -> dict | None:
        """A head's (or "fusion"'s) test metrics as bundle.json records them, or None."""
        entry = self.description.get("fusion" if head == "fusion" else "heads", {})
        entry = entry if head == "fusion" else entry.get(head, {})
        if entry.get("test_metrics"):
            return entry["test_metrics"]
        if head == "cnn" and self.has_cnn:  # CNN bundles keep their figures in the provenance
            return (self.description.get("provenance") or {}).get("metrics", {}).get("test")
        return None

    @property
    def tflite_path(self) -> Path | None:
        """The bundle's TFLite export (from `gesture-train export`), if it has one."""
        entry = self.description.get("tflite")
        path = self.path / entry["file"] if entry else None
        return path if path is not None and path.is_file() else None

    @property
    def runtime(self) -> str:
        """The runtime predictions go through: 'keras' or 'tflite'."""
        return self._get_runtime().name

    @property
    def device(self) -> str:
        return self._get_runtime().device

    def _require_cnn(self) -> None:
        if self.model is None:
            raise BundleError(f"{self.path} holds a landmark head only, no CNN; classify with "
                              "predict_hand(None, hand) or predict_landmarks(points, handedness).")

    def use_runtime(self, requested: str = "auto", device: str = "auto") -> str:
        """Pick the CNN's runtime ('auto': int8 TFLite on CPU where exported, Keras on GPU); returns its name."""
        from .runtime import KerasRuntime, TFLiteRuntime, choose_runtime

        self._require_cnn()
        chosen = choose_runtime(requested, self.tflite_path is not None, device)
        if chosen == "tflite":
            if self.tflite_path is None:
                raise BundleError(f"{self.path} has no TFLite export; run: gesture-train export --model {self.path} --int8")
            try:
                self._runtime = TFLiteRuntime(self.tflite_path)
            except Exception as exc:  # LiteRT raises ValueError or RuntimeError for a damaged file
                raise BundleError(
                    f"Cannot read the TFLite export {self.tflite_path} ({exc}); the file is damaged. Run "
                    f"gesture-train export --model {self.path} again, or use the Keras model (runtime keras)."
                ) from exc
        else:
            self._runtime = KerasRuntime(self.model, self.input_size, device)
        return chosen

    def _get_runtime(self):
        self._require_cnn()
        if self._runtime is None:
            from .runtime import KerasRuntime

            self._runtime = KerasRuntime(self.model, self.input_size)
        return self._runtime

    def predict_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) float32 preprocessed inputs -> (N, classes) probabilities."""
        return self._get_runtime()(inputs)

    def predict_bgr(self, image_bgr: np.ndarray) -> np.ndarray:
        """One BGR uint8 image of any size -> (classes,) probabilities of the CNN."""
        self._require_cnn()
        return self.predict_inputs(self.preprocessing(image_bgr)[None])[0]

    def predict_batch_bgr(self, images_bgr) -> np.ndarray:
        self._require_cnn()
        return self.predict_inputs(np.stack([self.preprocessing(image) for image in images_bgr]))

    def predict_landmarks(self, points, handedness: str) -> np.ndarray:
        """The landmark head alone: (21, 3) landmarks (e.g. `Hand.landmarks_px`) + handedness -> (classes,)."""
        if self.landmark_head is None:
            raise BundleError(f"{self.path} has no landmark head; train one with gesture-train --runs landmarks.")
        return self.landmark_head.predict(points, handedness)

    def predict_hand(self, crop_bgr: np.ndarray | None, hand=None) -> HeadProbs:
        """Per frame: both heads, then `fuse`. The app's one call.

        crop_bgr: the BGR uint8 crop the CNN classifies (the user's box or the hand's crop box), or
        None to skip the CNN. hand: the `models.hands.Hand` the localiser found in the same frame the
        crop was cut from (its `landmarks_px` and `handedness` exactly as returned; the features do not
        care where the hand is in the frame, nor about its size), a (points (21, 3), handedness) pair,
        or None when no hand was found. A Hand below MIN_HAND_PRESENCE counts as no hand.
        """
        timings: dict[str, float] = {}
        cnn = landmarks = None
        if self.has_cnn and crop_bgr is not None:
            started = time.perf_counter()
            cnn = self.predict_bgr(crop_bgr)
            timings["cnn"] = (time.perf_counter() - started) * 1000
        found = _hand_points(hand) if self.has_landmarks else None
        if found is not None:
            started = time.perf_counter()
            landmarks = self.landmark_head.predict(*found)
            timings["landmarks"] = (time.perf_counter() - started) * 1000
        return HeadProbs(cnn, landmarks, fuse(cnn, landmarks), timings)


def _without_optimizer(model):
    """The model without its optimizer state: the app never trains, and Adam's two moments
    per weight would triple a from-scratch model's file."""
    if getattr(model, "optimizer", None) is None:
        return model
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def crop_style_of(description: dict) -> CropStyle:
    """bundle.json's "crop" as a CropStyle; LEGACY_CROP for a bundle written before the key existed."""
    entry = description.get("crop")
    return LEGACY_CROP if entry is None else CropStyle.from_dict(entry)


def describe(classes, preprocessing: Preprocessing, provenance: dict, backbone: str,
             crop: CropStyle = SQUARE) -> dict:
    # input_size is written once, at the top (bundles before this kept a second copy inside
    # "preprocessing"; `load_bundle` reads the top one, so both kinds load).
    settings = {key: value for key, value in preprocessing.to_dict().items() if key != "input_size"}
    return {
        "format": BUNDLE_FORMAT,
        "format_version": 1,  # a CNN: readable by version-1 programs
        "model_file": MODEL_FILE,
        "classes": list(classes),
        "heads": {"cnn": {"model_file": MODEL_FILE}},
        "input_size": preprocessing.input_size,
        "input_style": preprocessing.input_style,
        "backbone": backbone,
        "preprocessing": settings,
        "crop": crop.to_dict(),
        "provenance": provenance,
    }


def landmark_head_entry(feature_set: str, test_metrics: dict | None = None, **extra) -> dict:
    """bundle.json's heads.landmarks: the file, the feature set it reads, its test metrics."""
    feature_set = check_features(feature_set)
    entry = {"model_file": LANDMARK_MODEL_FILE, "features": feature_set, "features_version": FEATURES_VERSION,
             "feature_count": feature_count(feature_set), "input": "21 hand landmarks + handedness (models.hands)"}
    if test_metrics is not None:
        entry["test_metrics"] = test_metrics
    return {**entry, **extra}


def save_landmark_bundle(model, path: str | Path, classes, feature_set: str, provenance: dict) -> Path:
    """Write a landmark-only bundle (the landmark head, no CNN) atomically."""
    path = Path(path)
    description = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "classes": list(classes),
        "heads": {"landmarks": landmark_head_entry(feature_set)},
        "input_style": "colour",
        "backbone": "landmarks",
        "provenance": provenance,
    }
    with atomic_directory(path) as staging:
        _without_optimizer(model).save(staging / LANDMARK_MODEL_FILE)
        (staging / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return path


def add_landmark_head(cnn_bundle: str | Path, landmark_bundle: str | Path, out: str | Path) -> Path:
    """A bundle with both heads at `out`: every file of `cnn_bundle` copied byte for byte (its README,
    exports ...), the landmark head's file beside them, and bundle.json's "heads" holding both.

    The fusion's figures are the caller's to add (`update_description(out, fusion=...)`).
    """
    cnn_bundle, landmark_bundle, out = Path(cnn_bundle), Path(landmark_bundle), Path(out)
    cnn = read_description(cnn_bundle)
    landmarks = read_description(landmark_bundle)
    if "cnn" not in _heads_of(cnn):
        raise BundleError(f"{cnn_bundle} holds no CNN; pass a bundle from a CNN run (e.g. RUNS/compact/bundle).")
    if "landmarks" not in _heads_of(landmarks):
        raise BundleError(f"{landmark_bundle} holds no landmark head; pass RUNS/landmarks/bundle.")
    if cnn["classes"] != landmarks["classes"]:
        raise BundleError(f"The two bundles have different classes ({', '.join(cnn['classes'])} and "
                          f"{', '.join(landmarks['classes'])}); train both on the same dataset.")
    heads = {"cnn": dict(_heads_of(cnn)["cnn"]), "landmarks": dict(_heads_of(landmarks)["landmarks"])}
    heads["landmarks"]["provenance"] = landmarks.get("provenance", {})
    if not heads["cnn"].get("test_metrics"):
        recorded = (cnn.get("provenance") or {}).get("metrics", {}).get("test")
        if recorded:
            heads["cnn"]["test_metrics"] = recorded
    description = {**cnn, "heads": heads, "format_version": 1}
    with atomic_directory(out) as staging:
        for file in cnn_bundle.iterdir():
            if file.is_file() and file.name not in (DESCRIPTION_FILE, LANDMARK_MODEL_FILE):
                shutil.copy2(file, staging / file.name)  # byte for byte: the CNN is not saved again
        shutil.copy2(landmark_bundle / heads["landmarks"]["model_file"], staging / LANDMARK_MODEL_FILE)
        heads["landmarks"]["model_file"] = LANDMARK_MODEL_FILE
        (staging / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return out


def save_bundle(model, path: str | Path, classes, preprocessing: Preprocessing, provenance: dict, backbone: str,
                crop: CropStyle = SQUARE) -> Path:
    """Write a bundle folder atomically: built in a staging folder beside it, then moved into place.

    crop: how the training images were cut around the hand (the app cuts found hands the same way).
    """
    path = Path(path)
    with atomic_directory(path) as staging:
        _without_optimizer(model).save(staging / MODEL_FILE)
        description = describe(classes, preprocessing, provenance, backbone, crop)
        (staging / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return path


def update_description(path: str | Path, **updates) -> dict:
    """Merge keys into a bundle's bundle.json (written atomically)."""
    file = Path(path) / DESCRIPTION_FILE
    description = json.loads(file.read_text())
    description.update(updates)
    atomic_write_text(file, json.dumps(description, indent=2) + "\n")
    return description


def read_description(path: str | Path) -> dict:
    """Read and check bundle.json without loading the model."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"Model bundle {path} does not exist. Pass the bundle/ folder that gesture-train wrote.")
    if not path.is_dir():
        raise BundleError(f"Model bundle {path} is a file; a bundle is a folder holding {MODEL_FILE} and {DESCRIPTION_FILE}.")
    file = path / DESCRIPTION_FILE
    if not file.is_file():
        raise BundleError(
            f"{path} is not a model bundle: {DESCRIPTION_FILE} is missing. "
            "Pass the bundle/ folder inside a gesture-train run folder (RUNS/<run>/bundle)."
        )
    try:
        description = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{file} is damaged ({exc}); retrain or copy the bundle again.") from exc
    if not isinstance(description, dict) or description.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{file} is not a gesture model description (no \"format\": \"{BUNDLE_FORMAT}\").")
    if description.get("format_version", 0) > BUNDLE_VERSION:
        raise BundleError(
            f"{file} has format version {description['format_version']}, newer than this program "
            f"understands ({BUNDLE_VERSION}); upgrade the package."
        )
    heads = description.get("heads")
    if heads is not None and (not isinstance(heads, dict) or not heads or set(heads) - set(HEADS)):
        raise BundleError(f"{file}: 'heads' must name one or both of {', '.join(HEADS)}, got {heads!r}.")
    required = ["classes"] + (["preprocessing", "input_size"] if "cnn" in _heads_of(description) else [])
    missing = [key for key in required if key not in description]
    if missing:
        raise BundleError(f"{file} lacks required key(s): {', '.join(missing)}.")
    classes = description["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        raise BundleError(f"{file}: 'classes' must be a list of at least two class names, got {classes!r}.")
    if "cnn" in _heads_of(description):
        _check_inside(path, description.get("model_file", MODEL_FILE), "model_file")
    for name, entry in _heads_of(description).items():
        default = MODEL_FILE if name == "cnn" else LANDMARK_MODEL_FILE
        _check_inside(path, entry.get("model_file", default) if isinstance(entry, dict) else None, f"heads.{name}.model_file")
    if "crop" in description:
        try:
            crop_style_of(description)
        except (AttributeError, TypeError, ValueError) as exc:
            raise BundleError(f"{file}: bad 'crop' ({exc}); give {{\"style\": \"square\"}} or "
                              f"{{\"style\": \"tight\", \"margins\": [left, top, right, bottom]}}.") from exc
    tflite = description.get("tflite")
    if tflite is not None:
        if not isinstance(tflite, dict) or "file" not in tflite:
            raise BundleError(f"{file}: 'tflite' must name its file (\"tflite\": {{\"file\": \"model_int8.tflite\"}}).")
        _check_inside(path, tflite["file"], "tflite.file")
    return description


def _check_inside(path: Path, name, key: str) -> None:
    """A file bundle.json names must lie inside the bundle folder (links followed): a bundle is one folder."""
    file = path / DESCRIPTION_FILE
    if not isinstance(name, str) or not name:
        raise BundleError(f"{file}: '{key}' must be a file name, got {name!r}.")
    if Path(name).is_absolute() or path.resolve() not in (path / name).resolve().parents:
        raise BundleError(
            f"{file}: '{key}' points outside the bundle folder ({name}); a bundle's files must be inside it. "
            "Copy the bundle again from where gesture-train wrote it."
        )


def _heads_of(description: dict) -> dict:
    """{head: its entry}; a bundle from before "heads" existed holds a CNN only."""
    return description.get("heads") or {"cnn": {"model_file": description.get("model_file", MODEL_FILE)}}


def _load_keras(path: Path, model_file: Path):
    if not model_file.is_file():
        raise BundleError(f"Model bundle {path} is incomplete: {model_file.name} is missing.")
    import keras

    try:
        # Safe mode refuses models that would run arbitrary code when loaded.
        return keras.models.load_model(model_file, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged file
        raise BundleError(f"Cannot read the model in {model_file} ({type(exc).__name__}: {exc}); the file is damaged or not a Keras model.") from exc


def _load_landmark_head(path: Path, entry: dict, classes: tuple[str, ...]):
    from .landmark_head import LandmarkHead

    file = path / DESCRIPTION_FILE
    try:
        feature_set = check_features(entry.get("features", ""))
    except ValueError as exc:
        raise BundleError(f"{file}: the landmark head's feature set cannot be used ({exc}); upgrade the package.") from exc
    if entry.get("features_version", FEATURES_VERSION) != FEATURES_VERSION:
        raise BundleError(f"{file}: the landmark head was trained on features version {entry['features_version']}, "
                          f"this program computes version {FEATURES_VERSION}; retrain it (gesture-train --runs landmarks) "
                          "or use the program that trained it.")
    model = _load_keras(path, path / entry.get("model_file", LANDMARK_MODEL_FILE))
    if model.output_shape[-1] != len(classes) or model.input_shape[-1] != feature_count(feature_set):
        raise BundleError(
            f"The landmark head in {path} takes {model.input_shape[-1]} features and outputs {model.output_shape[-1]} "
            f"classes, but {DESCRIPTION_FILE} says {feature_count(feature_set)} ({feature_set}) and {len(classes)} classes."
        )
    return LandmarkHead(model, feature_set)


def load_bundle(path: str | Path) -> Bundle:
    """Load and validate a bundle (a CNN, a landmark head or both); raises BundleError naming the problem."""
    path = Path(path)
    description = read_description(path)
    classes = tuple(description["classes"])
    heads = _heads_of(description)
    landmark_head = _load_landmark_head(path, heads["landmarks"], classes) if "landmarks" in heads else None
    if "cnn" not in heads:
        return Bundle(path=path, classes=classes, preprocessing=None, description=description, model=None,
                      landmark_head=landmark_head)
    try:
        preprocessing = Preprocessing.from_dict({**description["preprocessing"], "input_size": description["input_size"]})
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(
            f"{path / DESCRIPTION_FILE}: bad preprocessing section ({exc}); retrain, or copy the bundle again."
        ) from exc
    model = _load_keras(path, path / heads["cnn"].get("model_file", description.get("model_file", MODEL_FILE)))
    outputs = model.output_shape[-1]
    if outputs != len(classes):
        raise BundleError(
            f"Class count mismatch in {path}: the model outputs {outputs} classes but "
            f"{DESCRIPTION_FILE} lists {len(classes)} ({', '.join(classes)})."
        )
    expected = (preprocessing.input_size, preprocessing.input_size, 3)
    if tuple(model.input_shape[1:]) != expected:
        raise BundleError(
            f"Input size mismatch in {path}: the model takes {tuple(model.input_shape[1:])} but "
            f"{DESCRIPTION_FILE} says {expected}."
        )
    return Bundle(path=path, classes=classes, preprocessing=preprocessing, description=description, model=model,
                  landmark_head=landmark_head)


DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parent / "default"


def default_bundle_path() -> Path | None:
    """The bundled default model's folder, or None while the package ships none."""
    return DEFAULT_BUNDLE_DIR if (DEFAULT_BUNDLE_DIR / DESCRIPTION_FILE).is_file() else None
