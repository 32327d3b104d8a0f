"""How well and how fast models/hands finds hands, on the shared HaGRID data (not shipped; see /work/shared).

Accuracy (--only accuracy):
- full frames: the 100 `call` photos, `find` with max_hands=2, against the `mediapipe` package's
  own results on the same files (--reference, from benchmarks/mediapipe_reference.py): hand
  counts, IoU of the landmark boxes, landmark error, handedness;
- hand crops: the 4,000 tight crops (800 a class), `find_in_region` on the whole crop;
- no-hand crops, cut from the full frames where MediaPipe found a hand: each frame's face
  (MediaPipe's face box, or when that touches a hand's padded crop box the first of its top, left,
  right or bottom halves that does not) and up to 3
  squares the size of the frame's hand crop with IoU 0 to every hand, palm and hand region either
  finder saw; rejected when `find_in_region` returns None (also reported: the direct landmark
  pass alone, presence >= 0.5);
- no-hand strips: the largest strip of each such frame beside all of those regions (at least a
  quarter of the frame), given to `find` whole (palm detection and all).
Speed (--only speed): per-stage p50/p95 in ms: palm detection, one landmark pass, `find`,
`track` on steady-hand clips (one landmark pass a frame), `find_in_region` on crops.

    /tmp/mpvenv/bin/python benchmarks/mediapipe_reference.py /work/shared/data/full-frames/call/*.jpg \\
        --out /tmp/mp_call.json                                  # once, in mediapipe's own venv
    python benchmarks/hand_finding.py --reference /tmp/mp_call.json
    python benchmarks/hand_finding.py --only speed --threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from hands_helpers import moving_video  # noqa: E402

from models.hands import HandLocaliser  # noqa: E402
from models.hands.regions import Region, iou_xyxy  # noqa: E402

DATA = Path("/work/shared/data")
CLASSES = ("cool", "fist", "ok", "stop", "yo")


def pcts(samples_ms) -> str:
    return f"p50 {np.percentile(samples_ms, 50):6.2f} ms  p95 {np.percentile(samples_ms, 95):6.2f} ms  (n={len(samples_ms)})"


def _box_of(points_xy) -> tuple[float, float, float, float]:
    points_xy = np.asarray(points_xy)
    return (*points_xy.min(axis=0), *points_xy.max(axis=0))


def _mediapipe_hands(entry: dict) -> list[dict]:
    scale = np.array([entry["width"], entry["height"]])
    return [dict(h, points=np.array(h["landmarks"])[:, :2] * scale) for h in entry["hands"]]


def full_frames(localiser: HandLocaliser, frames: dict, reference: dict | None) -> None:
    found = same_count = 0
    ious, errors, handedness_agree = [], [], 0
    for name, frame_bgr in frames.items():
        hands = localiser.find(frame_bgr)
        found += bool(hands)
        if reference is None:
            continue
        theirs = _mediapipe_hands(reference[name])
        same_count += len(theirs) == len(hands)
        for hand in theirs:
            box = _box_of(hand["points"])
            mine = max(hands, key=lambda h: iou_xyxy(h.box_xyxy, box), default=None)
            if mine is None or iou_xyxy(mine.box_xyxy, box) == 0:
                continue
            ious.append(iou_xyxy(mine.box_xyxy, box))
            size = max(box[2] - box[0], box[3] - box[1])
            errors.append(np.linalg.norm(mine.landmarks_px[:, :2] - hand["points"], axis=1).mean() / size)
            handedness_agree += mine.handedness == hand["handedness"].lower()
    print(f"full frames: {len(frames)} photos, a hand found in {found} ({found / len(frames):.0%})")
    if reference is not None:
        theirs_found = sum(bool(reference[n]["hands"]) for n in frames)
        print(f"  mediapipe found a hand in {theirs_found}; same number of hands in {same_count}/{len(frames)} photos")
        print(f"  {len(ious)} of mediapipe's hands matched: landmark-box IoU median {np.median(ious):.3f}, "
              f"min {np.min(ious):.3f}; mean landmark error median {np.median(errors):.2%} of hand size, "
              f"max {np.max(errors):.2%}; handedness agrees on {handedness_agree}/{len(ious)}")


def hand_crops(localiser: HandLocaliser, per_class: int) -> None:
    print(f"hand crops: find_in_region on the whole crop ({per_class} a class)")
    total_found = total = 0
    for name in CLASSES:
        paths = sorted((DATA / "hand-crops" / name).glob("*.jpg"))[:per_class]
        palm_before, found = localiser.calls["palm"], 0
        for path in paths:
            crop_bgr = cv2.imread(str(path))
            found += localiser.find_in_region(crop_bgr, (0, 0, crop_bgr.shape[1], crop_bgr.shape[0])) is not None
        fallbacks = localiser.calls["palm"] - palm_before
        print(f"  {name:5s} accepted {found}/{len(paths)} ({found / len(paths):.1%}); palm fallback ran on {fallbacks}")
        total_found, total = total_found + found, total + len(paths)
    print(f"  all   accepted {total_found}/{total} ({total_found / total:.1%})")


def _no_hand_boxes(localiser: HandLocaliser, frame_bgr, entry: dict, rng) -> list[tuple[str, tuple]]:
    """Faces and background squares with IoU 0 to anything either finder took for a hand."""
    height, width = frame_bgr.shape[:2]
    scale = np.array([width, height, width, height])
    avoid = [Region.square_around(*_box_of(h["points"]), 1.6).bounding_xyxy() for h in _mediapipe_hands(entry)]
    avoid += [p.hand_region().bounding_xyxy() for p in localiser.palm_detector(frame_bgr)]
    avoid += [h.region.bounding_xyxy() for h in localiser.find(frame_bgr)]
    avoid += [Region(r["x_center"] * width, r["y_center"] * height, r["width"] * width, r["height"] * height,
                     r["rotation"]).bounding_xyxy() for r in entry["rects_from_palms"]]
    clear = lambda box: all(iou_xyxy(box, a) == 0 for a in avoid)  # noqa: E731
    inside = lambda box: box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height  # noqa: E731
    boxes = []
    # Faces sit next to the hand in most of these photos: a face counts when its own box does not
    # touch any hand's padded crop box (the wide regions above would exclude nearly all of them).
    hand_boxes = [h.crop_box_xyxy for h in localiser.find(frame_bgr)]
    hand_boxes += [Region.square_around(*_box_of(h["points"]), 1.3).bounding_xyxy() for h in _mediapipe_hands(entry)]
    for face in entry["faces"]:
        x0, y0, x1, y1 = np.array([face[0], face[1], face[0] + face[2], face[1] + face[3]]) * scale
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        # The whole face if it is clear of the hands, else the first clear half of it.
        for part in ((x0, y0, x1, y1), (x0, y0, x1, ym), (x0, y0, xm, y1), (xm, y0, x1, y1), (x0, ym, x1, y1)):
            if all(iou_xyxy(part, b) == 0 for b in hand_boxes) and inside(part):
                boxes.append(("face", part))
                break
    x0, y0, x1, y1 = _box_of(_mediapipe_hands(entry)[0]["points"])
    side = max(x1 - x0, y1 - y0) * 1.3  # about a training crop's size
    faces = [b for _, b in boxes]
    for _ in range(200):
        if sum(kind == "background" for kind, _ in boxes) == 3:
            break
        x0, y0 = rng.uniform(0, width - side), rng.uniform(0, height - side)
        box = (x0, y0, x0 + side, y0 + side)
        if clear(box) and all(iou_xyxy(box, b) == 0 for b in faces + [b for k, b in boxes if k == "background"]):
            boxes.append(("background", box))
    return boxes


def _largest_clear_strip(localiser: HandLocaliser, frame_bgr, entry: dict):
    """The biggest band left, right, above or below every hand region, or None if under a quarter of the frame."""
    height, width = frame_bgr.shape[:2]
    regions = [Region.square_around(*_box_of(h["points"]), 2.0).bounding_xyxy() for h in _mediapipe_hands(entry)]
    regions += [p.hand_region().bounding_xyxy() for p in localiser.palm_detector(frame_bgr)]
    x0 = min(r[0] for r in regions)
    y0 = min(r[1] for r in regions)
    x1 = max(r[2] for r in regions)
    y1 = max(r[3] for r in regions)
    bands = [(0, 0, int(x0), height), (int(np.ceil(x1)), 0, width, height),
             (0, 0, width, int(y0)), (0, int(np.ceil(y1)), width, height)]
    bands = [(max(a, 0), max(b, 0), min(c, width), min(d, height)) for a, b, c, d in bands]
    best = max(bands, key=lambda b: max(b[2] - b[0], 0) * max(b[3] - b[1], 0))
    area = max(best[2] - best[0], 0) * max(best[3] - best[1], 0)
    return best if area >= width * height / 4 else None


def no_hand_crops(localiser: HandLocaliser, frames: dict, reference: dict, save_to: Path | None) -> None:
    rng = np.random.default_rng(0)
    counts: dict[str, list[int]] = {}
    strips = [0, 0]
    for name, frame_bgr in frames.items():
        if not reference[name]["hands"]:
            continue  # a hand MediaPipe missed could be anywhere in the photo
        for kind, box in _no_hand_boxes(localiser, frame_bgr, reference[name], rng):
            hand = localiser.find_in_region(frame_bgr, box)
            direct = localiser.landmark_model(frame_bgr, Region.square_around(*box, 1.3)).presence >= 0.5
            stats = counts.setdefault(kind, [0, 0, 0])
            stats[0] += 1
            stats[1] += hand is None
            stats[2] += not direct
            if hand is not None and save_to is not None:
                x0, y0, x1, y1 = (int(round(v)) for v in box)
                cv2.imwrite(str(save_to / f"{kind}_{Path(name).stem}.jpg"), frame_bgr[y0:y1, x0:x1])
        strip = _largest_clear_strip(localiser, frame_bgr, reference[name])
        if strip is not None:
            x0, y0, x1, y1 = strip
            strips[0] += 1
            strips[1] += not localiser.find(np.ascontiguousarray(frame_bgr[y0:y1, x0:x1]))
    print(f"no-hand strips: find returned no hand on {strips[1]}/{strips[0]} ({strips[1] / strips[0]:.1%})")
    print("no-hand crops (IoU 0 to every hand): rejected by find_in_region / by the direct pass alone")
    for kind, (n, rejected, rejected_direct) in counts.items():
        print(f"  {kind:10s} {rejected}/{n} ({rejected / n:.1%}) / {rejected_direct}/{n} ({rejected_direct / n:.1%})")
    n, rejected, rejected_direct = (sum(c[i] for c in counts.values()) for i in range(3))
    print(f"  {'all':10s} {rejected}/{n} ({rejected / n:.1%}) / {rejected_direct}/{n} ({rejected_direct / n:.1%})")


def speed(localiser: HandLocaliser, frames: dict, clip_frames: int) -> None:
    photos = list(frames.values())[:20]
    palm, landmarks, find, track, region = [], [], [], [], []
    for frame_bgr in photos:
        for _ in range(3):
            started = time.perf_counter()
            localiser.palm_detector(frame_bgr)
            palm.append((time.perf_counter() - started) * 1000)
            hands = localiser.find(frame_bgr)
            find.append(localiser.timings_ms["total"])
        if hands:
            for _ in range(3):
                started = time.perf_counter()
                localiser.landmark_model(frame_bgr, hands[0].region)
                landmarks.append((time.perf_counter() - started) * 1000)
    palm_calls = tracked_frames = 0
    for frame_bgr in photos:
        if not localiser.find(frame_bgr):
            continue
        localiser.reset()
        for index, (moved_bgr, _) in enumerate(moving_video(frame_bgr, clip_frames, shift_px=2.0, zoom_per_frame=0.003)):
            before = localiser.calls["palm"]
            localiser.track(moved_bgr)
            if index > 0:  # the first frame of a clip is a palm detection by design
                track.append(localiser.timings_ms["total"])
                tracked_frames += 1
                palm_calls += localiser.calls["palm"] - before
    for name in CLASSES:
        for path in sorted((DATA / "hand-crops" / name).glob("*.jpg"))[:40]:
            crop_bgr = cv2.imread(str(path))
            localiser.find_in_region(crop_bgr, (0, 0, crop_bgr.shape[1], crop_bgr.shape[0]))
            region.append(localiser.timings_ms["total"])
    print(f"speed ({localiser.num_threads or 'default'} threads):")
    print(f"  palm detection, full frame      {pcts(palm)}")
    print(f"  one landmark pass               {pcts(landmarks)}")
    print(f"  find (palm + landmarks)         {pcts(find)}")
    print(f"  track, steady hand              {pcts(track)}  palm detection ran {palm_calls} times in "
          f"{tracked_frames} frames after the first of each clip")
    print(f"  find_in_region, hand crops      {pcts(region)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, help="mediapipe's results on the call frames (mediapipe_reference.py)")
    parser.add_argument("--only", choices=("accuracy", "speed"))
    parser.add_argument("--per-class", type=int, default=800, help="hand crops a class (800: all)")
    parser.add_argument("--clip-frames", type=int, default=30, help="frames in each steady-hand clip (speed)")
    parser.add_argument("--threads", type=int, default=None, help="LiteRT threads (default: LiteRT's own choice)")
    parser.add_argument("--save-accepted", type=Path, help="write no-hand crops that were taken for hands here")
    args = parser.parse_args(argv)

    frames = {p.name: cv2.imread(str(p)) for p in sorted((DATA / "full-frames" / "call").glob("*.jpg"))}
    reference = json.loads(args.reference.read_text())["frames"] if args.reference else None
    localiser = HandLocaliser(max_hands=2, num_threads=args.threads)
    if args.only != "speed":
        full_frames(localiser, frames, reference)
        if args.per_class:
            hand_crops(localiser, args.per_class)
        if reference is not None:
            if args.save_accepted:
                args.save_accepted.mkdir(parents=True, exist_ok=True)
            no_hand_crops(localiser, frames, reference, args.save_accepted)
        else:
            print("no-hand crops: skipped (they need --reference for the faces and hands MediaPipe saw)")
    if args.only != "accuracy":
        speed(HandLocaliser(max_hands=1, num_threads=args.threads), frames, args.clip_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
