"""Record the `mediapipe` package's own hand results on images, as JSON, for models/hands to be checked against.

Runs in a separate environment, never the product's (mediapipe 0.10.x pins protobuf < 5):

    python -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.21 opencv-python
    /tmp/mpvenv/bin/python benchmarks/mediapipe_reference.py /work/shared/data/full-frames/call/*.jpg \
        --out /tmp/mp_call.json

Static-image mode (or with --video, tracking across the images in order) with model_complexity=0 (the lite models models/hands ships). Coordinates are
MediaPipe's own: normalised to the image width and height; handedness as MediaPipe labels it.
Also records MediaPipe's face boxes (full-range face detector): benchmarks/hand_finding.py cuts
no-hand crops from faces, the hardest skin-coloured negatives in these photos.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import mediapipe as mp
from mediapipe.python.solution_base import SolutionBase
from mediapipe.python.solutions import hands as mp_hands


class _HandsWithPalms(SolutionBase):
    # mp.solutions.hands.Hands, plus the graph's debug outputs (palm boxes, the regions the
    # landmark model saw, and the ones it would see next frame), which the public class leaves out.
    def __init__(self, max_num_hands: int, video: bool):
        super().__init__(
            binary_graph_path=mp_hands._BINARYPB_FILE_PATH,
            side_inputs={"model_complexity": 0, "num_hands": max_num_hands, "use_prev_landmarks": video},
            calculator_params={
                "palmdetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": 0.5,
                "handlandmarkcpu__ThresholdingCalculator.threshold": 0.5,
            },
            outputs=["multi_hand_landmarks", "multi_handedness", "palm_detections",
                     "hand_rects_from_palm_detections", "hand_rects_from_landmarks"],
        )


def _rect(r) -> dict:
    return {"x_center": r.x_center, "y_center": r.y_center, "width": r.width, "height": r.height,
            "rotation": r.rotation}


def _palm(d) -> dict:
    box = d.location_data.relative_bounding_box
    return {"score": d.score[0], "xmin": box.xmin, "ymin": box.ymin, "width": box.width, "height": box.height,
            "keypoints": [[k.x, k.y] for k in d.location_data.relative_keypoints]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-num-hands", type=int, default=2)
    parser.add_argument("--video", action="store_true",
                        help="the images are a clip's frames in order: track as on video (palm detection "
                             "only while fewer than --max-num-hands hands are followed)")
    args = parser.parse_args(argv)

    results = {"mediapipe_version": mp.__version__, "model_complexity": 0,
               "max_num_hands": args.max_num_hands, "video": args.video, "frames": {}}
    faces = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
    with _HandsWithPalms(args.max_num_hands, args.video) as solution, faces:
        for path in args.images:
            image_bgr = cv2.imread(str(path))
            image_rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
            out = solution.process(image_rgb)
            face_boxes = [d.location_data.relative_bounding_box for d in faces.process(image_rgb).detections or []]
            hands = []
            for landmarks, handedness in zip(out.multi_hand_landmarks or [], out.multi_handedness or []):
                top = handedness.classification[0]
                hands.append({"landmarks": [[p.x, p.y, p.z] for p in landmarks.landmark],
                              "handedness": top.label, "handedness_score": top.score})
            results["frames"][path.name] = {
                "width": image_bgr.shape[1], "height": image_bgr.shape[0], "hands": hands,
                "palms": [_palm(d) for d in out.palm_detections or []],
                "rects_from_palms": [_rect(r) for r in out.hand_rects_from_palm_detections or []],
                "rects_from_landmarks": [_rect(r) for r in out.hand_rects_from_landmarks or []],
                "faces": [[b.xmin, b.ymin, b.width, b.height] for b in face_boxes],
            }
    args.out.write_text(json.dumps(results, indent=1))
    print(f"{len(results['frames'])} images -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
