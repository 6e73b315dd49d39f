"""From the pinned wheel to a model directory with float16, float32 and int8 variants and
their card (``landmark_card.json``)."""

from __future__ import annotations

import json
import logging
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from device.atomic import write_bytes
from device.digest import sha256_of
from device.vision.models import CARD
from model_export.landmarks import bench, data, quantize, wheel
from model_export.landmarks.fold import fold_fp16_file
from model_export.landmarks.runner import Runner

log = logging.getLogger(__name__)

# float16 -> float32 widening is exact, so folding may change outputs by rounding only
FOLD_TOLERANCE = 1e-3
KINDS = {"palm_detection_lite": "palm", "palm_detection_full": "palm",
         "hand_landmark_lite": "landmark", "hand_landmark_full": "landmark"}
INPUT_RANGE = "RGB, float32 in [0, 1]"
INPUT_LAYOUT = {"palm": "whole frame letterboxed (aspect kept, black borders) to 192x192",
                "landmark": "224x224 crop around the hand, rotated so the fingers point up"}
PRECISIONS = {
    "fp16": ("float16", "MediaPipe's original: float16 weights widened by DEQUANTIZE at load"),
    "float32": ("float32", "float16 weights folded to float32 (same outputs as the original)"),
    "int8": ("int8", "ai-edge-quantizer static_wi8_ai8: int8 weights (per channel) and "
                     "activations (per tensor), calibrated on real hands; float32 input and "
                     "output"),
}
RANGES = {"palm": "weights: least squared error (ai-edge-quantizer MSE); activations: "
                 "ai-edge-quantizer's moving average of each calibration sample's min/max",
          "landmark": "weights: min/max; activations: min/max over all calibration samples"}


class BuildError(RuntimeError):
    """The models could not be built (bad data, or a check failed)."""


@dataclass(frozen=True)
class Settings:
    out: Path
    cache: Path
    video: Path
    photos: Path | None
    every: int = 2  # use frames 0, 1, every, every + 1, ... of the video
    repeats: int = 50  # timed inferences per variant
    arch: str = "x86_64"


def build(settings: Settings) -> dict[str, object]:
    """Write every variant and the card into ``settings.out``; return the card."""
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    wheel_path = wheel.fetch_wheel(settings.cache, settings.arch)
    originals = wheel.extract_models(wheel_path, out, suffix="_fp16")
    floats = {}
    for name, path in originals.items():
        floats[name] = out / f"{name}_float32.tflite"
        count = fold_fp16_file(path, floats[name])
        log.info("%s: folded %d float16 constants", name, count)

    split = data.video_samples(settings.video, Runner(floats["palm_detection_full"]),
                               Runner(floats["hand_landmark_full"]), settings.every)
    calibration, evaluation = split["calibration"], split["evaluation"]
    counts = {"video_frames": len(calibration.palm_inputs), "video_crops": len(calibration.crops),
              "video_crops_without_hand": len(calibration.empty_crops),
              "photos": 0}
    if settings.photos is not None:
        photos = data.photo_samples(settings.photos)
        calibration.palm_inputs += photos.palm_inputs
        calibration.crops += photos.crops
        counts["photos"] = len(photos.crops)
    if not evaluation.crops or not calibration.crops:
        raise BuildError(f"{settings.video}: no hand found in the sampled frames")
    log.info("calibration: %d frames, %d crops; evaluation: %d frames, %d crops",
             len(calibration.palm_inputs), len(calibration.crops),
             len(evaluation.palm_inputs), len(evaluation.crops))

    def inputs(samples: data.Samples, name: str) -> list[np.ndarray]:
        return samples.palm_inputs if KINDS[name] == "palm" else samples.crops

    def calibration_inputs(name: str) -> list[np.ndarray]:
        if KINDS[name] == "palm":
            return calibration.palm_inputs
        return calibration.crops + calibration.empty_crops

    landmark = Runner(floats["hand_landmark_full"])
    variants = []
    for name, original in originals.items():
        reference = Runner(floats[name])
        fold_difference = _max_difference(Runner(original), reference,
                                          inputs(evaluation, name))
        if fold_difference > FOLD_TOLERANCE:
            raise BuildError(f"{name}: the folded float32 model differs from the original by "
                             f"{fold_difference:g}")
        int8 = out / f"{name}_int8.tflite"
        log.info("%s: quantising", name)
        # Measured on this video: least-squares weight ranges help the palm detectors
        # (landmark error through their crop about 6 % of hand size instead of 11 % for the
        # full one) and hurt the landmark models (about 3 % instead of 1.3 %); activation
        # ranges over all samples help the landmark models a little (and give the one-value
        # presence and handedness outputs a range) and hurt the palm detectors (17 % instead
        # of 6 %).
        palm = KINDS[name] == "palm"
        quantize.quantize_static(floats[name], int8, calibration_inputs(name),
                                 mse_weights=palm, full_range=not palm)
        for tag, path in (("fp16", original), ("float32", floats[name]), ("int8", int8)):
            entry = _variant(name, tag, path, inputs(evaluation, name)[0], settings.repeats)
            if tag == "int8":
                entry["ranges"] = RANGES[KINDS[name]]
            if tag != "float32":
                runner = Runner(path)
                entry["accuracy_vs_float32"] = (
                    bench.palm_accuracy(runner, reference, landmark, evaluation)
                    if KINDS[name] == "palm"
                    else bench.landmark_accuracy(runner, reference, evaluation.crops,
                                                 evaluation.empty_crops))
            variants.append(entry)
        variants[-2]["max_output_difference_to_original"] = fold_difference
    card = _card(settings, wheel_path, variants, counts, evaluation)
    write_bytes(out / CARD, (json.dumps(card, indent=1) + "\n").encode())
    return card


def _variant(name: str, tag: str, path: Path, timing_input: np.ndarray,
             repeats: int) -> dict[str, object]:
    runner = Runner(path)
    precision, how = PRECISIONS[tag]
    entry: dict[str, object] = {
        "model": name, "file": path.name, "sha256": sha256_of(path),
        "bytes": path.stat().st_size, "precision": precision, "how": how,
        "input_shape": runner.input_shape, "input": f"{INPUT_RANGE}; {INPUT_LAYOUT[KINDS[name]]}",
    }
    median, fastest = runner.seconds_per_inference(timing_input, repeats)
    entry["ms_per_inference"] = round(1000 * median, 3)
    entry["ms_per_inference_fastest"] = round(1000 * fastest, 3)
    return entry


def _max_difference(a: Runner, b: Runner, samples: list[np.ndarray]) -> float:
    worst = 0.0
    for sample in samples:
        for x, y in zip(a.run(sample), b.run(sample), strict=True):
            worst = max(worst, float(np.abs(x - y).max()))
    return worst


def _card(settings: Settings, wheel_path: Path, variants: list[dict[str, object]],
          calibration: dict[str, int], evaluation: data.Samples) -> dict[str, object]:
    return {
        "source": {"package": f"mediapipe=={wheel.VERSION}", "wheel": wheel_path.name,
                   "sha256": sha256_of(wheel_path),
                   "licence": "Apache-2.0 (MediaPipe)"},
        "variants": variants,
        "data": {
            "video": settings.video.name,
            "calibration": {**calibration, "note": "even video frames, and annotated photos "
                                                  "(whole for the detectors, cropped around "
                                                  "their keypoints for the landmark models)"},
            "evaluation": {"video_frames": len(evaluation.palm_inputs),
                           "crops": len(evaluation.crops),
                           "note": "odd video frames; calibration used the even ones"},
            "crops": "MediaPipe-style tracking crops from the float32 full models; crops "
                     "without a hand: the same region moved one width sideways, where the "
                     "float32 full model's presence is below 0.5",
        },
        "metrics": {
            "landmark_error_of_hand_size": "mean distance of the 21 image landmarks to the "
                                           "float32 model's, over the diagonal of its "
                                           "landmarks' bounding box",
            "keypoint_error_of_box_size": "mean distance of the best palm detection's 7 "
                                          "keypoints to the float32 model's, over its box size",
            "score_change": "absolute change of the best palm detection's score",
            "landmark_error_of_hand_size_through_crop": "the float32 full landmark model run "
                "on the crop from each detector's best detection: mean distance of its 21 "
                "landmarks (frame pixels) to those through the float32 detector's crop, over "
                "their bounding box diagonal (frames where that finds a hand)",
        },
        "speed": {"runtime": f"ai-edge-litert {metadata.version('ai-edge-litert')}",
                  "threads": 1, "machine": platform.machine(), "processor": _cpu_name(),
                  "timed_inferences": settings.repeats,
                  "statistic": "median (ms_per_inference) and fastest of the timed runs; "
                               "the fastest is the steadier figure on a busy machine"},
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
