"""Loading an ONNX model: opset check, node names, input shapes and bound inputs."""
from __future__ import annotations

import os
from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import UnsupportedError

MIN_OPSET = 11


def load(model_or_path) -> tuple[onnx.ModelProto, str]:
    """Returns a private copy of the model (we rename nodes in it) and a source name."""
    if isinstance(model_or_path, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
        return model, model.graph.name or "<model>"
    path = os.fspath(model_or_path)
    return onnx.load(path), os.path.basename(path)


def opset_version(model: onnx.ModelProto) -> int:
    """The default-domain opset; older than MIN_OPSET fails with a clear message."""
    version = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if version is None:
        raise UnsupportedError("model imports no default-domain (ai.onnx) opset",
                               [("<model>", "opset", "no ai.onnx opset import")])
    if version < MIN_OPSET:
        reason = (f"opset {version} is older than {MIN_OPSET}; re-export the model with "
                  f"opset >= {MIN_OPSET} (e.g. onnx.version_converter.convert_version)")
        raise UnsupportedError(reason, [("<model>", "opset", reason)])
    return version


def name_nodes(graph: onnx.GraphProto) -> None:
    """Gives every unnamed node an `<op>_<n>` name, unique within the graph."""
    taken = {n.name for n in graph.node if n.name}
    counts: Counter = Counter()
    for node in graph.node:
        if node.name:
            continue
        while True:
            name = f"{node.op_type}_{counts[node.op_type]}"
            counts[node.op_type] += 1
            if name not in taken:
                break
        node.name = name
        taken.add(name)


def _dims(value_info: onnx.ValueInfoProto) -> list:
    """Each dim as an int, or None where ONNX leaves it symbolic or unknown."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim]


def bind_inputs(graph: onnx.GraphProto, input_shapes: dict | None, constants: dict | None):
    """Splits graph inputs into runtime inputs (float32, static shape) and constants.

    Returns (inputs: name -> shape, values: name -> array, problems)."""
    input_shapes = dict(input_shapes or {})
    constants = dict(constants or {})
    initializers = {t.name for t in graph.initializer}
    inputs, values, problems = {}, {}, []
    for vi in graph.input:
        if vi.name in initializers:
            continue  # old exporters list weights as inputs too; the initializer wins
        elem = vi.type.tensor_type.elem_type
        if vi.name in constants:
            values[vi.name] = np.asarray(constants.pop(vi.name))
            continue
        if elem != onnx.TensorProto.FLOAT:
            dtype = onnx.TensorProto.DataType.Name(elem)
            problems.append((vi.name, "input", f"graph input is {dtype}, only float32 inputs run; "
                             f"pass its value in constants={{'{vi.name}': ...}} to bind it"))
            continue
        if vi.name in input_shapes:
            inputs[vi.name] = tuple(int(d) for d in input_shapes.pop(vi.name))
            continue
        dims = _dims(vi)
        if dims is None:
            problems.append((vi.name, "input", "graph input has no shape; pass input_shapes="))
            continue
        if dims and dims[0] is None:
            dims[0] = 1  # a dynamic leading dim is the batch: fix it to 1
        missing = [i for i, d in enumerate(dims) if d is None]
        if missing:
            problems.append((vi.name, "input", f"dimension {missing[0]} of shape "
                             f"{[d if d is not None else '?' for d in dims]} is dynamic; "
                             f"pass input_shapes={{'{vi.name}': [...]}}"))
            continue
        inputs[vi.name] = tuple(dims)
    for name in list(input_shapes) + list(constants):
        problems.append((name, "input", "not a graph input (input_shapes/constants name it)"))
    return inputs, values, problems


def initializer_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in graph.initializer}
