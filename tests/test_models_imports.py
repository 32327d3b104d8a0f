"""What `models/`, `cli_common/` and `training/` may import, read from their source: models is the layer both
sides stand on, so it imports neither side nor argparse; cli_common imports nothing of the project; training
never imports the app."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imported_roots(folder: Path) -> dict[str, set[str]]:
    """{file: top-level names it imports} for every .py file under `folder`, relative imports resolved to it."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        roots = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots.add(folder.name if node.level else (node.module or "").split(".")[0])
        found[str(path.relative_to(REPO))] = roots
    return found


@pytest.mark.parametrize("folder, forbidden", [
    ("models", {"argparse", "training", "gesture_app", "cli_common", "PySide6"}),
    ("cli_common", {"models", "training", "gesture_app", "PySide6", "tensorflow", "keras"}),
    ("training", {"gesture_app", "PySide6"}),  # training runs without the app or Qt (evaluate --locate too)
])
def test_shared_layers_import_only_below_themselves(folder, forbidden):
    files = _imported_roots(REPO / folder)
    assert files, f"no modules under {folder}/"
    offending = {name: sorted(roots & forbidden) for name, roots in files.items() if roots & forbidden}
    assert not offending, offending
