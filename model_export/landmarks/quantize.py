"""The int8 variant of a float32 TFLite model, with ai-edge-quantizer.

Weights and activations are quantised to int8 from calibration samples (activation ranges
from min/max; weight ranges from min/max or chosen to minimise the squared error), then
the model gets
float32 input and output again (a QUANTIZE op in front of each input, a DEQUANTIZE op after
each output) so that it is a drop-in for the float model. Dynamic-range quantisation (int8
weights, float activations) was tried and left out: with XNNPACK it ran slower than float32.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils

from model_export.landmarks.fold import SIGNATURE_KEY


def quantize_static(float_model: Path, target: Path, samples: Iterable[np.ndarray],
                    mse_weights: bool = False) -> None:
    """int8 weights and activations calibrated on ``samples`` (each one input batch);
    ``mse_weights`` picks weight ranges by least squared error instead of min/max."""
    from ai_edge_quantizer import algorithm_manager, quantizer, recipe

    names = algorithm_manager.AlgorithmName
    q = quantizer.Quantizer(str(float_model))
    q.load_quantization_recipe(recipe.static_wi8_ai8(
        names.MSE if mse_weights else names.MIN_MAX_UNIFORM_QUANT))
    input_name = _only_input_name(float_model)
    data = {SIGNATURE_KEY: [{input_name: np.asarray(s, np.float32)} for s in samples]}
    if not data[SIGNATURE_KEY]:
        raise ValueError(f"{float_model.name}: no calibration samples")
    calibration = q.calibrate(data, num_threads=1)
    model = flatbuffer_utils.read_model_from_bytearray(
        bytes(q.quantize(calibration, enable_progress_report=False).quantized_model))
    float_interface(model)
    _write(flatbuffer_utils.convert_object_to_bytearray(model), target)


def float_interface(model: schema.ModelT) -> None:
    """Give every quantised input and output of the first subgraph a float32 twin."""
    codes = {flatbuffer_utils.get_builtin_code_from_operator_code(c): i
             for i, c in enumerate(model.operatorCodes)}
    subgraph = model.subgraphs[0]
    subgraph.inputs, subgraph.outputs = list(subgraph.inputs), list(subgraph.outputs)
    front, back = [], []
    remapped: dict[int, int] = {}
    for position, index in enumerate(subgraph.inputs):
        twin = _float_twin(subgraph, index)
        if twin is not None:
            front.append(_op(model, codes, schema.BuiltinOperator.QUANTIZE, twin, index))
            subgraph.inputs[position] = remapped[index] = twin
    for position, index in enumerate(subgraph.outputs):
        twin = _float_twin(subgraph, index)
        if twin is not None:
            back.append(_op(model, codes, schema.BuiltinOperator.DEQUANTIZE, index, twin))
            subgraph.outputs[position] = remapped[index] = twin
    subgraph.operators = front + subgraph.operators + back
    for signature in model.signatureDefs or ():
        for entry in [*signature.inputs, *signature.outputs]:
            entry.tensorIndex = remapped.get(entry.tensorIndex, entry.tensorIndex)


def _float_twin(subgraph: schema.SubGraphT, index: int) -> int | None:
    tensor = subgraph.tensors[index]
    if tensor.type != schema.TensorType.INT8:
        return None
    twin = schema.TensorT()
    twin.name = tensor.name
    twin.shape = tensor.shape
    twin.shapeSignature = tensor.shapeSignature
    twin.type = schema.TensorType.FLOAT32
    twin.buffer = 0  # the empty buffer: computed, not constant
    tensor.name = f"{tensor.name}_int8"
    subgraph.tensors.append(twin)
    return len(subgraph.tensors) - 1


def _op(model: schema.ModelT, codes: dict[int, int], builtin: int, source: int,
        target: int) -> schema.OperatorT:
    if builtin not in codes:
        code = schema.OperatorCodeT()
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(builtin, 127)
        code.version = 1
        model.operatorCodes.append(code)
        codes[builtin] = len(model.operatorCodes) - 1
    op = schema.OperatorT()
    op.opcodeIndex = codes[builtin]
    op.inputs = [source]
    op.outputs = [target]
    return op


def _only_input_name(model_path: Path) -> str:
    model = flatbuffer_utils.read_model(str(model_path))
    signature = model.signatureDefs[0] if model.signatureDefs else None
    if signature is None or len(signature.inputs) != 1:
        raise ValueError(f"{model_path.name}: expected one signature with one input")
    name = signature.inputs[0].name
    return name.decode() if isinstance(name, bytes) else name


def _write(model_bytes: bytes | bytearray, target: Path) -> None:
    target.write_bytes(bytes(model_bytes))
