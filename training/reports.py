"""Metrics and report files: metrics.json, curves.png, confusion_matrix.png, summary.md."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from models.atomic_files import atomic_write_text
from models.schedule import SCHEDULE


def classification_metrics(y_true, y_pred, classes) -> dict:
    """Accuracy, macro F1, error rate, per-class precision/recall/F1 and the confusion matrix.

    Macro F1 averages over the classes present in y_true, so a folder holding only
    some of the model's classes is scored on those. The confusion matrix always
    covers every class of the model (rows = true class, in class-index order).
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    all_labels = list(range(len(classes)))
    present = sorted(set(y_true.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=all_labels, zero_division=0
    )
    accuracy = float(accuracy_score(y_true, y_pred))
    return {
        "accuracy": accuracy,
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "error_rate": 1.0 - accuracy,
        "count": int(len(y_true)),
        "classes": list(classes),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, name in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=all_labels).tolist(),
    }


def labels_from_confusion(matrix) -> tuple[np.ndarray, np.ndarray]:
    """Expand a confusion matrix back into (y_true, y_pred) pairs."""
    matrix = np.asarray(matrix, dtype=int)
    y_true, y_pred = [], []
    for t in range(matrix.shape[0]):
        for p in range(matrix.shape[1]):
            y_true += [t] * matrix[t, p]
            y_pred += [p] * matrix[t, p]
    return np.array(y_true), np.array(y_pred)


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a crash leaves the old file or none, never half a file)."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def read_history(path: Path) -> dict[str, list[float]]:
    """history.csv -> {column: values}, keeping the last row of any epoch repeated by a resume."""
    if not path.is_file():
        return {}
    rows: dict[int, dict] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "").strip().isdigit():
                rows[int(row["epoch"])] = row
    if not rows:
        return {}
    ordered = [rows[e] for e in sorted(rows)]
    return {key: [float(r[key]) for r in ordered if r.get(key) not in (None, "")] for key in ordered[0]}


def plot_curves(history: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [int(e) + 1 for e in history.get("epoch", [])]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for key, label, style in ((metric, "train", "-"), (f"val_{metric}", "validation", "--")):
            if history.get(key):
                ax.plot(epochs[: len(history[key])], history[key], style, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.set_title(f"{title}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(matrix, classes, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=list(classes)).plot(ax=ax, cmap="Blues", colorbar=False)
    ax.set_title(title)
    ax.set_ylabel("true class")
    ax.set_xlabel("predicted class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _f1(value) -> str:
    return "—" if value is None else f"{value:.4f}"


# A test split this small per class makes a run's figures coarse (one image moves a class's recall
# by 5 points or more).
TINY_TEST_PER_CLASS = 20
# Near chance: test accuracy below 1.5x chance (1 / classes), or below chance plus two binomial
# standard errors on this many test images (a guesser passes that about 1 time in 40),
# whichever is higher.
CHANCE_FACTOR = 1.5
CHANCE_STANDARD_ERRORS = 2.0


def chance_bar(num_classes: int, test_images: int) -> tuple[float, float]:
    """(chance accuracy, the accuracy below which a run counts as near chance)."""
    chance = 1.0 / num_classes
    margin = CHANCE_STANDARD_ERRORS * np.sqrt(chance * (1 - chance) / max(test_images, 1))
    return chance, max(CHANCE_FACTOR * chance, chance + margin)


def result_warnings(test: dict) -> dict[str, str]:
    """{"near chance" | "tiny test split": a sentence saying why} for a run's test metrics."""
    supports = [c["support"] for c in test["per_class"].values() if c["support"] > 0]
    count = test.get("count", sum(supports))
    chance, bar = chance_bar(len(supports) or len(test["classes"]), count)
    found = {}
    if test["accuracy"] < bar:
        found["near chance"] = (
            f"test accuracy {100 * test['accuracy']:.1f} % is near chance: guessing among {len(supports)} classes gives "
            f"{100 * chance:.0f} %, and on {count} test images anything below {100 * bar:.0f} % "
            "(1.5x chance, or chance plus two standard errors) says little more than a guess"
        )
    if supports and min(supports) < TINY_TEST_PER_CLASS:
        found["tiny test split"] = (
            f"the test split is tiny: {min(supports)} image(s) in its smallest class (fewer than {TINY_TEST_PER_CLASS}), "
            f"so one image moves that class's recall by {100 / min(supports):.0f} points"
        )
    return found


SEED_NOTE = (
    "The seed columns are the results reported by the reference document this project reproduces (the "
    "\"seed\"), for the same runs on its own dataset: 550 photos per class, 50 per class for testing, with "
    "ImageNet weights and 224-px inputs. They show what the documented schedule reached there; a run on other "
    "data, with `--weights none`, smaller inputs or fewer epochs is not expected to match them."
)


def write_summary(runs_dir: Path, run_names: list[str]) -> Path:
    """RUNS/summary.md: every finished run in one table, the seed's figures beside them, doubtful figures flagged."""
    lines = [
        "# Training summary",
        "",
        "Test figures are on this dataset's held-out test split. " + SEED_NOTE,
        "",
        "| run | val acc (final) | val acc (best) | test acc | test macro F1 | test error rate | seed val acc | seed macro F1 | epochs | input | read with care |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    cautions = []
    details = []
    for name in run_names:
        metrics_file = runs_dir / name / "metrics.json"
        if not metrics_file.is_file():
            continue
        metrics = json.loads(metrics_file.read_text())
        reported = SCHEDULE[name].reported if name in SCHEDULE else None
        test, val, config = metrics["test"], metrics.get("val", {}), metrics.get("config", {})
        flags = result_warnings(test)
        lines.append(
            f"| {SCHEDULE[name].title if name in SCHEDULE else name} | {_pct(val.get('accuracy'))} | "
            f"{_pct(val.get('best_accuracy'))} | {_pct(test['accuracy'])} | {_f1(test['macro_f1'])} | "
            f"{_pct(test['error_rate'])} | {_pct(reported.val_accuracy if reported else None)} | "
            f"{_f1(reported.macro_f1 if reported else None)} | {config.get('epochs', '—')} | "
            f"{config.get('input_size', '—')} px | {'; '.join(flags) or '—'} |"
        )
        cautions += [f"- **{name}**: {why}." for why in flags.values()]
        details += [
            f"## {name}",
            "",
            f"![curves]({name}/curves.png) ![confusion matrix]({name}/confusion_matrix.png)",
            "",
        ]
        if (runs_dir / name / "explain.png").is_file():
            details += [f"[Where it looks]({name}/explain.png): Grad-CAM heat maps of test images, misclassified first.", ""]
        details += [
            f"Test confusion matrix (rows = true {', '.join(test['classes'])}): `{test['confusion_matrix']}`",
        ]
        if reported:
            details.append(f"The reference document's (seed's): `{[list(r) for r in reported.confusion_matrix]}`")
        details.append("")
    if cautions:
        lines += ["", "## Read with care", "", *cautions]
    path = runs_dir / "summary.md"
    atomic_write_text(path, "\n".join(lines + [""] + details) + "\n")
    return path
