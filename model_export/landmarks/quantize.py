"""The int8 variant of a float32 TFLite model, with ai-edge-quantizer.

Weights and activations are quantised to int8 from calibration samples, then the model
gets
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
                    mse_weights: bool = False, full_range: bool = False) -> None:
    """int8 weights and activations calibrated on ``samples`` (each one input batch).

    ``mse_weights`` picks weight ranges by least squared error instead of min/max;
    ``full_range`` takes activation ranges over all samples instead of ai-edge-quantizer's
    moving average of each sample's range.
    """
    from ai_edge_quantizer import algorithm_manager, quantizer, recipe

    names = algorithm_manager.AlgorithmName
    q = quantizer.Quantizer(str(float_model))
    q.load_quantization_recipe(recipe.static_wi8_ai8(
        names.MSE if mse_weights else names.MIN_MAX_UNIFORM_QUANT))
    input_name = _only_input_name(float_model)
    data = {SIGNATURE_KEY: [{input_name: np.asarray(s, np.float32)} for s in samples]}
    if not data[SIGNATURE_KEY]:
        raise ValueError(f"{float_model.name}: no calibration samples")
    if full_range:
        calibration = _calibrate_full_range(float_model, q.get_quantization_recipe(), data)
    else:
        calibration = q.calibrate(data, num_threads=1)
    model = flatbuffer_utils.read_model_from_bytearray(
        bytes(q.quantize(calibration, enable_progress_report=False).quantized_model))
    float_interface(model)
    _write(flatbuffer_utils.convert_object_to_bytearray(model), target)


def _calibrate_full_range(float_model: Path, quantization_recipe: object,
                          data: dict[str, list[dict[str, np.ndarray]]]) -> dict[str, object]:
    """Activation ranges that cover every calibration sample.

    ai-edge-quantizer's own calibration keeps a moving average of each sample's min and
    max, which leaves a one-value output (the hand presence and handedness scores) with
    an empty range; min and max over all samples do not.
    """
    from ai_edge_quantizer import calibrator, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(quantization_recipe)
    calib = calibrator.Calibrator(float_model.read_bytes(), num_threads=1,
                                  qsv_update_func=qsv_utils.min_max_update)
    calib.calibrate(data, manager)
    return calib.get_model_qsvs()


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
