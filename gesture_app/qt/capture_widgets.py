"""The capture window's two lists: the classes with their counts (and, once trained, their test accuracy),
and the strip of the last captures."""

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


# A class's test accuracy below these is shown as weak (red) or so-so (amber).
WEAK_ACCURACY = 0.7
FAIR_ACCURACY = 0.9


class _ClassRow:
    """The widgets of one class: its select button, progress against the target, split line and test accuracy."""

    def __init__(self, name: str, target: int):
        self.name = name
        self.button = QPushButton(name)
        self.button.setCheckable(True)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setMinimumWidth(90)
        self.button.setStyleSheet("QPushButton:checked { background: #2f6db5; color: white; font-weight: bold; }")
        self.progress = QProgressBar()
        self.progress.setRange(0, target)
        self.progress.setMinimumWidth(100)
        self.split = QLabel()
        self.split.setToolTip("How this class's images divide into train · val · test")
        self.accuracy = QLabel("")
        self.accuracy.setMinimumWidth(70)


class ClassTable(QWidget):
    """One row per class: a select button (keys 1–9), the count against the target, how training will split it,
    and after a training its accuracy on the held-out test images.

    The count is shown against `first_target` (what the landmark head needs to be useful) until the
    class has that many, then against `target` (the documented 550 of the full schedule).
    """

    class_clicked = Signal(str)

    def __init__(self, target: int, first_target: int | None = None, parent=None):
        super().__init__(parent)
        self.target = target
        self.first_target = first_target if first_target is not None and first_target < target else None
        self.rows: dict[str, _ClassRow] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.buttonClicked.connect(self._on_button_clicked)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setColumnStretch(1, 1)
        for column, title in enumerate(("class", "images", "split", "test acc")):
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
        self._grid.addWidget(row.accuracy, index + 1, 3)
        self.show_count(name, count)

    def select(self, name: str) -> None:
        self.rows[name].button.setChecked(True)

    def show_count(self, name: str, count: int) -> None:
        row = self.rows[name]
        first = self.first_target
        if first is not None and count < first:
            row.progress.setRange(0, first)
            row.progress.setValue(count)
            row.progress.setFormat(f"{count} / {first}")
            row.progress.setToolTip(f"{first} images a class are a first target: enough for the landmark head "
                                    f"(Train). The full schedule's documented target is {self.target}.")
        else:
            row.progress.setRange(0, self.target)
            row.progress.setValue(min(count, self.target))
            row.progress.setFormat(f"{count} / {self.target}")
            row.progress.setToolTip(f"The documented target for the full schedule: {self.target} a class.")
        parts = split_counts(count)
        row.split.setText(f"{parts['train']}·{parts['val']}·{parts['test']}")
        done = count >= self.target
        first_done = first is not None and count >= first
        chunk = "#3a9d3a" if done else "#8cc48c" if first_done else None
        row.progress.setStyleSheet(f"QProgressBar {{ text-align: center; }} QProgressBar::chunk {{ background: {chunk}; }}"
                                   if chunk else "")

    def show_accuracy(self, name: str, correct: int | None, count: int | None) -> None:
        """A class's accuracy on the last training's held-out test images; None clears it (a class not trained)."""
        row = self.rows[name]
        if correct is None or not count:
            row.accuracy.setText("–" if correct is not None else "")
            row.accuracy.setStyleSheet("")
            row.accuracy.setToolTip("Not in the last training's test split." if correct is not None else "")
            return
        accuracy = correct / count
        row.accuracy.setText(f"{accuracy * 100:.0f}% {correct}/{count}")
        weak = accuracy < WEAK_ACCURACY
        fair = accuracy < FAIR_ACCURACY
        row.accuracy.setStyleSheet("color: white; background: #c03030; font-weight: bold; padding: 0 3px;" if weak else
                                   "color: black; background: #f0c040; padding: 0 3px;" if fair else "")
        row.accuracy.setToolTip(
            f"{correct} of the {count} held-out test images of {name!r} were recognised by the last training "
            "(images it never trained on; a photo where no hand was found counts as wrong)."
            + (" Weak: record more of this gesture (other angles, distances, light) and train again." if fair else "")
            + (" So few test images make this a rough figure." if count < 10 else "")
        )

    def clear_accuracy(self) -> None:
        for name in self.rows:
            self.show_accuracy(name, None, None)

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
