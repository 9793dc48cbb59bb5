"""`export`: a user's torch model with `sparsegate.nn` (`train.nn`) dynamic layers -> IR graph and `.sgm`.

The model is traced gate-free with torch's ONNX exporter (TorchScript, `dynamo=False`: no extra
packages, a plain graph), imported like any ONNX model (BatchNorm and activations fused into
Conv/Gemm), and each dynamic layer's gate is attached to the Conv/Gemm node that computes it —
found by its weights (BatchNorm folded), so names and module nesting do not matter.
"""
from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import torch
from torch import nn

from ..compression.conversion import convert
from ..errors import SparsegateError
from ..format import write_model
from ..ir import Graph, TensorInfo
from . import nn as sgnn


def export(model, example_input, path=None, *, input_name: str = "input", output_names=None,
           metadata: dict | None = None, opset: int = 13) -> Graph:
    """Exports `model` (a torch.nn.Module) traced on `example_input` (one tensor, batch 1) as an
    IR graph whose learned-gate Conv/Gemm nodes carry the dynamic layers' gates (docs/ir.md);
    writes `path` (.sgm) when given. Returns the graph."""
    was_training = model.training
    model.eval()
    layers = sgnn.dynamic_layers(model)
    fd, tmp = tempfile.mkstemp(suffix=".onnx")
    os.close(fd)
    try:
        with torch.no_grad(), sgnn.gates_off(model), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example_input,), tmp, input_names=[input_name],
                              output_names=output_names, opset_version=opset,
                              do_constant_folding=True, dynamo=False)
        graph = convert(tmp, metadata=metadata)
        graph.metadata.pop("source", None)
        with torch.no_grad():
            for name, layer in layers:
                _attach_gate(graph, name, layer)
    finally:
        os.unlink(tmp)
        model.train(was_training)
    if path is not None:
        write_model(graph, path)
    return graph


def _effective_weight(layer) -> tuple[str, np.ndarray]:
    """The (op, weight) the importer produces for this layer: Conv weights with eval-mode
    BatchNorm folded in, or the Linear weight as Gemm's B with transB = 1."""
    if hasattr(layer, "conv"):
        w = layer.conv.weight.detach().double()
        if isinstance(layer.bn, nn.BatchNorm2d):
            bn = layer.bn
            scale = bn.weight.detach().double() / (bn.running_var.double() + bn.eps).sqrt()
            w = w * scale.reshape(-1, 1, 1, 1)
        return "Conv", w.numpy()
    return "Gemm", layer.linear.weight.detach().double().numpy()


def _attach_gate(graph: Graph, name: str, layer) -> None:
    op, w = _effective_weight(layer)
    found = []
    for node in graph.nodes:
        if node.op != op or node.attrs.get("gate_kind"):
            continue
        data = graph.constant(node.inputs[1])
        if data is None:
            continue
        if op == "Gemm" and not int(np.ravel(node.attrs["transB"])[0]):
            data = data.T
        if data.shape == w.shape and np.allclose(data, w, rtol=1e-4, atol=1e-6 * (np.abs(w).max() + 1e-30)):
            found.append(node)
    if len(found) != 1:
        raise SparsegateError(f"export: dynamic layer '{name}' matches {len(found)} {op} nodes of the "
                              "traced graph (expected one)")
    node = found[0]
    act, params = sgnn.ir_activation(layer)
    if node.attrs["activation"] != act:
        raise SparsegateError(f"export: dynamic layer '{name}': the traced {op} '{node.name}' has "
                              f"activation {node.attrs['activation']!r}, expected {act!r} fused")
    m = w.shape[0]
    while len(node.inputs) < 3:
        node.inputs.append("")
    if not node.inputs[2]:
        node.inputs[2] = _add_constant(graph, f"{name}.bias", np.zeros(m, np.float32))
    node.inputs[3:] = [
        _add_constant(graph, f"{name}.gate_fc_w", layer.gate.weight.detach().numpy()),
        _add_constant(graph, f"{name}.gate_fc_b", layer.gate.bias.detach().numpy())]
    node.attrs.update(layer.gate_attrs())


def _add_constant(graph: Graph, name: str, data: np.ndarray) -> str:
    data = np.array(data, dtype=np.float32, copy=True)
    base, k = name, 1
    while name in graph.tensors:
        name, k = f"{base}_{k}", k + 1
    graph.tensors[name] = TensorInfo(name, tuple(data.shape), np.dtype("float32"), data)
    return name
