"""One forward pass over the ONNX graph: constant folding and static shapes.

Every node whose inputs are all constant is evaluated now (onnx's own numpy reference runs
it), `Shape`/`Size` of a tensor with a static shape become constants, and every other node
gets its output shapes and dtypes from onnx's per-node shape inference (with the constant
inputs' values, so Reshape/Resize/Slice shapes resolve), falling back to running the node
on zeros where inference leaves a dim unknown."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

# Folding these would freeze one random draw into the model.
NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                    "Multinomial", "Bernoulli"}


@dataclass
class Analysis:
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dtypes: dict[str, np.dtype] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)  # every constant tensor
    nodes: list[onnx.NodeProto] = field(default_factory=list)    # nodes left to convert
    problems: list[tuple[str, str, str]] = field(default_factory=list)


def evaluate(node: onnx.NodeProto, feeds: dict[str, np.ndarray], opsets: dict[str, int]) -> list:
    """Runs one ONNX node with onnx's numpy reference implementation."""
    outs = ReferenceEvaluator(node, opsets=opsets).run(None, {k: v for k, v in feeds.items() if k})
    return [np.asarray(o) for o in outs]


def _infer(node, an: Analysis, opsets: dict[str, int]):
    """Output (shape, dtype) pairs from onnx shape inference, None where not fully static."""
    schema = onnx.defs.get_schema(node.op_type, opsets.get(node.domain, 1), node.domain)
    types, data = {}, {}
    for name in node.input:
        if not name:
            continue
        elem = helper.np_dtype_to_tensor_dtype(an.dtypes[name])
        types[name] = helper.make_tensor_type_proto(elem, an.shapes[name])
        if name in an.values:
            data[name] = numpy_helper.from_array(an.values[name], name)
    try:
        out = shape_inference.infer_node_outputs(
            schema, node, types, data, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    except Exception:
        return None
    result = []
    for name in node.output:
        if not name:
            result.append(None)
            continue
        t = out.get(name)
        if t is None or not t.tensor_type.HasField("shape"):
            return None
        dims = t.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            return None
        result.append((tuple(d.dim_value for d in dims),
                       helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type)))
    return result


def _run_on_zeros(node, an: Analysis, opsets):
    feeds = {n: an.values[n] if n in an.values else np.zeros(an.shapes[n], an.dtypes[n])
             for n in node.input if n}
    return [(o.shape, o.dtype) for o in evaluate(node, feeds, opsets)]


def _shape_of(node, an: Analysis) -> np.ndarray:
    shape = an.shapes[node.input[0]]
    if node.op_type == "Size":
        return np.array(int(np.prod(shape, dtype=np.int64)), np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[start:end], np.int64)  # Python slicing clamps as ONNX does


def analyze(graph: onnx.GraphProto, inputs: dict, values: dict, opsets: dict[str, int]) -> Analysis:
    an = Analysis()
    for name, shape in inputs.items():
        an.shapes[name], an.dtypes[name] = tuple(shape), np.dtype(np.float32)
    for name, arr in values.items():
        an.values[name] = arr
        an.shapes[name], an.dtypes[name] = arr.shape, arr.dtype
    for node in graph.node:
        ins = [i for i in node.input if i]
        if any(i not in an.shapes for i in ins):
            an.nodes.append(node)  # kept, so the importer can trace outputs back to the failure
            continue
        try:
            if node.op_type in ("Shape", "Size") and node.domain in ("", "ai.onnx"):
                outs = [_shape_of(node, an)]
            elif all(i in an.values for i in ins) and node.op_type not in NONDETERMINISTIC \
                    and node.domain in ("", "ai.onnx"):
                outs = evaluate(node, {i: an.values[i] for i in ins}, opsets)
            else:
                outs = None
        except Exception as e:  # noqa: BLE001 - any evaluator failure is a conversion problem
            an.problems.append((node.name, node.op_type, f"cannot fold constant node: {e}"))
            continue
        if outs is not None:
            for name, arr in zip(node.output, outs):
                if name:
                    an.values[name], an.shapes[name], an.dtypes[name] = arr, arr.shape, arr.dtype
            continue
        an.nodes.append(node)
        if node.domain not in ("", "ai.onnx"):
            continue  # reported as unsupported by the converter
        types = _infer(node, an, opsets)
        if types is None:
            try:
                types = _run_on_zeros(node, an, opsets)
            except Exception:  # noqa: BLE001 - reported as unsupported or shape-less later
                continue
        for name, t in zip(node.output, types):
            if name and t is not None:
                an.shapes[name], an.dtypes[name] = tuple(int(d) for d in t[0]), np.dtype(t[1])
    return an


def live_nodes(nodes: list[onnx.NodeProto], outputs: list[str]) -> list[onnx.NodeProto]:
    """The nodes some graph output depends on, in their original order."""
    needed = set(outputs)
    keep = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output if o):
            keep.append(node)
            needed.update(i for i in node.input if i)
    return keep[::-1]
