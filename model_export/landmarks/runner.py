"""One TFLite model in LiteRT's interpreter, one thread: inputs in, outputs out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter


class Runner:
    def __init__(self, model: Path) -> None:
        self.path = model
        self._interpreter = Interpreter(model_path=str(model), num_threads=1)
        self._interpreter.allocate_tensors()
        (self._input,) = self._interpreter.get_input_details()
        self._outputs = self._interpreter.get_output_details()

    @property
    def input_shape(self) -> list[int]:
        return [int(n) for n in self._input["shape"]]

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Outputs in the model's order, copied out of the interpreter."""
        self._interpreter.set_tensor(self._input["index"], batch.astype(np.float32))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(o["index"]).copy() for o in self._outputs]

    def seconds_per_inference(self, batch: np.ndarray, repeats: int) -> tuple[float, float]:
        """Median and fastest wall time of ``repeats`` invocations on ``batch`` (after one
        warm-up)."""
        self._interpreter.set_tensor(self._input["index"], batch.astype(np.float32))
        self._interpreter.invoke()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self._interpreter.invoke()
            times.append(time.perf_counter() - start)
        return float(np.median(times)), float(np.min(times))
