"""Issue #13's "Done when": does the app name the gesture with the hand anywhere, and say "none" when there is no hand?

Builds two folders from the shared HaGRID data (not shipped; see /work/shared/data), then runs
`gesture-app --headless --source FOLDER --smoothing 1` on each with `--locate auto` and with
`--locate off` (the fixed box) and scores the CSVs; and, for comparison, the app as it was before
hand finding (the fixed box classified whatever is in it: `GesturePipeline(locate=None)`, in process).

(a) `hands/<class>/`: full frames with one hand anywhere. Each hand crop of the default model's
    held-out test split (`/work/shared/data/hand-crops`, seed 0: 73 a class, never trained on) is
    pasted `--pastes` times, at a random place and size (its height 22-50 % of the frame's; edges
    feathered over 3 px), into a background: the largest hand-free part of one of the 100 `call`
    frames (`/work/shared/data/full-frames/call`: real people in real rooms), at least 240 px a
    side, its middle cut to a camera's 4:3 (or 3:4 when tall) and scaled to 480 px on its short side. "Hand-free": outside every hand the localiser finds there with its thresholds
    lowered (presence and palm score 0.2, up to 4 hands; each hand's padded square grown by 25 %,
    and each palm's hand region) and, with --reference, every hand, palm and hand region the
    `mediapipe` package itself found there, so a missed hand does not slip into a background; a
    frame where none is found is not used (every call frame holds a hand, so it is somewhere unknown).
(b) `no-hand/`: up to 4 crops a `call` frame, each a hand-free rectangle as above (the strips
    above, below, left and right of the hands, at least 160 px on each side): faces, shirts, walls,
    furniture.

    /tmp/mpvenv/bin/python benchmarks/mediapipe_reference.py /work/shared/data/full-frames/call/*.jpg \\
        --out /tmp/mp_call.json                                             # once, in mediapipe's own venv
    python benchmarks/full_frame_sets.py --out /tmp/full-frame-sets --reference /tmp/mp_call.json
    python benchmarks/full_frame_sets.py --out /tmp/full-frame-sets --no-build # score again
    python benchmarks/full_frame_sets.py --out /tmp/full-frame-sets --contact-sheet /tmp/sheet.png
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from models.classes import CLASS_NAMES, NO_GESTURE  # noqa: E402
from models.hands import HandLocaliser  # noqa: E402
from models.hands.regions import Region  # noqa: E402
from models.images import read_image_bgr  # noqa: E402

DATA = Path("/work/shared/data")
BACKGROUND_SHORT_SIDE = 480
MIN_SIDE = 160  # px of a call frame, for a no-hand crop
MIN_BACKGROUND_SIDE = 240  # px of a call frame, for a background (scaled up to 480 on its short side)
GROW = 1.25  # a found hand's padded square is grown by this much before it is avoided


def _grown(box, scale: float = GROW) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * scale / 2
    return cx - half, cy - half, cx + half, cy + half


def reference_boxes(entry: dict | None, width: int, height: int) -> list:
    """What the mediapipe package itself took for a hand (benchmarks/mediapipe_reference.py): landmark
    boxes grown to twice their side, palm boxes grown likewise, and its palm-derived hand regions."""
    if entry is None:
        return []
    boxes = []
    for hand in entry["hands"]:
        points = np.array(hand["landmarks"])[:, :2] * (width, height)
        boxes.append(_grown((*points.min(axis=0), *points.max(axis=0)), 2.0))
    for palm in entry["palms"]:
        x0, y0 = palm["xmin"] * width, palm["ymin"] * height
        boxes.append(_grown((x0, y0, x0 + palm["width"] * width, y0 + palm["height"] * height), 3.0))
    for r in entry["rects_from_palms"] + entry["rects_from_landmarks"]:
        boxes.append(Region(r["x_center"] * width, r["y_center"] * height, r["width"] * width, r["height"] * height,
                            r["rotation"]).bounding_xyxy())
    return boxes


def hand_free_rects(frame_bgr: np.ndarray, finder: HandLocaliser, reference: dict | None = None
                    ) -> tuple[list[tuple[int, int, int, int]], list]:
    """(the strips above, below, left and right of every hand, largest first; the boxes avoided).

    A hand is what our localiser finds with its thresholds lowered, and (with `reference`) what the
    mediapipe package found on the same frame; a frame where neither finds one gives no strips.
    """
    height, width = frame_bgr.shape[:2]
    avoid = [_grown(hand.crop_box_xyxy) for hand in finder.find(frame_bgr)]
    avoid += [palm.hand_region().bounding_xyxy() for palm in finder.palm_detector(frame_bgr)]
    avoid += reference_boxes(reference, width, height)
    if not avoid:
        return [], avoid  # every call frame holds a hand: one not found is somewhere unknown
    x0 = max(0, int(min(b[0] for b in avoid)))
    y0 = max(0, int(min(b[1] for b in avoid)))
    x1 = min(width, int(np.ceil(max(b[2] for b in avoid))))
    y1 = min(height, int(np.ceil(max(b[3] for b in avoid))))
    strips = [(0, 0, width, y0), (0, y1, width, height), (0, 0, x0, height), (x1, 0, width, height)]
    strips = [s for s in strips if s[2] - s[0] >= MIN_SIDE and s[3] - s[1] >= MIN_SIDE]
    strips.sort(key=lambda s: -(s[2] - s[0]) * (s[3] - s[1]))
    return strips, avoid


def camera_shaped(rect) -> tuple[int, int, int, int]:
    """The middle of a strip cut to a camera's shape: 4:3 when it is wide, 3:4 when it is tall."""
    x0, y0, x1, y1 = rect
    width, height = x1 - x0, y1 - y0
    if width >= height:
        width, height = min(width, int(height * 4 / 3)), min(height, int(width * 3 / 4))
    else:
        width, height = min(width, int(height * 3 / 4)), min(height, int(width * 4 / 3))
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    return cx - width // 2, cy - height // 2, cx - width // 2 + width, cy - height // 2 + height


def test_split_crops(seed: int = 0) -> list[tuple[str, Path]]:
    """(class, path) of the default model's held-out test split, exactly as gesture-train splits it."""
    from training.dataset import split_files

    crops = []
    for name in CLASS_NAMES:
        files = sorted((DATA / "hand-crops" / name).glob("*.jpg"))
        crops += [(name, p) for p in split_files(files, name, seed)["test"]]
    return crops


def paste(background_bgr: np.ndarray, crop_bgr: np.ndarray, rng: np.random.Generator):
    """The background with the crop pasted at a random place and size; (frame, box)."""
    frame = background_bgr.copy()
    height, width = frame.shape[:2]
    target_h = rng.uniform(0.22, 0.50) * height
    scale = target_h / crop_bgr.shape[0]
    new_w = max(8, int(round(crop_bgr.shape[1] * scale)))
    new_h = max(8, int(round(target_h)))
    if new_w >= width:
        new_w, new_h = width - 2, int(round((width - 2) / crop_bgr.shape[1] * crop_bgr.shape[0]))
    hand = cv2.resize(crop_bgr, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    x0 = int(rng.integers(0, width - new_w + 1))
    y0 = int(rng.integers(0, height - new_h + 1))
    # A 3-px feathered edge: the paste's border is not a sharp rectangle the models could key on.
    alpha = np.ones((new_h, new_w), np.float32)
    for i in range(3):
        value = (i + 1) / 4
        alpha[i, :] = np.minimum(alpha[i, :], value)
        alpha[-1 - i, :] = np.minimum(alpha[-1 - i, :], value)
        alpha[:, i] = np.minimum(alpha[:, i], value)
        alpha[:, -1 - i] = np.minimum(alpha[:, -1 - i], value)
    region = frame[y0:y0 + new_h, x0:x0 + new_w].astype(np.float32)
    frame[y0:y0 + new_h, x0:x0 + new_w] = (region * (1 - alpha[..., None]) + hand * alpha[..., None]).round().astype(np.uint8)
    return frame, (x0, y0, x0 + new_w, y0 + new_h)


def build(out: Path, pastes: int, seed: int, reference_path: Path | None = None) -> dict:
    rng = np.random.default_rng(seed)
    reference = json.loads(reference_path.read_text())["frames"] if reference_path else {}
    finder = HandLocaliser(max_hands=4, min_presence=0.2, min_palm_score=0.2)
    frames = sorted((DATA / "full-frames" / "call").glob("*.jpg"))
    backgrounds, no_hand_count = [], 0
    (out / "no-hand").mkdir(parents=True, exist_ok=True)
    manifest = {"hands": [], "no-hand": [], "seed": seed}
    for path in frames:
        frame_bgr = read_image_bgr(path)
        strips, avoid = hand_free_rects(frame_bgr, finder, reference.get(path.name))
        for index, (x0, y0, x1, y1) in enumerate(strips[:4]):
            crop = frame_bgr[y0:y1, x0:x1]
            name = f"{path.stem[:8]}_{index}.jpg"
            cv2.imwrite(str(out / "no-hand" / name), crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            manifest["no-hand"].append({"file": name, "from": path.name, "box": [x0, y0, x1, y1]})
            no_hand_count += 1
        camera = [camera_shaped(r) for r in strips if min(r[2] - r[0], r[3] - r[1]) >= MIN_BACKGROUND_SIDE]
        if camera:
            x0, y0, x1, y1 = camera[0]
            background = frame_bgr[y0:y1, x0:x1]
            scale = BACKGROUND_SHORT_SIDE / min(background.shape[:2])
            backgrounds.append((path.name, cv2.resize(background, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)))
    for name, crop_path in test_split_crops(seed=0):
        crop_bgr = read_image_bgr(crop_path)
        (out / "hands" / name).mkdir(parents=True, exist_ok=True)
        for k in range(pastes):
            bg_name, background = backgrounds[int(rng.integers(len(backgrounds)))]
            frame, box = paste(background, crop_bgr, rng)
            file = f"{crop_path.stem}_{k}.jpg"
            cv2.imwrite(str(out / "hands" / name / file), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
            manifest["hands"].append({"file": f"{name}/{file}", "class": name, "crop": crop_path.name,
                                      "background": bg_name, "box": list(box)})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"built {len(manifest['hands'])} hand frames on {len(backgrounds)} backgrounds and "
          f"{no_hand_count} no-hand photos from {len(frames)} call frames in {out}")
    return manifest


def run_app(folder: Path, locate: str, csv_path: Path, extra: list[str]) -> list[dict]:
    command = ["gesture-app", "--headless", "--source", str(folder), "--smoothing", "1", "--locate", locate,
               "--output-csv", str(csv_path), *extra]
    print("$ " + " ".join(command), flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "gesture_app", *command[1:]], capture_output=True, text=True)
    print("  " + (result.stdout.strip() or result.stderr.strip()[-500:]) + f"  [{time.perf_counter() - started:.0f} s]")
    with open(csv_path, newline="") as rows:
        return list(csv.DictReader(rows))


def score(out: Path, extra: list[str]) -> None:
    from gesture_app.core.sources import FolderSource

    hands_files = FolderSource(out / "hands").files  # the order the app plays them in
    truth = [p.parent.name for p in hands_files]
    no_hand_n = len(FolderSource(out / "no-hand").files)
    print(f"(a) {len(truth)} full frames with a hand; (b) {no_hand_n} photos with no hand")
    table = []
    for locate in ("auto", "off"):
        rows = run_app(out / "hands", locate, out / f"hands-{locate}.csv", extra)
        assert len(rows) == len(truth), (len(rows), len(truth))
        labels = [r["label"] for r in rows]
        correct = np.mean([label == t for label, t in zip(labels, truth)])
        no_hand = np.mean([r["hands"] == "0" for r in rows])
        wrong = np.mean([label not in (t, NO_GESTURE) for label, t in zip(labels, truth)])
        per_class = {c: np.mean([label == t for label, t in zip(labels, truth) if t == c]) for c in CLASS_NAMES}
        rows_b = run_app(out / "no-hand", locate, out / f"no-hand-{locate}.csv", extra)
        none_b = np.mean([r["label"] == NO_GESTURE for r in rows_b])
        no_hand_b = np.mean([r["hands"] == "0" for r in rows_b])
        table.append((locate, correct, wrong, no_hand, per_class, none_b, no_hand_b, len(rows_b)))
    before = box_without_presence(out, hands_files, truth)
    print()
    print("| --locate | (a) correct gesture | (a) another gesture | (a) no hand found | (b) `none` | (b) no hand found |")
    print("| --- | --- | --- | --- | --- | --- |")
    for locate, correct, wrong, no_hand, _, none_b, no_hand_b, _ in table:
        print(f"| {locate} | {100 * correct:.1f} % | {100 * wrong:.1f} % | {100 * no_hand:.1f} % | "
              f"{100 * none_b:.1f} % | {100 * no_hand_b:.1f} % |")
    print(f"| (before: the box, no presence check) | {100 * before[0]:.1f} % | {100 * before[1]:.1f} % | - | "
          f"{100 * before[2]:.1f} % | - |")
    for locate, *_, per_class, _, _, _ in table:
        print(f"(a) per class, --locate {locate}: " + ", ".join(f"{c} {100 * v:.1f} %" for c, v in per_class.items()))


def box_without_presence(out: Path, hands_files: list[Path], truth: list[str]) -> tuple[float, float, float]:
    """The app before hand finding (the fixed box, whatever is in it), in process: (a) correct, (a) another gesture, (b) none."""
    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.pipeline import GesturePipeline
    from gesture_app.core.sources import FolderSource
    from models import default_bundle_path

    pipeline = GesturePipeline(BundleClassifier.load(default_bundle_path(), device="cpu"), smoothing=1, locate=None)
    labels = [pipeline.process(read_image_bgr(p)).label for p in hands_files]
    none_b = [pipeline.process(read_image_bgr(p)).label == NO_GESTURE for p in FolderSource(out / "no-hand").files]
    correct = np.mean([label == t for label, t in zip(labels, truth)])
    wrong = np.mean([label not in (t, NO_GESTURE) for label, t in zip(labels, truth)])
    return float(correct), float(wrong), float(np.mean(none_b))


def contact_sheet(out: Path, path: Path, count: int = 40) -> None:
    """A grid of some built frames, to look at (hands first, then no-hand photos)."""
    rng = np.random.default_rng(1)
    picks = list(rng.choice(sorted((out / "hands").rglob("*.jpg")), count // 2, replace=False))
    picks += list(rng.choice(sorted((out / "no-hand").glob("*.jpg")), count // 2, replace=False))
    tiles = []
    for p in picks:
        image = read_image_bgr(p)
        scale = 160 / max(image.shape[:2])
        tile = np.full((160, 160, 3), 255, np.uint8)
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        tile[: small.shape[0], : small.shape[1]] = small
        tiles.append(tile)
    rows = [np.hstack(tiles[i:i + 10]) for i in range(0, len(tiles), 10)]
    cv2.imwrite(str(path), np.vstack(rows))
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="where the two folders and the CSVs go")
    p.add_argument("--pastes", type=int, default=2, help="frames made from each test crop (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference", type=Path, help="the mediapipe package's own results on the call frames "
                   "(benchmarks/mediapipe_reference.py): hands it found are kept out of backgrounds and no-hand photos too")
    p.add_argument("--no-build", action="store_true", help="score folders built before")
    p.add_argument("--contact-sheet", type=Path, help="also write a grid of some built frames here")
    p.add_argument("--app-args", default="", help="extra gesture-app flags, e.g. '--model RUNS/x/bundle'")
    args = p.parse_args(argv)
    if not args.no_build:
        build(args.out, args.pastes, args.seed, args.reference)
    if args.contact_sheet:
        contact_sheet(args.out, args.contact_sheet)
    score(args.out, args.app_args.split())
    return 0


if __name__ == "__main__":
    sys.exit(main())
