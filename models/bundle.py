"""The model bundle: one folder with the trained Keras model and a JSON description.

    bundle/
      model.keras    the trained model (Keras native format)
      bundle.json    classes, input size and style, preprocessing (mean/std), provenance

`load_bundle` validates the folder and names the problem when it cannot be used;
a loaded `Bundle` turns BGR images into class probabilities with exactly the
preprocessing used in training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic_files import atomic_directory, atomic_write_text
from .preprocess import Preprocessing

BUNDLE_FORMAT = "gesture-bundle"
BUNDLE_VERSION = 1
MODEL_FILE = "model.keras"
DESCRIPTION_FILE = "bundle.json"


class BundleError(ValueError):
    """A folder that is not a usable model bundle; the message says why and what to try."""


@dataclass
class Bundle:
    path: Path
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    description: dict
    model: object  # keras.Model
    _runtime: object = field(default=None, repr=False)

    @property
    def input_size(self) -> int:
        return self.preprocessing.input_size

    @property
    def input_style(self) -> str:
        return self.preprocessing.input_style

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

    def use_runtime(self, requested: str = "auto", device: str = "auto") -> str:
        """Pick the runtime ('auto': int8 TFLite on CPU where exported, Keras on GPU); returns its name."""
        from .runtime import KerasRuntime, TFLiteRuntime, choose_runtime

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
        if self._runtime is None:
            from .runtime import KerasRuntime

            self._runtime = KerasRuntime(self.model, self.input_size)
        return self._runtime

    def predict_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) float32 preprocessed inputs -> (N, classes) probabilities."""
        return self._get_runtime()(inputs)

    def predict_bgr(self, image_bgr: np.ndarray) -> np.ndarray:
        """One BGR uint8 image of any size -> (classes,) probabilities."""
        return self.predict_inputs(self.preprocessing(image_bgr)[None])[0]

    def predict_batch_bgr(self, images_bgr) -> np.ndarray:
        return self.predict_inputs(np.stack([self.preprocessing(image) for image in images_bgr]))


def _without_optimizer(model):
    """The model without its optimizer state: the app never trains, and Adam's two moments
    per weight would triple a from-scratch model's file."""
    if getattr(model, "optimizer", None) is None:
        return model
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def describe(classes, preprocessing: Preprocessing, provenance: dict, backbone: str) -> dict:
    # input_size is written once, at the top (bundles before this kept a second copy inside
    # "preprocessing"; `load_bundle` reads the top one, so both kinds load).
    settings = {key: value for key, value in preprocessing.to_dict().items() if key != "input_size"}
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "model_file": MODEL_FILE,
        "classes": list(classes),
        "input_size": preprocessing.input_size,
        "input_style": preprocessing.input_style,
        "backbone": backbone,
        "preprocessing": settings,
        "provenance": provenance,
    }


def save_bundle(model, path: str | Path, classes, preprocessing: Preprocessing, provenance: dict, backbone: str) -> Path:
    """Write a bundle folder atomically: built in a staging folder beside it, then moved into place."""
    path = Path(path)
    with atomic_directory(path) as staging:
        _without_optimizer(model).save(staging / MODEL_FILE)
        description = describe(classes, preprocessing, provenance, backbone)
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
    missing = [key for key in ("classes", "preprocessing", "input_size") if key not in description]
    if missing:
        raise BundleError(f"{file} lacks required key(s): {', '.join(missing)}.")
    classes = description["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
        raise BundleError(f"{file}: 'classes' must be a list of at least two class names, got {classes!r}.")
    _check_inside(path, description.get("model_file", MODEL_FILE), "model_file")
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


def load_bundle(path: str | Path) -> Bundle:
    """Load and validate a bundle; raises BundleError naming the problem."""
    path = Path(path)
    description = read_description(path)
    try:
        preprocessing = Preprocessing.from_dict({**description["preprocessing"], "input_size": description["input_size"]})
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(
            f"{path / DESCRIPTION_FILE}: bad preprocessing section ({exc}); retrain, or copy the bundle again."
        ) from exc
    model_file = path / description.get("model_file", MODEL_FILE)
    if not model_file.is_file():
        raise BundleError(f"Model bundle {path} is incomplete: {model_file.name} is missing.")

    import keras

    try:
        # Safe mode refuses models that would run arbitrary code when loaded.
        model = keras.models.load_model(model_file, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged file
        raise BundleError(f"Cannot read the model in {model_file} ({type(exc).__name__}: {exc}); the file is damaged or not a Keras model.") from exc

    classes = tuple(description["classes"])
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
    return Bundle(path=path, classes=classes, preprocessing=preprocessing, description=description, model=model)


DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parent / "default"


def default_bundle_path() -> Path | None:
    """The bundled default model's folder, or None while the package ships none."""
    return DEFAULT_BUNDLE_DIR if (DEFAULT_BUNDLE_DIR / DESCRIPTION_FILE).is_file() else None
