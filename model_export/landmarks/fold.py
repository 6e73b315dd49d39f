"""Fold float16 weights to float32 in a TFLite flatbuffer.

MediaPipe ships its hand models with float16 constants, each behind a DEQUANTIZE op that
widens it to float32 at load time. A quantiser sees no float32 weights to work on, so this
rewrite stores every such constant as float32, removes its DEQUANTIZE op and points the
consumers at the widened tensor (the DEQUANTIZE output keeps its index and name). Tensors
and buffers left unused are dropped. A model without a signature gets one
(``serving_default``, tensors by name), which the quantiser's calibration needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils

SIGNATURE_KEY = "serving_default"


class FoldError(ValueError):
    """The model cannot be folded (not a TFLite flatbuffer, or an unexpected layout)."""


def fold_fp16_model(model: schema.ModelT) -> int:
    """Fold in place; return how many float16 constants were folded."""
    dequantize = {
        index for index, code in enumerate(model.operatorCodes)
        if flatbuffer_utils.get_builtin_code_from_operator_code(code)
        == schema.BuiltinOperator.DEQUANTIZE
    }
    folded = 0
    for subgraph in model.subgraphs:
        kept = []
        for op in subgraph.operators:
            if op.opcodeIndex in dequantize and _fold_one(model, subgraph, op):
                folded += 1
            else:
                kept.append(op)
        subgraph.operators = kept
        _drop_unused_tensors(subgraph)
    _drop_unused_buffers(model)
    if not model.signatureDefs:
        model.signatureDefs = [_default_signature(model.subgraphs[0])]
    return folded


def fold_fp16_file(source: Path, target: Path) -> int:
    """Read ``source``, fold it, write ``target``; return how many constants were folded."""
    try:
        model = flatbuffer_utils.read_model(str(source))
    except Exception as exc:  # the flatbuffer reader raises anything on a bad file
        raise FoldError(f"{source}: not a readable TFLite model ({exc})") from exc
    folded = fold_fp16_model(model)
    flatbuffer_utils.write_model(model, str(target))
    return folded


def _fold_one(model: schema.ModelT, subgraph: schema.SubGraphT, op: schema.OperatorT) -> bool:
    """Store the op's float16 constant input as float32 in its output; False if not such an op."""
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        return False
    source = subgraph.tensors[op.inputs[0]]
    target = subgraph.tensors[op.outputs[0]]
    if source.type != schema.TensorType.FLOAT16 or target.type != schema.TensorType.FLOAT32:
        return False
    data = model.buffers[source.buffer].data
    if data is None or len(data) == 0:
        return False  # a float16 activation, not a constant
    if op.outputs[0] in subgraph.outputs:
        return False  # a graph output must stay computed
    values = np.frombuffer(bytes(bytearray(data)), dtype="<f2").astype("<f4")
    expected = int(np.prod(source.shape)) if source.shape is not None else 1
    if values.size != expected:
        raise FoldError(f"tensor {source.name!r}: {values.size} float16 values for shape "
                        f"{list(source.shape)}")
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(values.tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    target.buffer = len(model.buffers) - 1
    return True


def _drop_unused_tensors(subgraph: schema.SubGraphT) -> None:
    used = set(subgraph.inputs) | set(subgraph.outputs)
    for op in subgraph.operators:
        used.update(i for i in op.inputs if i >= 0)
        used.update(i for i in op.outputs if i >= 0)
        used.update(i for i in (op.intermediates if op.intermediates is not None else ()))
    order = sorted(used)
    new_index = {old: new for new, old in enumerate(order)}

    def remap(indices: object) -> list[int]:
        return [new_index[i] if i >= 0 else i for i in indices]  # -1 marks an omitted input

    subgraph.tensors = [subgraph.tensors[i] for i in order]
    subgraph.inputs = remap(subgraph.inputs)
    subgraph.outputs = remap(subgraph.outputs)
    for op in subgraph.operators:
        op.inputs = remap(op.inputs)
        op.outputs = remap(op.outputs)
        if op.intermediates is not None:
            op.intermediates = remap(op.intermediates)


def _drop_unused_buffers(model: schema.ModelT) -> None:
    """Empty the buffers no tensor refers to any more (indices stay: metadata points at them)."""
    used = {t.buffer for sg in model.subgraphs for t in sg.tensors}
    used.update(m.buffer for m in (model.metadata or ()))
    for index, buffer in enumerate(model.buffers):
        if index not in used and buffer.data is not None:
            buffer.data = None


def _default_signature(subgraph: schema.SubGraphT) -> schema.SignatureDefT:
    def tensor_map(index: int) -> schema.TensorMapT:
        entry = schema.TensorMapT()
        entry.name = subgraph.tensors[index].name
        entry.tensorIndex = index
        return entry

    signature = schema.SignatureDefT()
    signature.signatureKey = SIGNATURE_KEY
    signature.subgraphIndex = 0
    signature.inputs = [tensor_map(i) for i in subgraph.inputs]
    signature.outputs = [tensor_map(i) for i in subgraph.outputs]
    return signature
