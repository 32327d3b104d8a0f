"""argparse value types shared by the three commands (`gesture-app`, `gesture-capture`, `gesture-train`)."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (float() also takes 'nan' and 'inf', which no setting means)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number; give a number above 0, e.g. 0.5")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value
