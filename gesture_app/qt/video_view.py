"""The video widget both windows use: paints a frame letterboxed; click or drag moves the box, scroll resizes it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class VideoView(QWidget):
    roi_moved = Signal(float, float)  # new centre, in frame fractions
    roi_resized = Signal(float)  # scroll steps: +1 larger, -1 smaller

    def __init__(self, parent=None, minimum_size: tuple[int, int] = (320, 240)):
        super().__init__(parent)
        self._image: QImage | None = None
        self._target = QRectF()  # where the frame was last painted, for mouse positions
        self.setMinimumSize(*minimum_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # Every paint covers the whole widget, so Qt need not clear it first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Click or drag to move the box; scroll to resize it")

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

    def _fractions(self, position: QPointF) -> tuple[float, float] | None:
        if self._target.isEmpty():
            return None
        return (
            (position.x() - self._target.x()) / self._target.width(),
            (position.y() - self._target.y()) / self._target.height(),
        )

    def mousePressEvent(self, event) -> None:
        self.mouseMoveEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            where = self._fractions(event.position())
            if where is not None:
                self.roi_moved.emit(*where)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.roi_resized.emit(steps)
