"""gesture-app --help names what training writes and every key of the window."""

import pytest

from gesture_app.cli import build_parser
from models.schedule import SCHEDULE


def test_help_examples_use_the_run_names_training_writes():
    text = build_parser().format_help()
    for bundle in (word for word in text.split() if word.endswith("/bundle")):
        run = bundle.split("/")[-2]
        assert run in SCHEDULE, f"{bundle}: gesture-train writes no run called {run!r}"


@pytest.mark.parametrize("key", ["B capture", "R reset", "M mirror", "Space pause", "S screenshot", "Ctrl+R record",
                                 "Ctrl+O open model", "E explain", "0 (or Home, or a double-click) reset the box"])
def test_help_lists_every_key_of_the_window(key):
    assert key in " ".join(build_parser().format_help().split())
