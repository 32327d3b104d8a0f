"""What the project's command lines share: argparse value types, so a bad flag reads the same everywhere.

Its own small package because both `gesture_app` and `training` need it while neither may
import the other, and `models` (the model layer both import) stays free of argparse.
Imports nothing from the project.
"""

from .argtypes import positive_float, positive_int

__all__ = ["positive_float", "positive_int"]
