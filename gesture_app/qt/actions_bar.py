"""The window's gesture-actions toolbar: arm/disarm, the armed indicator, mode, map and each action fired.

Qt only at the edge: the rules and the key sending live in gesture_app.actions; this bar is
handed an ActionEngine, feeds it the window's predictions and shows what it did.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QToolBar

from ..actions import ActionEngine, ActionMapError, ActionsUnavailable, DryRunSender, FiredAction, load_action_map, make_sender
from ..core.prediction import Prediction

logger = logging.getLogger(__name__)

OFF_STYLE = "QLabel { background: #5a5a5a; color: white; padding: 3px 8px; border-radius: 3px; }"
ARMED_STYLE = "QLabel { background: #d12f2f; color: white; padding: 3px 8px; border-radius: 3px; font-weight: 700; }"
DRY_RUN_STYLE = "QLabel { background: #e08a1e; color: white; padding: 3px 8px; border-radius: 3px; font-weight: 700; }"
HISTORY = 12  # actions listed in the last-action tooltip


class ActionsBar(QToolBar):
    action_fired = Signal(str)    # each action (or safety release) as it is sent, e.g. "stop: hold alt"
    armed_changed = Signal(bool)
    failed = Signal(str)          # a message for the window's banner (no desktop to send to, a bad map)

    def __init__(self, engine: ActionEngine, *, dry_run: bool = False, map_dir=None, parent=None):
        super().__init__("Gesture actions", parent)
        self.setMovable(False)
        self.engine = engine
        self.dry_run = dry_run or isinstance(engine.sender, DryRunSender)
        self.map_dir = str(map_dir) if map_dir is not None else ""
        self.map_error_box: QMessageBox | None = None
        self._history: deque[str] = deque(maxlen=HISTORY)

        self.arm_action = QAction("Arm actions", self)
        self.arm_action.setCheckable(True)
        self.arm_action.setShortcut(QKeySequence("Ctrl+A"))
        self.arm_action.setToolTip("Let recognised gestures press keys (Ctrl+A); off again releases any key held down")
        self.arm_action.toggled.connect(self.set_armed)
        self.addAction(self.arm_action)
        self.indicator = QLabel(self)
        self.addWidget(self.indicator)
        self.mode_label = QLabel(self)
        self.mode_label.setToolTip("The action map's mode: a mode changes what some gestures do")
        self.addWidget(self.mode_label)
        self.addSeparator()
        self.map_label = QLabel(self)
        self.addWidget(self.map_label)
        self.open_map_action = QAction("Open action map…", self)
        self.open_map_action.setToolTip("Use another action map (.toml); see docs/actions.md")
        self.open_map_action.triggered.connect(lambda _checked=False: self._on_open_map_triggered())
        self.addAction(self.open_map_action)
        self.addSeparator()
        self.last_label = QLabel("no action yet", self)
        self.last_label.setToolTip("Actions fired, newest first")
        self.addWidget(self.last_label)
        self._sync_arm_action(engine.armed)
        self._refresh()

    # ---- arming -------------------------------------------------------------------------------
    @property
    def armed(self) -> bool:
        return self.engine.armed

    def set_armed(self, on: bool) -> None:
        if on and not self.engine.armed:
            if self.engine.sender is None:
                try:
                    self.engine.sender = make_sender(self.dry_run)
                except ActionsUnavailable as exc:
                    self._sync_arm_action(False)
                    self.failed.emit(str(exc))
                    return
            self.engine.arm()
        elif not on and self.engine.armed:
            self._show(self.engine.disarm())
        self._sync_arm_action(self.engine.armed)
        self._refresh()
        self.armed_changed.emit(self.engine.armed)

    def _sync_arm_action(self, checked: bool) -> None:
        if self.arm_action.isChecked() != checked:
            self.arm_action.blockSignals(True)
            self.arm_action.setChecked(checked)
            self.arm_action.blockSignals(False)

    # ---- what the window tells the bar --------------------------------------------------------
    def on_prediction(self, prediction: Prediction) -> None:
        fired = self.engine.update(prediction)
        if fired:
            self._show(fired)

    def release_keys(self, reason: str) -> None:
        """The source stopped, paused or changed: let go of held keys and start the gestures afresh."""
        self._show(self.engine.reset() if reason == "source stopped" else self.engine.release_all(reason))

    def shutdown(self) -> None:
        """The window is closing: disarm and release everything (idempotent)."""
        self._show(self.engine.close())
        self._sync_arm_action(False)
        self._refresh()

    # ---- maps ---------------------------------------------------------------------------------
    def open_map(self, path) -> bool:
        """Use the map at `path`; a bad map keeps the current one and says what is wrong."""
        try:
            action_map = load_action_map(path, self.engine.map.classes)
        except ActionMapError as exc:
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot use this action map", f"{exc}\n\nStill using {self.engine.map.name}.", QMessageBox.StandardButton.Ok, self)
            box.open()  # not exec(): the video keeps playing behind the dialog
            self.map_error_box = box
            return False
        self._show(self.engine.set_map(action_map))
        self._refresh()
        return True

    def _on_open_map_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an action map", self.map_dir, "Action maps (*.toml);;All files (*)")
        if path:
            self.open_map(path)

    # ---- showing ------------------------------------------------------------------------------
    def _show(self, fired: list[FiredAction]) -> None:
        for action in fired:
            text = str(action)
            self._history.appendleft(f"{time.strftime('%H:%M:%S')}  {text}")
            self.last_label.setText(("dry run: " if self.dry_run else "") + text)
            self.action_fired.emit(text)
        if fired:
            self.last_label.setToolTip("Actions fired, newest first:\n" + "\n".join(self._history))
            self._refresh()

    def _refresh(self) -> None:
        engine = self.engine
        if not engine.armed:
            self.indicator.setText("○ actions off")
            self.indicator.setStyleSheet(OFF_STYLE)
        else:
            held = f" · holding {'+'.join(engine.held_keys)}" if engine.held_keys else ""
            self.indicator.setText(("● DRY RUN: logging, not sending" if self.dry_run else "● ARMED: gestures press keys") + held)
            self.indicator.setStyleSheet(DRY_RUN_STYLE if self.dry_run else ARMED_STYLE)
        self.mode_label.setText(f"  mode: {engine.mode}  ")
        self.map_label.setText(f" map: {engine.map.name} ")
        self.map_label.setToolTip(str(engine.map.path) if engine.map.path else engine.map.name)
