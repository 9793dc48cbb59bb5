"""Quantization-aware training for the int8 ops of docs/ir.md (ConvInt8, GemmInt8).

`passes.quantize.quantize(graph, "int8", calib)` fixes each layer's input range (x_scale,
x_zero_point); QAT then fine-tunes the float graph with those ranges and per-channel int8
weights simulated (fake quantization with straight-through gradients, `ops._qat`), and writes
the trained weights back into the int8 graph — so the file computes what was trained.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph
from ..passes.quantize import quantize_weight
from .loop import FitConfig, fit
from .recipes import frozen
from .ops import scalar
from .torch_exec import GraphModule, _copy_graph

INT8_OPS = ("ConvInt8", "GemmInt8")


def qat_graph(float_graph: Graph, int8_graph: Graph) -> Graph:
    """The float graph whose layers computed in int8 carry qat_x_scale / qat_x_zero_point."""
    params = {n.name: n.attrs for n in int8_graph.nodes if n.op in INT8_OPS}
    g = _copy_graph(float_graph)
    for node in g.nodes:
        if node.name in params:
            node.attrs["qat_x_scale"] = float(scalar(params[node.name]["x_scale"]))
            node.attrs["qat_x_zero_point"] = int(scalar(params[node.name]["x_zero_point"]))
    return g


def write_back(trained: Graph, int8_graph: Graph) -> Graph:
    """`int8_graph` with the int8 weights, scales and biases re-quantized from `trained` (the
    QAT float graph); activation ranges unchanged, as QAT simulated them."""
    out = _copy_graph(int8_graph)
    float_nodes = {n.name: n for n in trained.nodes}
    for node in out.nodes:
        if node.op not in INT8_OPS:
            continue
        src = float_nodes[node.name]
        w = trained.tensors[src.inputs[1]].data
        bias = None
        if src.op == "Conv":
            bias = trained.tensors[src.inputs[2]].data if len(src.inputs) > 2 and src.inputs[2] else None
            alpha = 1.0
        else:  # Gemm (transA = 0) or MatMul with a constant right operand, as passes.quantize takes them
            if src.op == "Gemm":
                w = w if int(scalar(src.attrs["transB"])) else w.T
                alpha = float(scalar(src.attrs["alpha"]))
                if len(src.inputs) > 2 and src.inputs[2]:
                    c = trained.tensors[src.inputs[2]].data.reshape(-1)
                    bias = np.broadcast_to(c, (w.shape[0],)) * np.float32(scalar(src.attrs["beta"]))
            else:
                w, alpha = w.T, 1.0
        q, scale = quantize_weight(np.ascontiguousarray(w), 0)
        out.tensors[node.inputs[1]].data = q
        out.tensors[node.inputs[2]].data = (scale * np.float32(alpha)).astype(np.float32)
        if bias is not None and len(node.inputs) > 3 and node.inputs[3]:
            out.tensors[node.inputs[3]].data = np.asarray(bias, np.float32).copy()
    return out


def qat(float_graph: Graph, int8_graph: Graph, x, y=None, cfg: FitConfig = FitConfig(),
        teacher=None, on_step=None, after_step=None) -> Graph:
    """Fine-tunes `float_graph` as its int8 twin computes and returns the trained int8 graph.
    `teacher` defaults to the float graph itself (distillation)."""
    student = GraphModule(qat_graph(float_graph, int8_graph))
    fit(student, teacher or frozen(float_graph), x, y, cfg, on_step=on_step, after_step=after_step)
    return write_back(student.to_graph(), int8_graph)
