"""The video widget both windows use: paints a frame letterboxed; dragging moves the box, scrolling resizes it,
a double-click asks for the box to be reset.

A click alone never moves the box: the click that brings the window to the front would otherwise
move it. Only a press that then moves past the platform's drag distance (a few pixels) is a drag,
and the box follows the mouse by as much as the mouse has moved since the press.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget


class VideoView(QWidget):
    box_drag_started = Signal()  # a press became a drag: the window notes where the box was
    box_dragged = Signal(float, float)  # how far the mouse has moved since the press, in frame fractions (x, y)
    box_reset_requested = Signal()  # a double-click
    roi_resized = Signal(float)  # scroll steps: +1 larger, -1 smaller

    def __init__(self, parent=None, minimum_size: tuple[int, int] = (320, 240)):
        super().__init__(parent)
        self._image: QImage | None = None
        self._target = QRectF()  # where the frame was last painted, for mouse positions
        self._press: QPointF | None = None  # where the left button went down, while it is down
        self._dragging = False
        self.setMinimumSize(*minimum_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # Every paint covers the whole widget, so Qt need not clear it first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Drag to move the box, scroll to resize it; double-click (or 0) puts it back")

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is not None and not self._image.isNull():
            size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = (self.width() - size.width()) / 2
            y = (self.height() - size.height()) / 2
            self._target = QRectF(x, y, size.width(), size.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._target, self._image)
        painter.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._dragging = False

    def mouseMoveEvent(self, event) -> None:
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton or self._target.isEmpty():
            return
        moved = event.position() - self._press
        if not self._dragging:
            if moved.manhattanLength() < QApplication.startDragDistance():
                return  # still a click
            self._dragging = True
            self.box_drag_started.emit()
        self.box_dragged.emit(moved.x() / self._target.width(), moved.y() / self._target.height())

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = None
            self._dragging = False

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = None
            self.box_reset_requested.emit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.roi_resized.emit(steps)
