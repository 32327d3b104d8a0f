"""Packages depend one way, checked over whole folders, not a list of modules.

Everything under gesture_app/core/, gesture_app/actions/, models/, training/ and cli_common/ imports
in a fresh interpreter without loading PySide6 (nor, outside the app, gesture_app), and no source
line of the app's core, its actions or training imports PySide6; training never imports
gesture_app (models/ and cli_common/ are read the same way in test_models_imports.py); the app's
core loads neither TensorFlow nor training until a model is loaded. Only gesture_app/qt/ may name
PySide6 at all.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# models/ and cli_common/ have the same source checks, and more, in test_models_imports.py.
QT_FREE_PACKAGES = ("gesture_app.core", "gesture_app.actions", "training")


def modules_under(package: str) -> list[str]:
    """The package and every module and subpackage below it, found on disk."""
    folder = ROOT.joinpath(*package.split("."))
    return sorted([package] + [info.name for info in pkgutil.walk_packages([str(folder)], prefix=f"{package}.")])


def source_files(package: str) -> list[Path]:
    return sorted(ROOT.joinpath(*package.split(".")).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in the file names (relative ones resolved), at any depth."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = parts[:-1]  # of a module, its package; of an __init__.py, the package itself
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def modules_loaded_by(imports: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of `packages` that importing `imports` loads, in a fresh interpreter."""
    code = (
        "import sys, importlib\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_folders_are_found():
    core = modules_under("gesture_app.core")
    assert {"gesture_app.core.stream", "gesture_app.core.capture.controller", "gesture_app.core.capture.writer"} <= set(core)
    assert "models.dataset_rules" in modules_under("models") and "training.runner" in modules_under("training")


@pytest.mark.parametrize("package", QT_FREE_PACKAGES)
def test_no_source_line_outside_the_qt_folder_imports_pyside6(package):
    offenders = {str(path.relative_to(ROOT)) for path in source_files(package)
                 if any(name.split(".")[0] == "PySide6" for name in imported_names(path))}
    assert offenders == set()


def test_only_the_qt_folder_names_pyside6_in_the_app():
    offenders = [str(path.relative_to(ROOT)) for path in source_files("gesture_app")
                 if "PySide6" in path.read_text(encoding="utf-8") and "qt" not in path.relative_to(ROOT).parts]
    assert offenders == []


def test_training_never_imports_the_app():
    offenders = {str(path.relative_to(ROOT)) for path in source_files("training")
                 if any(name.split(".")[0] == "gesture_app" for name in imported_names(path))}
    assert offenders == set()


def test_every_qt_free_module_imports_without_qt_or_the_app():
    app_free = modules_under("models") + modules_under("training") + modules_under("cli_common")
    assert modules_loaded_by(app_free, ("PySide6", "gesture_app")) == []
    app_core = modules_under("gesture_app.core") + modules_under("gesture_app.actions")
    assert modules_loaded_by(app_core, ("PySide6",)) == []


def test_core_modules_import_neither_tensorflow_nor_training():
    # TensorFlow loads lazily, with the first model.
    app_core = modules_under("gesture_app.core") + modules_under("gesture_app.actions")
    assert modules_loaded_by(app_core, ("tensorflow", "training")) == []


def test_actions_import_neither_qt_tensorflow_nor_pynput():
    # pynput opens the X display when imported, so it must wait until a real sender is made.
    assert modules_loaded_by(["gesture_app.actions"], ("PySide6", "tensorflow", "pynput")) == []


def test_explain_modules_stay_free_of_qt_and_tensorflow():
    assert modules_loaded_by(["models.explain", "gesture_app.core.explain_view"],
                             ("PySide6", "tensorflow", "keras", "training")) == []
