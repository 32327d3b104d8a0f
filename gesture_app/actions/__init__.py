"""Gesture actions: an action map file, the firing rules, and the senders that press the keys (no Qt here)."""

from .action_map import BASE_MODE, MEDIA_KEYS, Action, ActionMap, ActionMapError, FiringSettings, default_map_path, load_action_map, parse_action_map
from .engine import ActionEngine, FiredAction
from .senders import ActionsUnavailable, DryRunSender, KeySender, PynputSender, RecordingSender, make_sender

__all__ = [
    "BASE_MODE", "MEDIA_KEYS", "Action", "ActionMap", "ActionMapError", "FiringSettings", "default_map_path",
    "load_action_map", "parse_action_map", "ActionEngine", "FiredAction", "ActionsUnavailable", "DryRunSender",
    "KeySender", "PynputSender", "RecordingSender", "make_sender",
]
