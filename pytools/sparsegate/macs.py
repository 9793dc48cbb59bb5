"""Multiply-accumulate counts of IR nodes (dense), for `inspect` and compression reports.

The runtime counts the same numbers in each op's prepare; tests check that both agree.
"""
from __future__ import annotations

import math

import numpy as np

from .ir import Graph, Node
from .reference.activations import apply_activation


def node_macs(graph: Graph, node: Node) -> int:
    shape = lambda name: graph.tensors[name].shape  # noqa: E731
    if node.op in ("Conv", "ConvInt8"):
        w = shape(node.inputs[1])  # [M, C/group, kH, kW]
        return math.prod(shape(node.outputs[0])) * math.prod(w[1:])
    if node.op == "ConvTranspose":  # every input pixel meets every (output channel, tap) of its group
        w = shape(node.inputs[1])  # [C, M/group, kH, kW]
        return math.prod(shape(node.inputs[0])) * math.prod(w[1:])
    if node.op == "Gemm":
        a = shape(node.inputs[0])
        k = a[0] if _ints(node.attrs.get("transA", 0))[0] else a[1]  # read from .sgm: [0]
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


def _ints(v) -> list[int]:
    return [int(i) for i in (v if isinstance(v, (list, tuple, np.ndarray)) else [v])]


def _interior(node: Node, k, in_hw, out_hw) -> tuple[int, int]:
    """(rows, cols) of a conv's outputs whose whole window (kernel k) lies inside the input."""
    st, pads, dil = _ints(node.attrs["strides"]), _ints(node.attrs["pads"]), _ints(node.attrs["dilations"])
    return tuple(sum(1 for o in range(out_hw[a]) if o * st[a] - pads[a] >= 0 and
                     o * st[a] - pads[a] + (k[a] - 1) * dil[a] < in_hw[a]) for a in range(2))


def executed_macs(graph: Graph, kept: dict[str, np.ndarray],
                  fill: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Per node, the MACs per sample the runtime counts in `stats()` for one batch whose gated
    Convs kept the channels `kept[name]` ([N, M] bool), their skipped channels holding
    `fill[name]` ([N, M]; default 0, as learned gates do) — docs/ir.md, "Gated Conv and Gemm",
    statistics and folding, mirrored here so training reports what the runtime will measure:

    - a gated Conv: dense × kept / M plus its gate's mat-vecs;
    - constant planes go from a gated Conv through MaxPool (pads smaller than the kernel);
    - a group-1 Conv reading constant planes folds those with value 0, or any value when it
      has no pads: kept rows × (output pixels × other channels × window + folded channels);
    - a depthwise Conv computes a constant input channel without convolving it; its output
      channel is then the constant act(B + v·Σ taps) when the plane is 0 or the conv has no
      pads, else that constant on the interior only, which a 1×1 reader folds too, adding
      kept rows × such channels × border pixels for the border.
    """
    fill = fill or {}
    n = next(iter(kept.values())).shape[0] if kept else 1
    # tensor → (kind [N, C]: 0 varies, 1 constant, 2 constant in the interior; value [N, C];
    #           border pixels of kind 2)
    const: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    out: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        dense = node_macs(graph, node) / max(1, graph.tensors[node.outputs[0]].shape[0])
        e = np.full(n, float(dense))
        rec = const.get(node.inputs[0]) if node.inputs else None
        if node.op == "MaxPool" and rec is not None and rec[2] == 0:
            k, pads = _ints(node.attrs["kernel_shape"]), _ints(node.attrs["pads"])
            if all(p < k[i % 2] for i, p in enumerate(pads)):
                const[node.outputs[0]] = rec
        if node.op == "Gemm" and node.name in kept:  # learned gate: kept columns + the gate's N·K
            k = graph.tensors[node.inputs[3]].shape[1]
            n_out = kept[node.name].shape[1]
            out[node.name] = n_out * k + dense * kept[node.name].sum(1) / n_out
            continue
        if node.op != "Conv":
            out[node.name] = e
            continue
        w = graph.tensors[node.inputs[1]]
        m, cg, kh, kw = w.shape
        x_shape = graph.tensors[node.inputs[0]].shape
        c = x_shape[1]
        group = int(_ints(node.attrs["group"])[0])
        y = graph.tensors[node.outputs[0]].shape
        hwo = y[2] * y[3]
        no_pads = not any(_ints(node.attrs["pads"]))
        pointwise = (kh == kw == 1 and no_pads and _ints(node.attrs["strides"]) == [1, 1]
                     and y[2:] == x_shape[2:])
        mask = kept.get(node.name)
        rows = mask.sum(1).astype(float) if mask is not None else np.full(n, float(m))
        gate = np.zeros(n)
        kind = node.attrs.get("gate_kind")
        if kind == "learned":
            gate[:] = m * c
        elif kind == "heuristic" and mask is not None:  # importances, then one dot per expected fill
            skipped = m - rows
            fills = cg * skipped if node.attrs.get("gate_fill", "expected") == "expected" else 0
            gate = np.where(skipped > 0, m * cg + fills, 0)
        e = gate + dense * rows / m
        if group == 1 and rec is not None:
            plane, val, ring = rec
            folded = ((plane == 1) & (no_pads | (val == 0))) | ((plane == 2) & pointwise)
            nfold, nr = folded.sum(1), (folded & (plane == 2)).sum(1)
            e = np.where(nfold > 0, gate + rows * (hwo * (c - nfold) * kh * kw + nfold + nr * ring), e)
        elif group == c == m and rec is not None:
            plane, val, _ = rec
            computed = mask if mask is not None else np.ones((n, m), bool)
            e = e - dense / m * ((plane == 1) & computed).sum(1)
            if kind is None:
                b = graph.tensors[node.inputs[2]].data if len(node.inputs) > 2 and node.inputs[2] else np.zeros(m)
                taps = graph.tensors[node.inputs[1]].data.reshape(m, -1).sum(1)
                v = apply_activation(np.asarray(b + val * taps, np.float32), node.attrs["activation"],
                                     node.attrs.get("activation_params"))
                whole = (plane == 1) & (no_pads | (val == 0))
                rows_in, cols_in = _interior(node, (kh, kw), x_shape[2:], y[2:])
                interior = not no_pads and rows_in > 0 and cols_in > 0
                ring_kind = (plane == 1) & ~whole if interior else np.zeros_like(whole)
                const[node.outputs[0]] = (np.where(whole, 1, np.where(ring_kind, 2, 0)), v,
                                          hwo - rows_in * cols_in if interior else 0)
        if mask is not None:
            f = fill.get(node.name, np.zeros(mask.shape, np.float32))
            const[node.outputs[0]] = ((~mask).astype(int), np.where(mask, 0, f), 0)
        out[node.name] = e
    return out
