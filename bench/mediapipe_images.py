"""MediaPipe's own hand pipeline on the annotated still images of ../shared/data/hands: the
reference that bench/vision_bench.py compares the box's pipeline against.

Run with the interpreter from bench/mediapipe_env.sh:
    $(bash bench/mediapipe_env.sh) bench/mediapipe_images.py HANDS_DIR [--complexity 0|1]

Prints one JSON object: per annotated hand, its data set, image, and every hand MediaPipe
found in the image as 21 [x, y] pixel positions (static image mode, up to two hands).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import mediapipe as mp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hands", type=Path)
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1))
    parser.add_argument("--min-confidence", type=float, default=0.3)
    args = parser.parse_args()
    results = []
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2,
                                  model_complexity=args.complexity,
                                  min_detection_confidence=args.min_confidence) as hands:
        for coco_file in sorted(args.hands.glob("*/test_*.json")):
            coco = json.loads(coco_file.read_text())
            names = {image["id"]: image["file_name"] for image in coco["images"]}
            for annotation in coco["annotations"]:
                path = coco_file.parent / names[annotation["image_id"]]
                bgr = cv2.imread(str(path))
                height, width = bgr.shape[:2]
                found = hands.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                results.append({
                    "dataset": coco_file.parent.name, "image": path.name,
                    "hands": [[[p.x * width, p.y * height] for p in marks.landmark]
                              for marks in found.multi_hand_landmarks or []],
                })
    json.dump({"mediapipe": mp.__version__, "complexity": args.complexity,
               "images": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
