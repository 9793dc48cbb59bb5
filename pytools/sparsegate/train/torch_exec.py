"""A differentiable executor of the IR in PyTorch: the numpy reference's twin.

    module = GraphModule(graph)          # float weights become nn.Parameters
    y = module(x)                        # any batch size (the graph's batch-1 shapes scale)
    graph2 = module.to_graph()           # the same graph, with the trained weights

One torch function per IR op (`OPS`). Gated Conv/Gemm nodes (docs/ir.md) run their gate as
the runtime does; `add_learned_gate` turns a plain Conv into a learned-gate Conv with trainable
gate parameters, so a fine-tuned model exports back to IR and `.sgm` with nothing lost.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..errors import UnsupportedError
from ..ir import Graph, Node, TensorInfo
from ..macs import executed_macs, node_macs
from . import ops, ops_compressed
from .ops import RunContext, scalar

OPS = {**ops.OPS, **ops_compressed.OPS}  # one torch function per IR op, compressed ops included

# Inputs (by op and index) that are weights: these constants become trainable parameters.
WEIGHT_INPUTS = {"Conv": (1, 2, 3, 4), "Gemm": (1, 2, 3, 4), "MatMul": (0, 1), "PRelu": (1,),
                 "ConvInt8": (3, 4, 5), "GemmInt8": (3, 4, 5), "SparseConv": (1, 4), "SparseGemm": (1, 4)}


def _weight_names(graph: Graph) -> set[str]:
    names = set()
    for node in graph.nodes:
        for i in WEIGHT_INPUTS.get(node.op, ()):
            if i < len(node.inputs) and node.inputs[i]:
                names.add(node.inputs[i])
    return names


class GraphModule(nn.Module):
    """Runs an IR graph with torch ops. Float32 weight constants (Conv/Gemm/MatMul/PRelu
    inputs) are parameters; other constants are buffers kept in their stored dtype.

    `gate` is the run-time knob of gated nodes (as `Session.set_gate`); after each forward
    `last_gates` maps each gated node's name to (gate values [N, M], kept mask [N, M])."""

    def __init__(self, graph: Graph, trainable: str = "weights"):
        super().__init__()
        missing = sorted({n.op for n in graph.nodes if n.op not in OPS})
        if missing:
            bad = [f"{n.name} ({n.op})" for n in graph.nodes if n.op in missing]
            raise UnsupportedError(f"the torch executor has no op for {missing}: {', '.join(bad)}")
        self.graph = _copy_graph(graph)
        self.gate = 1.0
        self.last_gates: dict = {}
        self._params = nn.ParameterList()
        self._param_index: dict[str, int] = {}
        self._buffer_names: dict[str, str] = {}
        weights = _weight_names(self.graph)
        for name, info in self.graph.tensors.items():
            if info.data is not None:
                self._register(name, info.data, trainable == "all" or name in weights)

    def _register(self, name: str, data: np.ndarray, trainable: bool) -> None:
        if trainable and data.dtype == np.float32:
            self._param_index[name] = len(self._params)
            self._params.append(nn.Parameter(torch.from_numpy(np.array(data, copy=True))))
        else:
            key = f"const_{len(self._buffer_names)}"
            self._buffer_names[name] = key
            self.register_buffer(key, torch.from_numpy(np.array(data, copy=True)))

    def tensor(self, name: str) -> torch.Tensor:
        """The parameter or buffer holding constant `name`."""
        if name in self._param_index:
            return self._params[self._param_index[name]]
        return getattr(self, self._buffer_names[name])

    def named_graph_parameters(self):
        """(IR tensor name, parameter) pairs."""
        return [(name, self._params[i]) for name, i in self._param_index.items()]

    def _value(self, name: str) -> torch.Tensor:
        t = self.tensor(name)
        return t.float() if t.dtype == torch.float16 else t

    def forward(self, *xs):
        outs = self.run(dict(zip(self.graph.inputs, xs)))
        values = [outs[n] for n in self.graph.outputs]
        return values[0] if len(values) == 1 else tuple(values)

    def run(self, feeds: dict, keep_all: bool = False) -> dict:
        """feeds: graph input name -> tensor (or array) with any batch size; returns the
        outputs by name (every activation as well with `keep_all`)."""
        env = {}
        batch, base = None, None
        for name in self.graph.inputs:
            x = feeds[name]
            x = torch.as_tensor(np.asarray(x, np.float32)) if not torch.is_tensor(x) else x
            want = tuple(self.graph.tensors[name].shape)
            if tuple(x.shape[1:]) != want[1:]:
                raise ValueError(f"input '{name}': shape {tuple(x.shape)}, model expects {want}")
            batch, base = x.shape[0], want[0]
            env[name] = x
        ctx = RunContext(self.gate, {})

        def shape(name):
            s = list(self.graph.tensors[name].shape)
            if s and base == 1 and s[0] == 1:
                s[0] = batch
            return s

        for node in self.graph.nodes:
            ins = [(env[i] if i in env else self._value(i)) if i else None for i in node.inputs]
            ctx.node = node.name
            outs = OPS[node.op](ins, node.attrs, [shape(o) for o in node.outputs], ctx)
            env.update(zip(node.outputs, outs))
        self.last_gates = ctx.records
        return env if keep_all else {n: env[n] for n in self.graph.outputs}

    def to_graph(self) -> Graph:
        """The IR graph with the current parameter values (float32, exact)."""
        g = _copy_graph(self.graph)
        for name, p in self.named_graph_parameters():
            g.tensors[name].data = p.detach().cpu().numpy().astype(np.float32, copy=True)
        return g

    def gated_nodes(self) -> list[Node]:
        return [n for n in self.graph.nodes if n.attrs.get("gate_kind")]

    def add_learned_gate(self, node_name: str, sparsity: float, threshold: float = 0.0,
                         init_w: np.ndarray | None = None, init_b: np.ndarray | None = None) -> Node:
        """Makes Conv (or Gemm) `node_name` a learned-gate node (docs/ir.md): gate_fc_w [M, C]
        and gate_fc_b [M] become parameters (default: small random w, b = 1)."""
        node = next((n for n in self.graph.nodes if n.name == node_name), None)
        if node is None or node.op not in ("Conv", "Gemm"):
            raise ValueError(f"no Conv or Gemm node named {node_name!r}")
        w_shape = self.graph.tensors[node.inputs[1]].shape
        if node.op == "Conv":
            if int(scalar(node.attrs["group"])) != 1:
                raise ValueError(f"{node_name}: learned gates need group 1 (depthwise convs are poor gates)")
            m, c = w_shape[0], w_shape[1]
        else:
            trans_b = int(scalar(node.attrs["transB"]))
            m, c = (w_shape[0], w_shape[1]) if trans_b else (w_shape[1], w_shape[0])
        while len(node.inputs) < 3:
            node.inputs.append("")
        if not node.inputs[2]:
            node.inputs[2] = self._new_constant(f"{node_name}.bias", np.zeros(m, np.float32))
        rng = np.random.default_rng(0)
        w = init_w if init_w is not None else rng.normal(0, 0.01, (m, c)).astype(np.float32)
        b = init_b if init_b is not None else np.ones(m, np.float32)
        node.inputs[3:] = [self._new_constant(f"{node_name}.gate_fc_w", np.asarray(w, np.float32)),
                           self._new_constant(f"{node_name}.gate_fc_b", np.asarray(b, np.float32))]
        node.attrs.update(gate_kind="learned", gate_fill="zero")
        self.set_gate_budget(node_name, sparsity, threshold)
        return node

    def set_gate_budget(self, node_name: str, sparsity: float, threshold: float | None = None) -> None:
        """Sets a gated node's budget. The stored sparsity is (skipped + 0.5) / M so that
        floor(gate_sparsity · M) gives the intended count in float32 and float64 alike."""
        node = next(n for n in self.graph.nodes if n.name == node_name)
        m = self.graph.tensors[node.outputs[0]].shape[1]
        skip = int(round(sparsity * m))
        node.attrs["gate_sparsity"] = float(np.float32((skip + 0.5) / m)) if skip else 0.0
        if threshold is not None:
            node.attrs["gate_threshold"] = float(threshold)

    def _new_constant(self, name: str, data: np.ndarray) -> str:
        base, k = name, 1
        while name in self.graph.tensors:
            name, k = f"{base}_{k}", k + 1
        self.graph.tensors[name] = TensorInfo(name, tuple(data.shape), np.dtype(data.dtype), data)
        self._register(name, data, True)
        return name

    def macs(self) -> tuple[int, torch.Tensor]:
        """(dense MACs, executed MACs per sample of the last forward) as the runtime counts
        them (`macs.executed_macs`: gated layers, their gates, and the folding of skipped
        channels by the layers that read them)."""
        kept = {name: mask.detach().bool().numpy() for name, (_, mask) in self.last_gates.items()}
        per_node = executed_macs(self.graph, kept)
        dense = sum(node_macs(self.graph, n) for n in self.graph.nodes)
        return dense, torch.from_numpy(sum(per_node.values()))


def _copy_graph(graph: Graph) -> Graph:
    tensors = {name: TensorInfo(t.name, tuple(t.shape), t.dtype,
                                None if t.data is None else np.array(t.data, copy=True))
               for name, t in graph.tensors.items()}
    nodes = [Node(n.op, n.name, list(n.inputs), list(n.outputs), copy.deepcopy(n.attrs)) for n in graph.nodes]
    return Graph(nodes, tensors, list(graph.inputs), list(graph.outputs), copy.deepcopy(graph.metadata))
