"""IR-level fusions and clean-up, run after conversion.

- per-channel Mul/Add/Sub by a constant after a Conv or Gemm (what BatchNormalization
  lowers to) folds into the weights and bias;
- Sigmoid(x)·x becomes Silu, HardSigmoid(x; 1/6, 1/2)·x becomes HardSwish;
- an activation that is the only reader of a Conv/Gemm output becomes its `activation`;
- likewise for Add/Sub/Mul/Div (the Add+Relu of residual blocks): their optional
  `activation` attribute (docs/ir.md).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, TensorInfo

# IR activation op -> attributes that become `activation_params`, in order.
ACTIVATIONS = {"Relu": [], "Sigmoid": [], "Tanh": [], "Silu": [], "HardSwish": [],
               "Clip": ["min", "max"], "LeakyRelu": ["alpha"], "HardSigmoid": ["alpha", "beta"]}


def _sole_reader(graph: Graph, tensor: str, readers_of: dict) -> Node | None:
    """The one node reading `tensor`, if exactly one does and it is no graph output."""
    readers = readers_of.get(tensor, [])
    if tensor in graph.outputs or len(readers) != 1:
        return None
    return readers[0]


def _channel_vector(c: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray | None:
    """`c` as a vector over axis 1 of `out_shape` if it broadcasts along that axis only."""
    if c.ndim > len(out_shape):
        return None
    full = (1,) * (len(out_shape) - c.ndim) + c.shape
    channels = out_shape[1]
    if any(d != 1 for i, d in enumerate(full) if i != 1) or full[1] not in (1, channels):
        return None
    return np.broadcast_to(c.reshape(-1).astype(np.float64), (channels,))


def _own_constant(graph: Graph, node: Node, slot: int, data: np.ndarray) -> None:
    """Stores new data for input `slot` of `node`, copying when other nodes share it."""
    name = node.inputs[slot] if slot < len(node.inputs) else ""
    shared = name and len(graph.consumers().get(name, [])) > 1
    if not name or shared:
        base, k = f"{node.name}/{'weight' if slot == 1 else 'bias'}", 0
        name = base
        while name in graph.tensors:
            k += 1
            name = f"{base}_{k}"
        while len(node.inputs) <= slot:
            node.inputs.append("")
        node.inputs[slot] = name
    data = np.ascontiguousarray(data, dtype=np.float32)
    graph.tensors[name] = TensorInfo(name, tuple(data.shape), np.dtype(np.float32), data)


def _fold_affine_once(graph: Graph) -> bool:
    readers_of = graph.consumers()
    for node in graph.nodes:
        if node.op not in ("Conv", "Gemm") or node.attrs["activation"]:
            continue
        y = node.outputs[0]
        nxt = _sole_reader(graph, y, readers_of)
        if nxt is None or nxt.op not in ("Mul", "Add", "Sub") or nxt.inputs[0] == nxt.inputs[1]:
            continue
        if nxt.op == "Sub" and nxt.inputs[0] != y:
            continue
        other = nxt.inputs[1] if nxt.inputs[0] == y else nxt.inputs[0]
        c, w = graph.constant(other), graph.constant(node.inputs[1])
        shape = graph.tensors[y].shape
        bias_name = node.inputs[2] if len(node.inputs) > 2 else ""
        bias = graph.constant(bias_name) if bias_name else None
        if c is None or w is None or (bias_name and bias is None) \
                or graph.tensors[nxt.outputs[0]].shape != shape:
            continue
        v = _channel_vector(c, shape)
        if v is None:
            continue
        if node.op == "Conv":
            if nxt.op == "Mul":
                _own_constant(graph, node, 1, w * v.reshape(-1, 1, 1, 1))
                if bias is not None:
                    _own_constant(graph, node, 2, bias * v)
            else:
                base = bias if bias is not None else np.zeros(shape[1])
                _own_constant(graph, node, 2, base + (v if nxt.op == "Add" else -v))
        else:  # Gemm: y = alpha·A·B' + beta·C, v runs over the columns of y
            if nxt.op == "Mul":
                trans_b = int(np.ravel([node.attrs["transB"]])[0])
                _own_constant(graph, node, 1, w * (v.reshape(-1, 1) if trans_b else v))
                if bias is not None:
                    _own_constant(graph, node, 2, bias * v)
            else:
                beta = float(np.ravel([node.attrs["beta"]])[0])
                base = beta * bias if bias is not None else np.zeros(shape[1])
                _own_constant(graph, node, 2, base + (v if nxt.op == "Add" else -v))
                node.attrs["beta"] = 1.0
        node.outputs = list(nxt.outputs)
        graph.nodes.remove(nxt)
        return True
    return False


def _gated_product(graph: Graph, gate_op: str, accept) -> bool:
    """gate(x)·x -> one node (Silu, HardSwish)."""
    readers_of = graph.consumers()
    for node in graph.nodes:
        if node.op != gate_op or not accept(node):
            continue
        x, g = node.inputs[0], node.outputs[0]
        mul = _sole_reader(graph, g, readers_of)
        if mul is None or mul.op != "Mul" or sorted(mul.inputs) != sorted([x, g]):
            continue
        node.op = "Silu" if gate_op == "Sigmoid" else "HardSwish"
        node.attrs = {}
        node.outputs = list(mul.outputs)
        graph.nodes.remove(mul)
        return True
    return False


def _is_hard_swish_gate(node: Node) -> bool:
    alpha = float(np.ravel([node.attrs["alpha"]])[0])
    beta = float(np.ravel([node.attrs["beta"]])[0])
    return abs(alpha - 1 / 6) < 1e-6 and abs(beta - 0.5) < 1e-6


# Ops that take a following activation into their `activation` attribute (docs/ir.md).
_TAKES_ACTIVATION = ("Conv", "Gemm", "Add", "Sub", "Mul", "Div")


def _fuse_activation_once(graph: Graph) -> bool:
    readers_of = graph.consumers()
    for node in graph.nodes:
        if node.op not in _TAKES_ACTIVATION or node.attrs.get("activation"):
            continue
        act = _sole_reader(graph, node.outputs[0], readers_of)
        if act is None or act.op not in ACTIVATIONS:
            continue
        node.attrs["activation"] = act.op
        node.attrs["activation_params"] = [float(np.ravel([act.attrs[k]])[0])
                                           for k in ACTIVATIONS[act.op]]
        node.outputs = list(act.outputs)
        graph.nodes.remove(act)
        return True
    return False


def fuse(graph: Graph) -> Graph:
    while _fold_affine_once(graph):
        pass
    while _gated_product(graph, "Sigmoid", lambda n: True):
        pass
    while _gated_product(graph, "HardSigmoid", _is_hard_swish_gate):
        pass
    while _fuse_activation_once(graph):
        pass
    return graph


def cleanup(graph: Graph) -> Graph:
    """Drops nodes and tensors nothing uses and orders nodes topologically."""
    needed = set(graph.outputs)
    keep = []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.outputs):
            keep.append(node)
            needed.update(i for i in node.inputs if i)
    keep.reverse()
    # Topological order (converters emit in ONNX order already; fusions keep it, this checks).
    ready = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.data is not None}
    ordered, pending = [], keep
    while pending:
        rest = []
        for node in pending:
            if all(not i or i in ready for i in node.inputs):
                ordered.append(node)
                ready.update(node.outputs)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ValueError(f"graph has a cycle or a missing tensor at node '{rest[0].name}'")
        pending = rest
    graph.nodes = ordered
    referenced = set(graph.inputs) | set(graph.outputs)
    for node in ordered:
        referenced.update(i for i in node.inputs if i)
        referenced.update(node.outputs)
    graph.tensors = {n: t for n, t in graph.tensors.items() if n in referenced}
    return graph
