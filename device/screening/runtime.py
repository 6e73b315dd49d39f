"""The TFLite runtime: LiteRT (ai_edge_litert), or tflite_runtime where LiteRT is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise RuntimeError(
                "no TFLite runtime: install ai-edge-litert (or tflite-runtime)"
            ) from None
    return Interpreter


class TfliteModel:
    """One .tflite model with a single float input and output, run on one thread."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self.path = Path(path)
        self._interpreter = interpreter_class()(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self._input["shape"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run one example (the input shape without the batch axis, or with batch 1)."""
        batch = np.asarray(x, dtype=np.float32).reshape(self.input_shape)
        self._interpreter.set_tensor(self._input["index"], batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"])[0].copy()
