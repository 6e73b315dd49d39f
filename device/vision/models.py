"""The palm-detection and hand-landmark models (MediaPipe's ``.tflite`` files) on LiteRT."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device.digest import sha256_of
from device.screening.runtime import interpreter_class

VARIANTS = ("lite", "full")
PRECISIONS = ("float32", "fp16", "int8")  # file suffixes written by model_export landmarks
# The int8 palm detectors move the hand crop by about 5 % of the hand size (docs/vision.md,
# "Landmark models"); the int8 landmark models stay within about 2 % and run faster.
DEFAULT_PALM_PRECISION = "float32"
DEFAULT_LANDMARK_PRECISION = "int8"
CARD = "landmark_card.json"
MODEL_HELP = "make them with: python -m model_export landmarks --out DIR"


class ModelError(RuntimeError):
    """A landmark model that is missing or not what the pipeline expects."""


def model_file(model: str, variant: str, precision: str) -> str:
    """File name of one model: ``palm_detection_lite_float32.tflite``."""
    return f"{model}_{variant}_{precision}.tflite"


def verify_against_card(directory: Path, names: list[str]) -> None:
    """Each named file's SHA-256 must be the one ``landmark_card.json`` lists for it.

    Without a card there is nothing to check against; a card that does not list a file,
    or lists another hash, is an error naming the file.
    """
    card_path = directory / CARD
    if not card_path.is_file():
        return
    try:
        variants = json.loads(card_path.read_text())["variants"]
        listed = {entry["file"]: entry["sha256"] for entry in variants}
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{card_path}: not a landmark model card ({exc!r})") from None
    for name in names:
        if name not in listed:
            raise ModelError(f"{directory / name} is not listed in {card_path}; {MODEL_HELP}")
        actual = sha256_of(directory / name)
        if actual != listed[name]:
            raise ModelError(f"{directory / name}: SHA-256 {actual} differs from {listed[name]} "
                             f"in {card_path}; the file was changed or belongs to another "
                             f"build; {MODEL_HELP}")


class TfliteRunner:
    """A model with one image input and several outputs, in the model's output order.

    Quantised (int8/uint8) inputs and outputs are converted with the tensors' own scale and
    zero point, so float and quantised variants are used the same way.
    """

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self.path = Path(path)
        try:
            self._interpreter = interpreter_class()(model_path=str(path),
                                                    num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except ValueError as exc:
            raise ModelError(f"{path}: not a usable TFLite model ({exc})") from None
        self._input = self._interpreter.get_input_details()[0]
        self._outputs = sorted(self._interpreter.get_output_details(),
                               key=lambda d: (len(d["name"]), d["name"]))

    @property
    def input_size(self) -> tuple[int, int]:
        """Width and height of the input image."""
        _, height, width, _ = (int(v) for v in self._input["shape"])
        return width, height

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(int(v) for v in d["shape"]) for d in self._outputs]

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        """Run on one float image (H, W, 3) in 0..1; outputs without the batch axis."""
        detail = self._input
        x = image[None].astype(np.float32)
        if detail["dtype"] != np.float32:
            scale, zero = detail["quantization"]
            x = np.round(x / scale + zero)
            info = np.iinfo(detail["dtype"])
            x = np.clip(x, info.min, info.max).astype(detail["dtype"])
        self._interpreter.set_tensor(detail["index"], x)
        self._interpreter.invoke()
        results = []
        for out in self._outputs:
            value = self._interpreter.get_tensor(out["index"])[0]
            if out["dtype"] != np.float32:
                scale, zero = out["quantization"]
                value = (value.astype(np.float32) - zero) * scale
            results.append(np.array(value, dtype=np.float32))
        return results


@dataclass
class LandmarkModels:
    palm: TfliteRunner
    landmark: TfliteRunner

    @classmethod
    def from_dir(cls, directory: Path | str, variant: str = "lite",
                 palm_precision: str = DEFAULT_PALM_PRECISION,
                 landmark_precision: str = DEFAULT_LANDMARK_PRECISION,
                 num_threads: int = 1) -> LandmarkModels:
        """``palm_detection_<variant>_<palm_precision>.tflite`` and
        ``hand_landmark_<variant>_<landmark_precision>.tflite``, as ``model_export landmarks``
        writes them; checked against the directory's ``landmark_card.json`` when it has one.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelError(f"landmark model directory {directory} does not exist; "
                             f"{MODEL_HELP}")
        for what, value, allowed in (("variant", variant, VARIANTS),
                                     ("palm precision", palm_precision, PRECISIONS),
                                     ("landmark precision", landmark_precision, PRECISIONS)):
            if value not in allowed:
                raise ModelError(f"landmark model {what} must be one of {', '.join(allowed)}, "
                                 f"got {value!r}")
        paths = [directory / model_file("palm_detection", variant, palm_precision),
                 directory / model_file("hand_landmark", variant, landmark_precision)]
        for path in paths:
            if not path.is_file():
                raise ModelError(f"landmark model {path} is missing; {MODEL_HELP}")
        verify_against_card(directory, [path.name for path in paths])
        models = cls(TfliteRunner(paths[0], num_threads), TfliteRunner(paths[1], num_threads))
        models.check()
        return models

    def check(self) -> None:
        palm = self.palm.output_shapes
        if len(palm) != 2 or palm[0][-1] != 18 or palm[1][-1] != 1 or palm[0][1] != palm[1][1]:
            raise ModelError(f"{self.palm.path}: outputs {palm} are not a palm detector's "
                             "(boxes N x 18 and scores N x 1)")
        marks = self.landmark.output_shapes
        if len(marks) != 4 or marks[0][-1] != 63 or marks[1][-1] != 1:
            raise ModelError(f"{self.landmark.path}: outputs {marks} are not a hand landmark "
                             "model's (63 landmarks, presence, handedness, world landmarks)")
