"""Rebuilds this folder's images from the shared HaGRID frames (run once; the results are committed).

    python tests/data/hands/make_test_data.py            # needs /work/shared/data (not in CI)
    /tmp/mpvenv/bin/python benchmarks/mediapipe_reference.py tests/data/hands/*.jpg \\
        --out tests/data/hands/mediapipe_reference.json  # mediapipe's own results on exactly these files
    python tests/data/hands/make_test_data.py --clip /tmp/clip   # the tracking tests' clip, as PNGs
    /tmp/mpvenv/bin/python benchmarks/mediapipe_reference.py /tmp/clip/*.png --video --max-num-hands 1 \\
        --out tests/data/hands/mediapipe_video_reference.json  # mediapipe tracking through that clip
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

SOURCE = Path("/work/shared/data/full-frames/call")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from hands_helpers import CLIP_PHOTO, moving_video  # noqa: E402
SHORT_SIDE = 384  # small files; hands still 40-120 px across

# Whole frames, downscaled: two hands called left and two right by MediaPipe, one tilted, one with two hands.
FRAMES = {
    "hand_57bc79cd.jpg": "57bc79cd-6e03-46ce-93bf-c31dd8cdeb72.jpg",
    "hand_5386cb80.jpg": "5386cb80-cee0-403f-88c0-772178cc8c51.jpg",
    "hand_fa5c360c.jpg": "fa5c360c-1ba2-47bc-8241-80d2c6a37713.jpg",
    "hand_7d846766.jpg": "7d846766-29ac-4099-a54d-67189805f6c0.jpg",
    "hands_5dcf060e.jpg": "5dcf060e-4dc4-47be-8576-180c8cc188a6.jpg",
}
# No-hand crops at full resolution, boxes (x0, y0, x1, y1) from benchmarks/hand_finding.py's no-hand
# sets: half a face, a bare forearm and a dress, a room with a plant; none touches a hand.
NO_HAND = {
    "no_hand_face.jpg": ("57bc79cd-6e03-46ce-93bf-c31dd8cdeb72.jpg", (591, 118, 696, 329)),
    "no_hand_arm.jpg": ("5386cb80-cee0-403f-88c0-772178cc8c51.jpg", (0, 426, 512, 683)),
    "no_hand_room.jpg": ("fa5c360c-1ba2-47bc-8241-80d2c6a37713.jpg", (365, 0, 683, 512)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="write only the tracking clip's frames here, as PNGs")
    args = parser.parse_args()
    if args.clip:
        args.clip.mkdir(parents=True, exist_ok=True)
        for index, (frame_bgr, _) in enumerate(moving_video(cv2.imread(str(HERE / CLIP_PHOTO)))):
            cv2.imwrite(str(args.clip / f"frame_{index:02d}.png"), frame_bgr)
        return
    for name, source in FRAMES.items():
        image_bgr = cv2.imread(str(SOURCE / source))
        scale = SHORT_SIDE / min(image_bgr.shape[:2])
        small_bgr = cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(HERE / name), small_bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    for name, (source, (x0, y0, x1, y1)) in NO_HAND.items():
        image_bgr = cv2.imread(str(SOURCE / source))
        cv2.imwrite(str(HERE / name), image_bgr[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main()
