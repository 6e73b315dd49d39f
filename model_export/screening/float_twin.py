"""The float Keras model an int8 TFLite autoencoder was exported from, rebuilt from the file.

A model whose training ended with int8 fine-tuning (int8_fit) had its kernels set onto the
int8 grid before export, so the int8 file holds them exactly; its biases are int32 at a
scale of (input scale x kernel scale), which loses less than half of that scale. Rebuilding
the float model from the file therefore gives the model that was exported, up to those
bias roundings, and lets the int8 model be compared with its float self when the float file
was not kept (the shipped directory holds only the int8 files).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from device.screening.runtime import interpreter_class
from model_export.screening.architecture import Architecture
from model_export.screening.model import build


class FloatTwinError(ValueError):
    """The int8 file cannot be turned back into its float model."""


def kernels_on_int8_grid(entry: dict[str, Any]) -> bool:
    """Whether a card's task entry says its kernels were trained onto the int8 grid."""
    tuning = (entry.get("training") or {}).get("int8_fine_tuning") or {}
    return int(tuning.get("epochs", 0)) > 0


def _dequantised(details: dict[str, Any], values: np.ndarray) -> np.ndarray:
    q = details["quantization_parameters"]
    scales = np.asarray(q["scales"], dtype=np.float64)
    zero = np.asarray(q["zero_points"], dtype=np.float64)
    if scales.size == 0:
        raise FloatTwinError(f"tensor {details['name']!r} is {values.dtype} without a "
                             "quantisation scale")
    axis = int(q["quantized_dimension"])
    shape = [1] * values.ndim
    shape[axis] = -1
    return ((values - zero.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def _named_weights(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per Conv2D layer name: (kernel (h, w, in, out), bias (out,)) dequantised."""
    interpreter = interpreter_class()(model_path=str(path))
    interpreter.allocate_tensors()
    kernels: dict[str, np.ndarray] = {}
    biases: dict[str, np.ndarray] = {}
    for details in interpreter.get_tensor_details():
        name, shape = details["name"], tuple(details["shape"])
        kernel = re.search(r"/(\w+?)(?:_\d+)?/convolution$", name)
        bias = re.match(r"[^;]*?/(\w+?)(?:_\d+)?/(?:Relu|BiasAdd)", name)
        # a fused activation's name also ends in a layer's ops, but lists several with ";"
        if kernel and ";" not in name and len(shape) == 4 and details["dtype"] == np.int8:
            values = interpreter.get_tensor(details["index"])
            # TFLite keeps Conv2D kernels as (out, h, w, in)
            kernels[kernel.group(1)] = _dequantised(details, values).transpose(1, 2, 3, 0)
        elif bias and len(shape) == 1 and details["dtype"] == np.int32:
            biases[bias.group(1)] = _dequantised(details, interpreter.get_tensor(details["index"]))
    return {name: (kernels[name], biases[name]) for name in kernels if name in biases}


def float_twin(path: Path, arch: Architecture) -> tf.keras.Model:
    """The float model of ``arch`` carrying the int8 file's weights; FloatTwinError when
    the file's layers do not match ``arch``."""
    if arch.centred:
        raise FloatTwinError(f"{path.name}: a centred model keeps its mean hand as a "
                             "quantised constant; its float model cannot be rebuilt from it")
    weights = _named_weights(path)
    model = build(arch)
    convs = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    missing = [layer.name for layer in convs if layer.name not in weights]
    if missing:
        raise FloatTwinError(f"{path.name}: no int8 kernel and bias found for layer(s) "
                             f"{', '.join(missing)}")
    for layer in convs:
        kernel, bias = weights[layer.name]
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise FloatTwinError(f"{path.name}: layer {layer.name} has a {kernel.shape} "
                                 f"kernel, the card's architecture a {expected} one")
        layer.set_weights([kernel, bias])
    return model
