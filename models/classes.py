"""The gesture classes, in the fixed index order the seed documents."""

CLASS_NAMES: tuple[str, ...] = ("cool", "fist", "ok", "stop", "yo")

# Label shown when no class clears the confidence threshold.
NO_GESTURE = "none"
