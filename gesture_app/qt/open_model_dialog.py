"""gesture-app's Open model dialog: the recent bundles by run, data and date, the bundled default, or a folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from models.bundle import default_bundle_path

from ..core.bundles import RecentBundle, title_of


class OpenModelDialog(QDialog):
    """Lists `recent` (newest first) under the bundled default; Browse… picks any bundle folder.

    After exec(), `chosen_path` is the bundle to open, or None.
    """

    def __init__(self, recent: list[RecentBundle], *, browse_from: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Open model")
        self.chosen_path: Path | None = None
        self._browse_from = str(browse_from or Path.cwd())
        self.list = QListWidget()
        self.list.setMinimumWidth(560)
        self.list.setAlternatingRowColors(True)
        default = default_bundle_path()
        if default is not None:
            self._add(default, title_of(default), "the model that ships with the app")
        for entry in recent:
            classes = ", ".join(entry.classes)
            self._add(entry.path, entry.title, f"{classes} — {entry.path}" if classes else str(entry.path))
        self.list.itemDoubleClicked.connect(lambda item: self.choose(self.list.row(item)))
        if self.list.count():
            self.list.setCurrentRow(1 if recent and default is not None else 0)  # the newest recent bundle

        browse = QPushButton("Browse for a bundle folder…")
        browse.clicked.connect(self.browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(lambda: self.choose(self.list.currentRow()))
        buttons.rejected.connect(self.reject)
        buttons.addButton(browse, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Recent bundles (run · data · trained), newest first:" if recent else
                                "No recent bundles yet: the ones you open, train or export appear here."))
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def _add(self, path: Path, title: str, detail: str) -> None:
        item = QListWidgetItem(f"{title}\n    {detail}")
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        item.setToolTip(str(path))
        self.list.addItem(item)

    def titles(self) -> list[str]:
        """The first line of each entry, in order (the bundled default first)."""
        return [self.list.item(i).text().splitlines()[0] for i in range(self.list.count())]

    def choose(self, row: int) -> None:
        if 0 <= row < self.list.count():
            self.chosen_path = Path(self.list.item(row).data(Qt.ItemDataRole.UserRole))
            self.accept()

    def browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a model bundle (the bundle/ folder gesture-train wrote)", self._browse_from)
        if path:
            self.chosen_path = Path(path)
            self.accept()
