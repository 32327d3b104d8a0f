"""The capture window's Train box: Train, the progress bar with the time left, Cancel, the CNN offer,
Try it, Export and Open in gesture-app. Widgets only: the window connects them and decides."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QProgressBar, QPushButton, QVBoxLayout

from ..core.training_job import CNN_MIN_PER_CLASS, JobStatus, format_left


def _no_focus(*widgets) -> None:
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class TrainPanel(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Train and try", parent)
        self.train_button = QPushButton("Train (T)")
        self.train_button.setMinimumHeight(36)
        self.train_button.setStyleSheet("QPushButton { font-weight: bold; }")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cnn_button = QPushButton("Also train the CNN")
        self.try_button = QPushButton("Try it (Y)")
        self.try_button.setCheckable(True)
        self.try_button.setStyleSheet("QPushButton:checked { background: #2f6db5; color: white; font-weight: bold; }")
        self.export_button = QPushButton("Export…")
        self.open_app_button = QPushButton("Open in gesture-app")
        for button in (self.try_button, self.export_button, self.open_app_button):
            button.setEnabled(False)
        _no_focus(self.train_button, self.cancel_button, self.cnn_button, self.try_button, self.export_button,
                  self.open_app_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.status = QLabel("Record a few dozen images of each class, then Train.")
        self.status.setWordWrap(True)
        self.bundle_label = QLabel()
        self.bundle_label.setWordWrap(True)
        self.bundle_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command_label = QLabel()
        self.command_label.setWordWrap(True)
        self.command_label.setStyleSheet("color: gray; font-size: 10px;")
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command_label.setToolTip("What the button runs: the same command works in a terminal")

        grid = QGridLayout()
        grid.addWidget(self.train_button, 0, 0)
        grid.addWidget(self.cancel_button, 0, 1)
        grid.addWidget(self.cnn_button, 0, 2)
        grid.addWidget(self.try_button, 1, 0)
        grid.addWidget(self.export_button, 1, 1)
        grid.addWidget(self.open_app_button, 1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.bundle_label)
        layout.addWidget(self.command_label)
        self.set_cnn_offer(False, resume=False)

    def set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.cnn_button.setEnabled(False)
        else:
            self.progress.setRange(0, 1000)

    def set_cnn_offer(self, offered: bool, *, resume: bool) -> None:
        self.cnn_button.setText("Resume the CNN" if resume else "Also train the CNN")
        self.cnn_button.setEnabled(offered or resume)
        self.cnn_button.setToolTip(
            "The compact CNN, trained from scratch on the pixels, beside the landmark head (a longer job: minutes "
            "to an hour on a CPU; keep recording meanwhile). The bundle then holds both heads, fused as in gesture-app."
            + ("" if offered or resume else f" Offered from {CNN_MIN_PER_CLASS} images in every class.")
            + (" An interrupted CNN run continues where it stopped." if resume else "")
        )

    def show_status(self, status: JobStatus) -> None:
        progress = status.progress
        if status.finished:
            self.progress.setRange(0, 1000)
            self.progress.setValue(1000 if status.state == "done" else 0)
            self.progress.setFormat({"done": "trained", "cancelled": "cancelled", "failed": "failed"}.get(status.state, ""))
        elif progress is not None and progress.fraction is not None:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(round(progress.fraction * 1000)))
            left = f" · {format_left(progress.seconds_left)}" if progress.seconds_left is not None else ""
            self.progress.setFormat(f"%p %{left}")
        else:
            self.progress.setRange(0, 0)  # busy: starting, or writing reports
        self.status.setText(status.describe())
        self.status.setStyleSheet("color: #c03030;" if status.state == "failed" else "")

