"""ONNX -> IR: load, bind inputs, fold and infer shapes, convert each node, fuse, clean up."""
from __future__ import annotations

import collections

from ..errors import UnsupportedError
from ..ir import Graph, TensorInfo
from . import ops_nn, ops_tensor
from .builder import Builder, Unsupported, attributes
from .check import check_graph
from .exporters import ultralytics_metadata
from .fold import analyze, live_nodes
from .fuse import cleanup, fuse
from .load import bind_inputs, initializer_values, load, name_nodes, opset_version

# ONNX op -> converter(builder, node, attrs). Pure shape-computation ops (Shape, Gather on
# constants, Cast, Range, ConstantOfShape, Equal, Where, …) need no entry: they fold away.
CONVERTERS = {
    "Conv": ops_nn.conv,
    "ConvTranspose": ops_nn.conv_transpose,
    "Gemm": ops_nn.gemm,
    "MatMul": ops_nn.matmul,
    "MaxPool": ops_nn.max_pool,
    "AveragePool": ops_nn.average_pool,
    "GlobalAveragePool": ops_nn.global_pool,
    "GlobalMaxPool": ops_nn.global_pool,
    "BatchNormalization": ops_nn.batch_norm,
    "Resize": ops_nn.resize,
    "Softmax": ops_nn.softmax,
    "LayerNormalization": ops_nn.layer_norm,
    "Add": ops_tensor.binary,
    "Sub": ops_tensor.binary,
    "Mul": ops_tensor.binary,
    "Div": ops_tensor.binary,
    "Relu": ops_tensor.unary,
    "Sigmoid": ops_tensor.unary,
    "Tanh": ops_tensor.unary,
    "HardSwish": ops_tensor.unary,
    "LeakyRelu": ops_tensor.leaky_relu,
    "HardSigmoid": ops_tensor.hard_sigmoid,
    "PRelu": ops_tensor.prelu,
    **{op: ops_tensor.unary for op in ("Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Floor",
                                       "Ceil", "Round", "Sign", "Erf", "Softplus", "Mish")},
    "Elu": ops_tensor.elu,
    "Selu": ops_tensor.selu,
    "Gelu": ops_tensor.gelu,
    "Pow": ops_tensor.pow_,
    **{op: ops_tensor.reduce for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                        "ReduceProd", "ReduceL2", "ReduceLogSumExp")},
    "Clip": ops_tensor.clip,
    "Concat": ops_tensor.concat,
    "Split": ops_tensor.split,
    "Slice": ops_tensor.slice_,
    "Transpose": ops_tensor.transpose,
    "Pad": ops_tensor.pad,
    "Gather": ops_tensor.gather,
    "Reshape": ops_tensor.reshape_like,
    "Flatten": ops_tensor.reshape_like,
    "Squeeze": ops_tensor.reshape_like,
    "Unsqueeze": ops_tensor.reshape_like,
    "Identity": ops_tensor.reshape_like,
    "Dropout": ops_tensor.reshape_like,
    "Cast": ops_tensor.reshape_like,  # float32 -> float32 only; other targets fail the dtype check
}


def _message(source: str, problems) -> str:
    lines = [f"{op} '{name}': {reason}" if op in ("input", "output") else
             f"node '{name}' ({op}): {reason}" for name, op, reason in problems]
    return f"cannot convert {source}: {len(problems)} problem(s)\n  " + "\n  ".join(lines)


def _output_problems(outputs: list[str], inputs: dict) -> list[tuple[str, str, str]]:
    """Valid ONNX the runtime cannot express: hosts key outputs by name and every output is
    computed by a node (wasm/src/loader.cpp)."""
    problems = [(n, "output", "is listed twice as a graph output") for n, k
                in collections.Counter(outputs).items() if k > 1]
    problems += [(n, "output", "is also a graph input; give the output its own name "
                  "(an Identity node)") for n in dict.fromkeys(outputs) if n in inputs]
    return problems


def _constant_output(b: Builder, name: str) -> None:
    """An output that folded to a constant (or is an initializer) becomes a copy of it, since
    the runtime's outputs are computed by nodes; readers keep reading the constant (a Conv
    bias must be one)."""
    b.use(name)
    value = b.tensors.pop(name)
    const = b.add_const(f"{name}/value", value.data)
    for node in b.nodes:
        node.inputs = [const if i == name else i for i in node.inputs]
    b.tensors[name] = TensorInfo(name, value.shape)
    b.emit("Reshape", f"{name}/copy", [const], [name])


def import_onnx(model_or_path, input_shapes: dict | None = None,
                constants: dict | None = None) -> Graph:
    """Converts an ONNX model (path or ModelProto) into an IR graph with static shapes.

    `input_shapes` fixes dynamic input dims (name -> shape); a dynamic leading dim defaults
    to 1. `constants` binds graph inputs to values (name -> array); non-float32 inputs must be
    bound this way. Raises UnsupportedError listing every problem in the whole graph."""
    model, source = load(model_or_path)
    opset = opset_version(model)
    g = model.graph
    name_nodes(g)
    check_graph(g, source)
    inputs, bound, fixed_dims, problems = bind_inputs(g, input_shapes, constants)
    opsets = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    an = analyze(g, inputs, {**initializer_values(g, source), **bound}, opsets)
    problems += an.problems
    outputs = [o.name for o in g.output]
    problems += _output_problems(outputs, inputs)
    nodes = live_nodes(an.nodes, outputs)
    used = set(outputs) | {i for n in nodes for i in n.input if i}
    b = Builder(an, opset, used)
    for name, shape in inputs.items():
        b.tensors[name] = TensorInfo(name, shape)
    for node in nodes:
        converter = CONVERTERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        if converter is None:
            where = f" (domain '{node.domain}')" if node.domain not in ("", "ai.onnx") else ""
            problems.append((node.name, node.op_type, f"op is not supported{where}"))
            continue
        if any(i not in an.shapes for i in node.input if i):
            continue  # an upstream node failed; its problem is already listed
        if any(o not in an.shapes for o in node.output if o in used):
            problems.append((node.name, node.op_type, "output shape could not be inferred "
                             f"(do the input shapes {dict(inputs)} fit what the model hard-codes?)"))
            continue
        attrs = attributes(node)
        try:
            converter(b, node, attrs)
        except Unsupported as e:
            problems.append((node.name, node.op_type, str(e)))
            continue
        for name in attrs.unread(node, opset):  # ignoring it would give a wrong answer
            problems.append((node.name, node.op_type, f"attribute {name}={attrs[name]!r} is not supported"))
    for name in dict.fromkeys(outputs):  # a name listed twice is reported above
        if name in an.values:
            try:
                _constant_output(b, name)
            except Unsupported as e:
                problems.append((name, "output", str(e)))
    if problems:
        raise UnsupportedError(_message(source, problems), problems)
    graph = Graph(b.nodes, b.tensors, list(inputs), outputs,
                  metadata={"source": source, "opset": opset,
                            **ultralytics_metadata(model, [b.tensors[o].shape for o in outputs]),
                            **({"fixed_dims": fixed_dims} if fixed_dims else {})})
    return cleanup(fuse(graph))
