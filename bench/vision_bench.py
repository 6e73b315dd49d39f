"""The box's landmark pipeline against MediaPipe's own (``mediapipe.solutions.hands``).

    .venv/bin/python bench/vision_bench.py --models MODELDIR [--variants lite,full] [--json]

MODELDIR holds palm_detection_<variant>.tflite and hand_landmark_<variant>.tflite (from
``python -m model_export landmarks``). MediaPipe runs from its own environment
(bench/mediapipe_env.sh) through bench/mediapipe_reference.py (the video, tracking mode) and
bench/mediapipe_images.py (the annotated stills, static mode). Each pipeline runs in its own
process pinned to one CPU core; times cover landmark work only (decoding the video is
outside both). Variant ``lite*`` is compared with MediaPipe's model_complexity 0 (the same
lite models), ``full*`` with complexity 1.

Prints, per variant: frames of ../shared/data/piano_right_hand.mp4 with a hand for both;
mean landmark distance between the two pipelines (frames where both found the hand, nearest
hand) as a fraction of the hand's size (diagonal of MediaPipe's landmark bounding box);
how often both call the hand by the same side; the correlation of their depths (z); error to
the manual annotations of ../shared/data/hands for both (mean distance over visible
keypoints / annotation diagonal); frames per second on one core (best of --repeat runs of
each, alternating); seconds of processing per second of 60 fps video; peak resident memory
of each process; the load average, since the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CORE = 0
VIDEO_MIN_DETECTION = 0.5  # MediaPipe's default min_detection_confidence
IMAGE_MIN_DETECTION = 0.3  # as for the reference figures in ../shared/data/SOURCES.md


def run_pinned(cmd: list[str], stdout_path: Path) -> int:
    """Run ``cmd`` on one core; returns its peak resident memory in KiB."""
    with stdout_path.open("wb") as out:
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 preexec_fn=lambda: os.sched_setaffinity(0, {CORE}))
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed (status {status}); see {stdout_path}")
    return int(usage.ru_maxrss)


def worker(args: argparse.Namespace) -> int:
    """Our pipeline on the video and the stills; writes landmarks and timing to --out."""
    import cv2

    from device.vision.models import LandmarkModels
    from device.vision.pipeline import HandTracker, redetect_interval
    from device.vision.sources import FileSource

    models = LandmarkModels.from_dir(args.models, args.variant)
    source = FileSource(args.video)
    tracker = HandTracker(models, min_detection_score=VIDEO_MIN_DETECTION,
                          redetect_every=redetect_interval(source.fps))
    frames, busy, detections = [], 0.0, 0
    for _, rgb in source.frames():
        start = time.perf_counter()
        result = tracker.process(rgb)
        busy += time.perf_counter() - start
        frames.append(result.landmarks)
        detections += result.palm_detection_ran
    source.close()
    still = HandTracker(models, min_detection_score=IMAGE_MIN_DETECTION)
    images = []
    for coco_file in sorted(args.hands.glob("*/test_*.json")):
        coco = json.loads(coco_file.read_text())
        names = {image["id"]: image["file_name"] for image in coco["images"]}
        for annotation in coco["annotations"]:
            path = coco_file.parent / names[annotation["image_id"]]
            still.reset()
            hands = still.process(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            images.append({"dataset": coco_file.parent.name, "image": path.name,
                           "hands": [h[:, :2].tolist() for h in hands.landmarks
                                     if np.isfinite(h[0, 0])]})
    np.save(args.out.with_suffix(".npy"), np.stack(frames))
    args.out.write_text(json.dumps({
        "seconds_per_frame": busy / len(frames), "frames": len(frames),
        "palm_detections": detections, "images": images,
    }))
    return 0


def annotation_errors(images: list[dict], hands_dir: Path) -> dict[str, list[float]]:
    """Per data set, each annotated hand's error (NaN where no hand was found)."""
    truth = {}
    for coco_file in sorted(hands_dir.glob("*/test_*.json")):
        coco = json.loads(coco_file.read_text())
        names = {image["id"]: image["file_name"] for image in coco["images"]}
        for annotation in coco["annotations"]:
            key = (coco_file.parent.name, names[annotation["image_id"]])
            truth[key] = np.array(annotation["keypoints"], dtype=float).reshape(21, 3)
    errors: dict[str, list[float]] = {}
    for item in images:
        keypoints = truth[(item["dataset"], item["image"])]
        visible = keypoints[:, 2] > 0
        points = keypoints[visible, :2]
        diagonal = np.linalg.norm(points.max(axis=0) - points.min(axis=0))
        per_hand = [np.linalg.norm(np.asarray(h)[visible] - points, axis=1).mean() / diagonal
                    for h in item["hands"]]
        errors.setdefault(item["dataset"], []).append(min(per_hand) if per_hand else np.nan)
    return errors


def compare_video(ours_px: np.ndarray, reference_px: np.ndarray) -> dict[str, float]:
    """Landmark distance (fraction of hand size) and side agreement over frames both found."""
    fractions, same_side, both, ours_found, reference_found = [], 0, 0, 0, 0
    ours_z, reference_z = [], []
    for ours, ref in zip(ours_px, reference_px, strict=True):
        ours_hands = [s for s in range(2) if np.isfinite(ours[s, 0, 0])]
        ref_hands = [s for s in range(2) if np.isfinite(ref[s, 0, 0])]
        ours_found += bool(ours_hands)
        reference_found += bool(ref_hands)
        for side in ref_hands:
            if not ours_hands:
                continue
            size = np.linalg.norm(ref[side, :, :2].max(axis=0) - ref[side, :, :2].min(axis=0))
            distance = {s: np.linalg.norm(ours[s, :, :2] - ref[side, :, :2], axis=1).mean()
                        for s in ours_hands}
            nearest = min(distance, key=distance.get)
            fractions.append(distance[nearest] / size)
            ours_z.append(ours[nearest, :, 2])
            reference_z.append(ref[side, :, 2])
            same_side += nearest == side
            both += 1
    values = np.array(fractions)
    return {"frames_ours": ours_found, "frames_mediapipe": reference_found,
            "hands_compared": both, "distance_mean": float(values.mean()),
            "distance_median": float(np.median(values)),
            "distance_p95": float(np.percentile(values, 95)),
            "same_side": same_side / both if both else float("nan"),
            "z_correlation": float(np.corrcoef(np.ravel(ours_z), np.ravel(reference_z))[0, 1])}


def summarise(errors: dict[str, list[float]]) -> dict[str, object]:
    return {name: {"found": int(np.isfinite(v).sum()), "of": len(v),
                   "mean": float(np.nanmean(v)), "max": float(np.nanmax(v))}
            for name, v in errors.items()}


def bench_variant(variant: str, args: argparse.Namespace, mp_python: str, work: Path
                  ) -> dict[str, object]:
    from device import takefile

    complexity = 0 if variant.startswith("lite") else 1
    ours_json = work / f"ours_{variant}.json"
    ref_take = work / f"mediapipe_c{complexity}.take.npz"
    ref_log = work / f"mediapipe_c{complexity}.log"
    ours_seconds = ref_seconds = np.inf
    ours_peak = ref_peak = 0
    for _ in range(args.repeat):  # alternating, best of each: the machine may be shared
        peak = run_pinned([sys.executable, __file__, "--worker", "--variant", variant,
                           "--models", str(args.models), "--video", str(args.video),
                           "--hands", str(args.hands), "--out", str(ours_json)],
                          work / f"ours_{variant}.log")
        ours_peak = max(ours_peak, peak)
        ours_seconds = min(ours_seconds, json.loads(ours_json.read_text())["seconds_per_frame"])
        peak = run_pinned([mp_python, "bench/mediapipe_reference.py", str(args.video), "-o",
                           str(ref_take), "--complexity", str(complexity), "--min-confidence",
                           str(VIDEO_MIN_DETECTION)], ref_log)
        ref_peak = max(ref_peak, peak)
        stats = json.loads(ref_log.read_text().strip().splitlines()[-1])
        ref_seconds = min(ref_seconds, stats["seconds_per_frame"])
    ours = json.loads(ours_json.read_text())
    ours_frames = np.load(ours_json.with_suffix(".npy"))
    reference = takefile.read(ref_take)
    width, height = reference.image_size
    ref_px = reference.landmarks * np.array([width, height, width], dtype=np.float32)
    images_out = work / f"mediapipe_images_c{complexity}.json"
    run_pinned([mp_python, "bench/mediapipe_images.py", str(args.hands), "--complexity",
                str(complexity), "--min-confidence", str(IMAGE_MIN_DETECTION)], images_out)
    ref_images = json.loads(images_out.read_text())["images"]
    return {
        "variant": variant, "mediapipe_complexity": complexity,
        "load_average": os.getloadavg()[1],
        "video": compare_video(ours_frames, ref_px),
        "frames": ours["frames"], "palm_detections_ours": ours["palm_detections"],
        "fps_one_core": {"ours": 1 / ours_seconds,
                         "mediapipe": 1 / ref_seconds},
        "seconds_per_60fps_second": {"ours": 60 * ours_seconds,
                                     "mediapipe": 60 * ref_seconds},
        "peak_memory_mib": {"ours": ours_peak / 1024, "mediapipe": ref_peak / 1024},
        "annotations": {"ours": summarise(annotation_errors(ours["images"], args.hands)),
                        "mediapipe": summarise(annotation_errors(ref_images, args.hands))},
    }


def print_report(result: dict) -> None:
    video = result["video"]
    print(f"load average during the run: {result['load_average']:.1f}")
    print(f"== {result['variant']} (MediaPipe model_complexity {result['mediapipe_complexity']})")
    print(f"video: {result['frames']} frames; a hand found: ours {video['frames_ours']}, "
          f"MediaPipe {video['frames_mediapipe']}; palm detector ran on "
          f"{result['palm_detections_ours']} frames (ours)")
    print(f"ours vs MediaPipe, {video['hands_compared']} hands: landmark distance / hand size "
          f"mean {video['distance_mean']:.3f}, median {video['distance_median']:.3f}, "
          f"95th percentile {video['distance_p95']:.3f}; same side {video['same_side']:.0%}; "
          f"correlation of z {video['z_correlation']:.2f}")
    for who in ("ours", "mediapipe"):
        fps = result["fps_one_core"][who]
        load = result["seconds_per_60fps_second"][who]
        memory = result["peak_memory_mib"][who]
        print(f"{who:>9}: {fps:6.1f} frames/s on one core, {load:.2f} s per second of 60 fps "
              f"video, peak memory {memory:.0f} MiB")
        for name, s in result["annotations"][who].items():
            print(f"{'':>11}{name}: found {s['found']}/{s['of']}, error mean {s['mean']:.3f}, "
                  f"max {s['max']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--variants", default="lite,full")
    parser.add_argument("--video", type=Path, default=DATA / "piano_right_hand.mp4")
    parser.add_argument("--hands", type=Path, default=DATA / "hands")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per pipeline; best time")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    mp_python = subprocess.run(["bash", "bench/mediapipe_env.sh"], cwd=ROOT, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_variant(v, args, mp_python, Path(tmp))
                   for v in args.variants.split(",")]
    for result in results:
        if args.json:
            print(json.dumps(result))
        else:
            print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
