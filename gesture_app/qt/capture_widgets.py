"""The capture window's two lists: the classes with their counts, and the strip of the last captures."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QLabel, QListView, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QWidget

from models.dataset_rules import split_counts

from ..core.capture import SavedImage
from .image import bgr_to_qimage

THUMB_SIZE = 72


class _ClassRow:
    """The widgets of one class: its select button, progress against the target and split line."""

    def __init__(self, name: str, target: int):
        self.name = name
        self.button = QPushButton(name)
        self.button.setCheckable(True)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setMinimumWidth(90)
        self.button.setStyleSheet("QPushButton:checked { background: #2f6db5; color: white; font-weight: bold; }")
        self.progress = QProgressBar()
        self.progress.setRange(0, target)
        self.progress.setMinimumWidth(120)
        self.split = QLabel()
        self.split.setToolTip("How this class's images divide into train · val · test")


class ClassTable(QWidget):
    """One row per class: a select button (keys 1–9), the count against the target, how training will split it."""

    class_clicked = Signal(str)

    def __init__(self, target: int, parent=None):
        super().__init__(parent)
        self.target = target
        self.rows: dict[str, _ClassRow] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.buttonClicked.connect(self._on_button_clicked)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setColumnStretch(1, 1)
        for column, title in enumerate(("class", "images", "train · val · test")):
            header = QLabel(title)
            header.setStyleSheet("color: gray;")
            self._grid.addWidget(header, 0, column)

    def add(self, name: str, count: int) -> None:
        row = _ClassRow(name, self.target)
        index = len(self.rows)
        self.rows[name] = row
        if index < 9:
            row.button.setText(f"{index + 1}  {name}")
            row.button.setToolTip(f"Select {name!r} (key {index + 1})")
        self._group.addButton(row.button)
        self._grid.addWidget(row.button, index + 1, 0)  # row 0 holds the headers
        self._grid.addWidget(row.progress, index + 1, 1)
        self._grid.addWidget(row.split, index + 1, 2)
        self.show_count(name, count)

    def select(self, name: str) -> None:
        self.rows[name].button.setChecked(True)

    def show_count(self, name: str, count: int) -> None:
        row = self.rows[name]
        row.progress.setValue(min(count, self.target))
        row.progress.setFormat(f"{count} / {self.target}")
        parts = split_counts(count)
        row.split.setText(f"{parts['train']} · {parts['val']} · {parts['test']}")
        done = count >= self.target
        row.progress.setStyleSheet("QProgressBar::chunk { background: #3a9d3a; }" if done else "")

    def _on_button_clicked(self, button) -> None:
        for name, row in self.rows.items():
            if row.button is button:
                self.class_clicked.emit(name)
                return


def thumbnail_icon(image_bgr: np.ndarray) -> QIcon:
    height, width = image_bgr.shape[:2]
    scale = THUMB_SIZE / max(height, width)
    small_bgr = cv2.resize(image_bgr, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    return QIcon(QPixmap.fromImage(bgr_to_qimage(small_bgr)))


class RecentStrip(QListWidget):
    """The newest captures as thumbnails, newest first, at most `size` of them; each item holds its SavedImage."""

    def __init__(self, size: int, parent=None):
        super().__init__(parent)
        self.size = size
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.setFixedHeight(THUMB_SIZE + 44)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def add(self, saved: SavedImage, image_bgr: np.ndarray) -> None:
        item = QListWidgetItem(thumbnail_icon(image_bgr), saved.class_name)
        item.setData(Qt.ItemDataRole.UserRole, saved)
        item.setToolTip(str(saved.path))
        self.insertItem(0, item)
        while self.count() > self.size:
            self.takeItem(self.count() - 1)

    def remove(self, saved: SavedImage) -> None:
        for index in range(self.count()):
            if self.item(index).data(Qt.ItemDataRole.UserRole).path == saved.path:
                self.takeItem(index)
                return

    def saves(self) -> list[SavedImage]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def selected(self) -> SavedImage | None:
        items = self.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None
