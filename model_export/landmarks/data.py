"""Real hand inputs for calibration and evaluation: frames of a video and annotated photos.

Video frames are split by parity: even frames calibrate, odd frames evaluate, so the
accuracy figures come from inputs the quantiser never saw. Landmark-model crops are cut
the way the box (and MediaPipe) tracks a hand: a palm detection gives a first crop, the
float landmark model's landmarks on it the next; both are kept, with a crop beside the hand
(no hand in it) for the presence output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from device.vision import roi
from device.vision.sources import FileSource
from model_export.landmarks import hands
from model_export.landmarks.runner import Runner

# below this the landmark model says there is no hand in the crop
PRESENCE_THRESHOLD = 0.5


@dataclass
class Samples:
    """Detector inputs (1, 192, 192, 3), the RGB frames they come from (video only),
    landmark-model crops (1, 224, 224, 3) around a hand and crops without one."""

    palm_inputs: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    # crops beside the hand, where the float model sees none: without them the int8 landmark
    # models' presence output is calibrated on hands only and cannot go below about 0.5
    empty_crops: list[np.ndarray] = field(default_factory=list)


def video_samples(video: Path, palm: Runner, landmark: Runner, every: int) -> dict[str, Samples]:
    """``calibration`` and ``evaluation`` samples from the video, split by frame parity."""
    split = {"calibration": Samples(), "evaluation": Samples()}
    source = FileSource(video)
    try:
        for index, (_, frame) in enumerate(source.frames()):
            if index % every not in (0, 1):
                continue
            samples = split["calibration" if index % 2 == 0 else "evaluation"]
            palm_input, padding = hands.palm_input(frame)
            samples.palm_inputs.append(palm_input)
            samples.frames.append(frame)
            first = hands.crop_from_palm(frame, hands.best_palm(palm.run(palm_input), padding))
            points, presence = landmarks_in_crop(landmark, first)
            if presence < PRESENCE_THRESHOLD:
                continue
            # the box feeds both: the palm's crop when it finds a hand, then tracking crops
            samples.crops.append(first.batch)
            tracked = hands.crop_from_landmarks(frame, hands.to_frame(first, points))
            if landmarks_in_crop(landmark, tracked)[1] >= PRESENCE_THRESHOLD:
                samples.crops.append(tracked.batch)
                beside = hands.crop(frame, beside_the_hand(tracked.rect, frame.shape[1]))
                if landmarks_in_crop(landmark, beside)[1] < PRESENCE_THRESHOLD:
                    samples.empty_crops.append(beside.batch)
    finally:
        source.close()
    return split


def beside_the_hand(rect: roi.RotatedRect, frame_width: int) -> roi.RotatedRect:
    """The region one region width to the side of the hand with more room (keys, no hand)."""
    step = rect.width if rect.cx < frame_width / 2 else -rect.width
    return replace(rect, cx=rect.cx + step)


def photo_samples(folder: Path) -> Samples:
    """Samples from the annotated photos under ``folder`` (COCO-style JSON, 21 keypoints)."""
    samples = Samples()
    for annotation_file in sorted(folder.rglob("*.json")):
        data = json.loads(annotation_file.read_text())
        files = {image["id"]: image["file_name"] for image in data["images"]}
        for annotation in data["annotations"]:
            image_path = _find_image(annotation_file.parent, files[annotation["image_id"]])
            if image_path is None:
                continue
            frame = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
            keypoints = np.asarray(annotation["keypoints"], np.float32).reshape(21, 3)
            if (keypoints[:, 2] > 0).sum() < 21:
                continue  # the crop needs every knuckle
            samples.palm_inputs.append(hands.palm_input(frame)[0])
            samples.crops.append(hands.crop_from_landmarks(frame, keypoints).batch)
    return samples


def _find_image(folder: Path, file_name: str) -> Path | None:
    for candidate in (folder / file_name, *folder.rglob(Path(file_name).name)):
        if candidate.is_file():
            return candidate
    return None


def landmarks_in_crop(landmark: Runner, crop: hands.HandCrop) -> tuple[np.ndarray, float]:
    """The 21 landmarks (x, y, z in crop pixels) and the hand presence score."""
    outputs = landmark.run(crop.batch)
    return outputs[0].reshape(21, 3), float(outputs[1].reshape(-1)[0])
