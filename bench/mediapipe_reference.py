"""MediaPipe's own hand pipeline on a video, written as a take file: the reference that the
box's landmark pipeline and the synthetic cohort are compared against.

Run with the interpreter from bench/mediapipe_env.sh:
    $(bash bench/mediapipe_env.sh) bench/mediapipe_reference.py VIDEO -o OUT.take.npz

MediaPipe's handedness assumes a mirrored selfie image, so on an ordinary camera image its
"Left" is the person's right hand; that is how hands are assigned here. Frames where a hand
is not found are NaN, as in the take format.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

from device import takefile


def run(video: Path, complexity: int, min_confidence: float, static: bool = False,
        frames_dir: Path | None = None) -> tuple[takefile.Take, dict]:
    """``static``: MediaPipe's static image mode, every frame on its own (palm detection,
    then landmarks on the palm's region; no tracking). ``frames_dir``: the video's frames
    as PNG files (sorted by name) instead of decoding it here, so that two pipelines with
    different OpenCV builds see the same pixels."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SystemExit(f"{video}: cannot open video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames: list[np.ndarray] = []
    times: list[float] = []
    busy = 0.0
    with mp.solutions.hands.Hands(
        static_image_mode=static, max_num_hands=2, model_complexity=complexity,
        min_detection_confidence=min_confidence, min_tracking_confidence=0.5,
    ) as hands:
        index = 0
        pictures = sorted(frames_dir.glob("*.png")) if frames_dir else None
        while True:
            if pictures is None:
                ok, bgr = capture.read()
            else:
                ok = index < len(pictures)
                bgr = cv2.imread(str(pictures[index])) if ok else None
            if not ok:
                break
            start = time.perf_counter()
            result = hands.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            busy += time.perf_counter() - start
            lm = np.full((2, 21, 3), np.nan, dtype=np.float32)
            for marks, label in zip(result.multi_hand_landmarks or [],
                                    result.multi_handedness or [], strict=True):
                # mirrored-selfie convention: MediaPipe's "Left" is the person's right hand
                hand = 1 if label.classification[0].label == "Left" else 0
                lm[hand] = [[p.x, p.y, p.z] for p in marks.landmark]
            frames.append(lm)
            times.append(index / fps)
            index += 1
    if not frames:
        raise SystemExit(f"{video}: no frames could be decoded")
    landmarks = np.stack(frames)
    take = takefile.Take(
        task=1, t=np.asarray(times, dtype=np.float64), landmarks=landmarks,
        image_size=(width, height), keys=np.zeros((0, 4)),
        meta={"tempo_bpm": 100, "tempo_mode": "fixed", "dynamics": "pp",
              "participant": video.stem, "source": "file",
              "landmarks_by": f"mediapipe {mp.__version__} solutions.hands "
                              f"model_complexity={complexity} static_image_mode={static}"},
    )
    found = int((~np.isnan(landmarks[:, :, 0, 0])).any(axis=1).sum())
    stats = {"frames": len(frames), "frames_with_a_hand": found,
             "seconds_per_frame": busy / len(frames), "fps": fps}
    return take, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1))
    parser.add_argument("--min-confidence", type=float, default=0.3)
    parser.add_argument("--static", action="store_true",
                        help="static image mode: every frame on its own, no tracking")
    parser.add_argument("--frames", type=Path,
                        help="folder of the video's frames as PNG files, read instead of it")
    args = parser.parse_args()
    take, stats = run(args.video, args.complexity, args.min_confidence, args.static,
                      args.frames)
    takefile.write(args.out, take)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
