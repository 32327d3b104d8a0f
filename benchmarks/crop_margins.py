"""How much margin a folder of hand crops leaves around the hand's landmarks: what `crop: tight` copies.

For each image the localiser finds the hand's 21 landmarks (`find_in_region` on the whole image, as
training does) and the margin on each side between their box and the image's edge is measured as a
fraction of the landmark box (left and right of its width, top and bottom of its height). Prints
the median per side and the images' aspect ratio, for every class and all together.

    python benchmarks/crop_margins.py                                   # ../shared/data/hand-crops
    python benchmarks/crop_margins.py --data DATA --cache /tmp/landmark_cache
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from models.classes import CLASS_NAMES  # noqa: E402
from models.images import read_image_bgr  # noqa: E402
from training.dataset import list_labelled_folder  # noqa: E402
from training.landmark_data import image_landmarks  # noqa: E402

SIDES = ("left", "top", "right", "bottom")


def margins(points_px: np.ndarray, width: int, height: int) -> np.ndarray:
    """(4,) left, top, right, bottom margins as fractions of the landmark box's width / height."""
    (x0, y0), (x1, y1) = points_px[:, :2].min(axis=0), points_px[:, :2].max(axis=0)
    box_w, box_h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    return np.array([x0 / box_w, y0 / box_h, (width - x1) / box_w, (height - y1) / box_h])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/hand-crops"))
    parser.add_argument("--cache", default=None, help="landmark cache folder (default: none, memory only)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    items, _ = list_labelled_folder(args.data, tuple(CLASS_NAMES), "all", 0)
    paths = [path for path, _ in items]
    labels = np.array([label for _, label in items])
    found = image_landmarks(paths, root=Path(args.data), cache_dir=Path(args.cache) if args.cache else None)
    rows, aspects, kept = [], [], []
    for index, path in enumerate(paths):
        height, width = read_image_bgr(path).shape[:2]
        aspects.append(width / height)
        if found.found[index]:
            rows.append(margins(found.points_px[index], width, height))
            kept.append(CLASS_NAMES[labels[index]])
    rows, kept = np.array(rows), np.array(kept)
    report = {"images": len(paths), "hands_found": len(rows),
              "median_aspect_w_over_h": float(np.median(aspects))}
    print(f"{len(paths)} images, a hand found in {len(rows)}; median aspect (w/h) {np.median(aspects):.3f}")
    print(f"{'':8}" + "".join(f"{side:>8}" for side in SIDES))
    for label in sorted(set(kept.tolist())) + [None]:
        chosen = rows if label is None else rows[kept == label]
        median = np.median(chosen, axis=0)
        name = "all" if label is None else str(label)
        report[name] = dict(zip(SIDES, (round(float(v), 4) for v in median)))
        print(f"{name:8}" + "".join(f"{v:8.3f}" for v in median))
    quartiles = np.percentile(rows, [25, 75], axis=0)
    report["all_quartiles"] = {side: [round(float(q), 4) for q in quartiles[:, i]] for i, side in enumerate(SIDES)}
    print("all, 25th-75th percentile: " + ", ".join(f"{side} {lo:.3f}-{hi:.3f}" for side, (lo, hi)
                                                     in zip(SIDES, quartiles.T)))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
