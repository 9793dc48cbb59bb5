"""Multiply-accumulate counts of IR nodes (dense), for `inspect` and compression reports.

The runtime counts the same numbers in each op's prepare; tests check that both agree.
"""
from __future__ import annotations

import math

from .ir import Graph, Node


def node_macs(graph: Graph, node: Node) -> int:
    shape = lambda name: graph.tensors[name].shape  # noqa: E731
    if node.op in ("Conv", "ConvInt8"):
        w = shape(node.inputs[1])  # [M, C/group, kH, kW]
        return math.prod(shape(node.outputs[0])) * math.prod(w[1:])
    if node.op == "Gemm":
        a = shape(node.inputs[0])
        k = a[0] if node.attrs.get("transA") else a[1]
        return math.prod(shape(node.outputs[0])) * k
    if node.op == "GemmInt8":  # W [N, K]
        return math.prod(shape(node.outputs[0])) * shape(node.inputs[1])[1]
    if node.op in ("SparseConv", "SparseGemm"):  # dense-equivalent MACs of the stored weight
        return math.prod(shape(node.outputs[0])) * math.prod(node.attrs["weight_shape"][1:])
    if node.op == "MatMul":
        a = shape(node.inputs[0])
        return math.prod(shape(node.outputs[0])) * a[-1]
    return 0


def graph_macs(graph: Graph) -> int:
    return sum(node_macs(graph, n) for n in graph.nodes)
