"""The two shipped MediaPipe model files, pinned by sha256, and the LiteRT interpreters that run them."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
PALM_MODEL = HERE / "palm_detection_lite.tflite"
LANDMARK_MODEL = HERE / "hand_landmark_lite.tflite"

# From the mediapipe==0.10.21 wheel, unmodified (ATTRIBUTION.md says how to fetch them again).
SHA256 = {
    PALM_MODEL.name: "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    LANDMARK_MODEL.name: "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
}


class HandModelError(RuntimeError):
    """A hand model file is missing or is not the pinned one."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@lru_cache(maxsize=None)
def _verified(path: Path) -> Path:
    # Cached: hashing 2 MB costs ~5 ms, paid once per process rather than per localiser.
    expected = SHA256[path.name]
    refetch = f"reinstall the package, or fetch it again as {HERE / 'ATTRIBUTION.md'} says"
    if not path.is_file():
        raise HandModelError(f"Hand model file {path} is missing (expected sha256 {expected}); {refetch}.")
    actual = sha256_of(path)
    if actual != expected:
        raise HandModelError(
            f"Hand model file {path} has sha256 {actual}, expected {expected}: damaged or replaced; {refetch}."
        )
    return path


def load_interpreter(path: Path, num_threads: int | None = None):
    """A LiteRT interpreter for one of the pinned model files, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(_verified(Path(path))), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter
