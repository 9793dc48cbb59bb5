"""Runs a whole IR graph with the numpy op functions of `ops.OPS`."""
from __future__ import annotations

import numpy as np

from ..errors import InputError, SparsegateError
from ..ir import Graph, Node
from .ops import OPS


def run_node(node: Node, inputs: list, out_shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Runs one node; `inputs` holds arrays (None for an absent optional input)."""
    fn = OPS.get(node.op)
    if fn is None:
        raise SparsegateError(f"node '{node.name}': op {node.op} has no reference implementation")
    outs = fn(inputs, node.attrs, out_shapes)
    for name, arr, shape in zip(node.outputs, outs, out_shapes):
        if tuple(arr.shape) != tuple(shape):
            raise SparsegateError(f"node '{node.name}' ({node.op}): output '{name}' computed with "
                                  f"shape {tuple(arr.shape)}, graph declares {tuple(shape)}")
    return outs


def _constant(arr: np.ndarray) -> np.ndarray:
    # float16 storage is a compression choice; computation stays float32.
    return arr.astype(np.float32) if arr.dtype == np.float16 else arr


def run_graph(graph: Graph, feeds: dict[str, np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
    """Executes `graph` on `feeds` (graph input name -> array).

    Returns the graph outputs by name, or every tensor (inputs, constants, intermediates)
    when `keep_all` is set."""
    env: dict[str, np.ndarray] = {name: _constant(t.data) for name, t in graph.tensors.items()
                                  if t.data is not None}
    for name in graph.inputs:
        if name not in feeds:
            raise InputError(f"missing input '{name}' (graph inputs: {graph.inputs})")
        arr = np.asarray(feeds[name], dtype=np.float32)
        want = tuple(graph.tensors[name].shape)
        if arr.shape != want:
            raise InputError(f"input '{name}': shape {arr.shape}, model expects {want}")
        env[name] = arr
    unknown = set(feeds) - set(graph.inputs)
    if unknown:
        raise InputError(f"unknown inputs {sorted(unknown)} (graph inputs: {graph.inputs})")
    for node in graph.nodes:
        ins = [env[i] if i else None for i in node.inputs]
        shapes = [tuple(graph.tensors[o].shape) for o in node.outputs]
        for name, arr in zip(node.outputs, run_node(node, ins, shapes)):
            env[name] = arr
    if keep_all:
        return env
    return {name: env[name] for name in graph.outputs}
