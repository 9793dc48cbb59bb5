"""Fine-tuning recipes on an imported graph, all with the same loop (`loop.fit`) so that they
compare fairly: dense fine-tuning (the baseline), learned gates, static channel pruning.

Each returns the trained `GraphModule`; `module.to_graph()` is the IR to write as `.sgm`.
"""
from __future__ import annotations

import numpy as np
import torch

from ..ir import Graph
from ..macs import executed_macs, node_macs
from ..passes.block_sparsity import block_mask, default_layers
from ..passes.pruning import channel_groups, channel_stats, shrink
from . import gates as gates_mod
from .loop import FitConfig, fit
from .torch_exec import GraphModule


def frozen(graph: Graph) -> GraphModule:
    """The original model as a distillation teacher."""
    teacher = GraphModule(graph).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def dense(graph: Graph, x, y=None, cfg: FitConfig = FitConfig()) -> GraphModule:
    """The baseline: the same recipe with nothing removed."""
    student = GraphModule(graph)
    fit(student, frozen(graph), x, y, cfg)
    return student


def learned_gates(graph: Graph, x, y=None, cfg: FitConfig = FitConfig(), sparsity=0.5,
                  layers: list[str] | None = None, l1: float = 0.0, threshold: float = 0.0,
                  ramp: float = 0.5, adaptive: float | None = None) -> GraphModule:
    """Adds learned gates to `layers` (default: every gateable Conv) and fine-tunes by
    distillation. `sparsity`: one budget for all layers or {layer: budget}; `adaptive`: budgets
    are means over inputs (`gates.GateSchedule`)."""
    layers = layers or gates_mod.gateable(graph)
    budgets = sparsity if isinstance(sparsity, dict) else {name: float(sparsity) for name in layers}
    student = GraphModule(graph)
    gates_mod.add_gates(student, list(budgets), x[:2000], threshold=threshold)
    schedule = gates_mod.GateSchedule(budgets, ramp=ramp, l1=l1, threshold=threshold, adaptive=adaptive)
    fit(student, frozen(graph), x, y, cfg, on_step=lambda f: schedule.update(student, f),
        penalty=lambda: schedule.penalty(student))
    schedule.update(student, 1.0)
    return student


class ChannelPruner:
    """Gradual structured pruning by filter L1 norm: the pruned count of each layer rises from 0
    to its target over the first `ramp` of training; pruned filters (and biases) are held at 0
    after every optimizer step, so the model exports dense-with-zeros (`remove_pruned` then
    takes the channels out). Only channels the model can lose are pruned: a channel made by
    several layers (a residual stream, a YOLO C2f's Split and Add) is pruned in all of them at
    once, ranked by their summed norms, while each still has pruning left to do; a channel that
    reaches a graph output or an op that fixes its channels is never pruned."""

    def __init__(self, module: GraphModule, keep: dict[str, int], ramp: float = 0.5):
        self.module, self.keep, self.ramp = module, keep, ramp
        self.nodes = {n.name: n for n in module.graph.nodes if n.name in keep}
        self.masks = {name: torch.ones(module.tensor(n.inputs[1]).shape[0]) for name, n in self.nodes.items()}
        out_of = {n.outputs[0]: n.name for n in module.graph.nodes}
        self.channels: list[list[tuple[str, int]]] = []  # each removable channel: the (layer, index) making it
        for group in channel_groups(module.graph):
            for ch in group.channels:
                made = [(out_of[t], c) for t, c in ch.members if out_of.get(t) in group.layers]
                if made and all(layer in self.nodes for layer, _ in made):
                    self.channels.append(made)
        # The channels' (layer, index) pairs as positions in the layers' concatenated norms, so
        # that each step scores every channel in one reduction.
        offset = dict(zip(self.nodes, np.cumsum([0] + [m.numel() for m in self.masks.values()])))
        self._pairs = np.array([offset[layer] + c for made in self.channels for layer, c in made], np.int64)
        self._starts = np.cumsum([0] + [len(made) for made in self.channels[:-1]]).astype(np.int64)

    @torch.no_grad()
    def update(self, progress: float) -> None:
        f = min(1.0, progress / self.ramp) if self.ramp > 0 else 1.0
        left, norms = {}, []
        for name, node in self.nodes.items():
            w = self.module.tensor(node.inputs[1])
            m = w.shape[0]
            left[name] = int(round((m - self.keep[name]) * f))
            norms.append(w.reshape(m, -1).abs().sum(1) * self.masks[name])  # pruned ones score 0
        scores = (np.add.reduceat(torch.cat(norms).numpy()[self._pairs], self._starts) if self.channels
                  else np.zeros(0))
        masks = {name: torch.ones_like(mask) for name, mask in self.masks.items()}
        for k in np.argsort(scores, kind="stable"):
            made = self.channels[k]
            if all(left[layer] > 0 for layer, _ in made):
                for layer, c in made:
                    masks[layer][c] = 0
                    left[layer] -= 1
        self.masks = masks
        self.apply()

    @torch.no_grad()
    def apply(self) -> None:
        for name, node in self.nodes.items():
            mask = self.masks[name]
            w = self.module.tensor(node.inputs[1])
            w.mul_(mask.reshape(-1, *[1] * (w.ndim - 1)))
            if len(node.inputs) > 2 and node.inputs[2]:
                self.module.tensor(node.inputs[2]).mul_(mask)


def static_pruning(graph: Graph, x, y=None, cfg: FitConfig = FitConfig(), keep: dict[str, int] | None = None,
                   ramp: float = 0.5) -> tuple[GraphModule, ChannelPruner]:
    """Fine-tuned structured pruning down to `keep` output channels per Conv, among the channels
    the model can lose (`ChannelPruner`; activations must map 0 to 0, e.g. ReLU or SiLU, for a
    pruned channel to be exactly 0)."""
    student = GraphModule(graph)
    pruner = ChannelPruner(student, keep, ramp)
    fit(student, frozen(graph), x, y, cfg, on_step=pruner.update, after_step=pruner.apply)
    pruner.update(1.0)
    return student, pruner


def remove_pruned(graph: Graph, masks: dict[str, torch.Tensor], calib: np.ndarray) -> tuple[Graph, int]:
    """`graph` (the fine-tuned model, pruned filters held at zero; `masks` {conv: 0/1 per output
    channel}) with those channels removed physically, computing the same function. A channel
    tied to others (through a residual Add, a Concat) goes only if every layer producing it
    pruned it. What a removed channel still carried downstream — a depthwise conv's bias
    reading a zero plane — is folded into the next layer's bias by `passes.pruning.shrink`,
    from the channel's mean on `calib` (a few inputs, one per row). Returns (graph, channels
    removed from the pruned layers' outputs)."""
    out_of = {n.outputs[0]: n.name for n in graph.nodes}
    removed: dict[str, set[int]] = {}
    count = 0
    for group in channel_groups(graph):
        for ch in group.channels:
            made = [(out_of[t], c) for t, c in ch.members if out_of.get(t) in group.layers]
            if made and all(layer in masks and masks[layer][c] == 0 for layer, c in made):
                for t, c in ch.members:
                    removed.setdefault(t, set()).add(c)
                count += len(made)
    if not removed:
        return graph, 0
    name, shape = graph.inputs[0], graph.tensors[graph.inputs[0]].shape
    feeds = [{name: np.asarray(x, np.float32).reshape(shape)} for x in calib]
    small = shrink(graph, {t: np.array(sorted(cs), np.int64) for t, cs in removed.items()},
                   channel_stats(graph, feeds))
    small.metadata = dict(graph.metadata)
    return small, count


class BlockPruner:
    """Gradual block sparsity: each layer's fraction of zeroed blocks (the lowest-L2 `block`s of
    its weight matrix, as `passes.block_sparsity` picks them) rises from 0 to its target over
    the first `ramp` of training; zeroed weights are held at 0 after every optimizer step, so
    `passes.block_sparsity.encode_sparse` can then store the layers as SparseConv/SparseGemm."""

    def __init__(self, module: GraphModule, sparsity: dict[str, float], block=(4, 1), ramp: float = 0.5):
        self.module, self.sparsity, self.block, self.ramp = module, sparsity, tuple(block), ramp
        self.nodes = {n.name: n for n in module.graph.nodes if n.name in sparsity}
        self.masks: dict[str, torch.Tensor] = {}
        self.levels: dict[str, float] = {}

    def _matrix(self, node) -> torch.Tensor:
        """The parameter as the [rows, K] matrix the kernels multiply (a view)."""
        w = self.module.tensor(node.inputs[1])
        if node.op == "Conv":
            return w.reshape(w.shape[0], -1)
        return w if int(np.ravel(node.attrs.get("transB", 0))[0]) else w.t()

    @torch.no_grad()
    def update(self, progress: float) -> None:
        f = min(1.0, progress / self.ramp) if self.ramp > 0 else 1.0
        for name, node in self.nodes.items():
            level = self.sparsity[name] * f
            if self.levels.get(name) != level:  # the mask changes only with the level
                w2 = self._matrix(node).detach().numpy()
                self.masks[name] = torch.from_numpy(block_mask(w2, level, self.block).astype(np.float32))
                self.levels[name] = level
        self.apply()

    @torch.no_grad()
    def apply(self) -> None:
        for name, mask in self.masks.items():
            self._matrix(self.nodes[name]).mul_(mask)


def block_sparse(graph: Graph, x, y=None, cfg: FitConfig = FitConfig(), sparsity: dict[str, float] | None = None,
                 block=(4, 1), ramp: float = 0.5) -> GraphModule:
    """Fine-tuned block sparsity: `sparsity` {layer: fraction of blocks zeroed} (default 0.7 on
    `passes.block_sparsity.default_layers`), raised gradually with distillation."""
    sparsity = sparsity or {name: 0.7 for name in default_layers(graph, block)}
    student = GraphModule(graph)
    pruner = BlockPruner(student, sparsity, block, ramp)
    fit(student, frozen(graph), x, y, cfg, on_step=pruner.update, after_step=pruner.apply)
    pruner.update(1.0)
    return student


def pruned_macs(graph: Graph, keep: dict[str, int]) -> tuple[int, int]:
    """(dense MACs, MACs with `keep` output channels per layer computed), counted as the runtime
    counts a gated layer that always keeps the same channels (`macs.executed_macs`: the layers
    reading a pruned channel skip it too, as a pruning pass that removes it would)."""
    kept = {}
    for node in graph.nodes:
        if node.name in keep:
            mask = np.zeros((1, graph.tensors[node.inputs[1]].shape[0]), bool)
            mask[0, :keep[node.name]] = True
            kept[node.name] = mask
    dense = sum(node_macs(graph, n) for n in graph.nodes)
    return dense, int(round(sum(float(v[0]) for v in executed_macs(graph, kept).values())))
