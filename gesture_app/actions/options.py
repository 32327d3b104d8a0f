"""gesture-app's action flags (--actions, --arm, --dry-run) and the engine they ask for (no Qt here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.classes import CLASS_NAMES

from .action_map import load_action_map
from .engine import ActionEngine
from .senders import KeySender, make_sender

ACTION_EXAMPLES = """\
gesture actions (off until armed; see docs/actions.md):
  gesture-app --arm                             the original's gestures drive the desktop from the start
  gesture-app --actions my-map.toml --dry-run   log what would be sent, send nothing
  gesture-app --headless --source clip.mp4 --output-csv frames.csv --actions my-map.toml --arm
in the window, Ctrl+A (Arm actions) arms and disarms them; disarming releases any key held down.
"""


def add_action_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("gesture actions (key presses; off until armed)")
    group.add_argument("--actions", type=Path, metavar="MAP", help="action map (.toml) from gestures to keys, media keys and commands (default: the original's map, shipped)")
    group.add_argument("--arm", action="store_true", help="send actions from the start (the window otherwise waits for Arm actions; headless runs otherwise only log them)")
    group.add_argument("--dry-run", action="store_true", help="log and show each action that would be sent, and send nothing")


def actions_requested(args) -> bool:
    """Headless runs use actions only when asked: any of --actions, --arm, --dry-run."""
    return args.actions is not None or args.arm or args.dry_run


def build_engine(args, classes=CLASS_NAMES, *, headless: bool = False, sender: KeySender | None = None) -> ActionEngine:
    """The engine for the flags; raises ActionMapError (bad map) or ActionsUnavailable (no desktop).

    A headless run that is not armed still fires its actions, into a dry-run sender, so the CSV
    and log show what would have been sent. A window's engine follows --arm (the toolbar arms it later).
    """
    action_map = load_action_map(args.actions, classes)
    dry_run = args.dry_run or (headless and not args.arm)
    if sender is None and (dry_run or args.arm):
        # A window that is not armed makes its sender when first armed, not before.
        sender = make_sender(dry_run)
    return ActionEngine(action_map, sender, armed=args.arm or (headless and sender is not None))
