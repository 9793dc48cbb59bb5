"""Structured channel pruning on the IR: whole channels are removed and the graph shrinks.

    groups = channel_groups(graph)                 # what can be pruned, and what is tied
    stats = channel_stats(graph, calib_feeds)      # means/covariances of the channels layers read
    small = prune(graph, 0.3, stats)               # or {group name: ratio}

A *channel* here is a set of (tensor, index) pairs that must go together: a Conv filter and
the same channel after its activation, a pool, a depthwise conv, a residual Add (both operands
and the sum), a Concat (at its offset) or a Split (at its offset), and the columns a Flatten
feeds to a Gemm. They are found with a union-find over every activation tensor's channels (axis
1). Ops the pass does not understand, graph inputs and graph outputs freeze their channels.

A *group* is a connected set of tied tensors (e.g. one residual stage of MobileNetV2, or the
expansion conv and depthwise conv of one block), named after its first Conv or Gemm; pruning
ratios apply per group. Channels are ranked by the L1 norm of their filters (each producing
layer's norms divided by that layer's mean, averaged over the producers of the channel).

Bias folding: a layer that reads a removed channel (a regular Conv, or a Gemm through a
Flatten) adds the channel's expected contribution, mean(x[c]) · Σ W[j, c, …], to its bias, with
the mean measured on calibration data. Without it, a few percent of MobileNetV2's channels
already destroy it (tests/test_pruning.py measures the difference). Better still, with the
channel covariances the removed channel is replaced by its least-squares estimate from the
kept ones (`_substitute`). The sensitivity analysis and the accuracy-budget search live in
`pruning_budget.py`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import SparsegateError
from ..ir import Graph, Node, TensorInfo
from ..reference import run_graph

# Ops whose output channel c depends on input channel c only.
_CHANNELWISE = {"Relu", "Sigmoid", "Tanh", "HardSwish", "Silu", "LeakyRelu", "HardSigmoid", "Clip",
                "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
_BINARY = {"Add", "Sub", "Mul", "Div"}
_GATE_ATTRS = ("gate_kind", "gate_sparsity")


@dataclass
class Channel:
    """One removable channel: the tied (tensor, index) pairs and its importance score."""
    members: list[tuple[str, int]]
    score: float


@dataclass
class ChannelGroup:
    name: str                      # the first Conv/Gemm producing its channels
    layers: list[str]              # every Conv/Gemm whose filters it removes
    tensors: list[str]
    size: int                      # channels in the group (removable or not)
    channels: list[Channel] = field(default_factory=list)  # removable ones, least important first


class _Ties:
    """Union-find over (tensor, channel) pairs of the activation tensors of rank 2 and 4."""

    def __init__(self, graph: Graph):
        self.base: dict[str, int] = {}
        n = 0
        for name, t in graph.tensors.items():
            if not t.is_constant and len(t.shape) in (2, 4):
                self.base[name] = n
                n += t.shape[1]
        self.parent = list(range(n))
        self.frozen = [False] * n
        self.graph = graph

    def channels(self, tensor: str) -> int:
        return self.graph.tensors[tensor].shape[1]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def tie(self, a: str, a_index, b: str, b_index) -> None:
        for i, j in zip(a_index, b_index):
            ra, rb = self.find(self.base[a] + int(i)), self.find(self.base[b] + int(j))
            if ra != rb:
                self.parent[rb] = ra

    def tie_all(self, a: str, b: str, offset: int = 0) -> None:
        """Channel c of `a` is channel offset + c of `b`."""
        n = self.channels(a)
        self.tie(a, range(n), b, range(offset, offset + n))

    def freeze(self, tensor: str) -> None:
        if tensor in self.base:
            for c in range(self.channels(tensor)):
                self.frozen[self.base[tensor] + c] = True


def _is_const(graph: Graph, name: str) -> bool:
    return bool(name) and graph.tensors[name].is_constant


def _walk(graph: Graph):
    """Ties channels node by node. Returns the ties, the source layers (tensor -> Conv/Gemm
    whose filters make its channels) and the sinks ((node, input tensor) whose weights can
    drop input channels)."""
    ties, sources, sinks = _Ties(graph), {}, []
    shape = lambda name: graph.tensors[name].shape  # noqa: E731
    for node in graph.nodes:
        ins = [i for i in node.inputs if i and not graph.tensors[i].is_constant]
        out = node.outputs[0]
        ok = all(i in ties.base for i in ins) and all(o in ties.base for o in node.outputs)
        op = node.op
        if ok and op == "Conv" and not any(k in node.attrs for k in _GATE_ATTRS) \
                and _is_const(graph, node.inputs[1]) and len(ins) == 1 and ins[0] == node.inputs[0] \
                and (len(node.inputs) < 3 or not node.inputs[2] or _is_const(graph, node.inputs[2])):
            group, w = int(node.attrs["group"]), shape(node.inputs[1])
            if group == 1:
                sinks.append((node, node.inputs[0]))
                sources[out] = node
                continue
            if group == shape(node.inputs[0])[1] == w[0] and w[1] == 1:  # depthwise
                ties.tie_all(node.inputs[0], out)
                continue
        elif ok and op == "Gemm" and not int(node.attrs["transA"]) and len(ins) == 1 \
                and ins[0] == node.inputs[0] and _is_const(graph, node.inputs[1]) \
                and (len(node.inputs) < 3 or not node.inputs[2] or _is_const(graph, node.inputs[2])):
            sinks.append((node, node.inputs[0]))
            sources[out] = node
            continue
        elif ok and (op in _CHANNELWISE or op == "PRelu") and len(ins) == 1:
            ties.tie_all(ins[0], out)
            continue
        elif ok and op in _BINARY and _binary_ok(graph, node):
            for i in ins:
                if shape(i)[1] == shape(out)[1]:
                    ties.tie_all(i, out)
            continue
        elif ok and op == "Concat" and int(node.attrs["axis"]) == 1 and len(ins) == len(node.inputs):
            offset = 0
            for i in ins:
                ties.tie_all(i, out, offset)
                offset += shape(i)[1]
            continue
        elif ok and op == "Split" and int(node.attrs["axis"]) == 1:
            offset = 0
            for o in node.outputs:
                ties.tie_all(o, ins[0], offset)
                offset += shape(o)[1]
            continue
        elif ok and op == "Reshape" and len(ins) == 1 and _reshape_ok(graph, node):
            src, dst = shape(ins[0]), shape(out)
            per = math.prod(src[2:]) if len(src) == 4 else 1
            ties.tie(out, range(dst[1]), ins[0], [c // per for c in range(dst[1])])
            continue
        elif ok and op == "Pad" and len(ins) == 1:
            pads, rank = node.attrs["pads"], len(shape(out))
            if pads[1] == 0 and pads[rank + 1] == 0:
                ties.tie_all(ins[0], out)
                continue
        elif ok and op == "Resize" and len(ins) == 1 and float(node.attrs["scales"][1]) == 1.0:
            ties.tie_all(ins[0], out)
            continue
        for name in ins + list(node.outputs):  # not understood: its channels stay
            ties.freeze(name)
    for name in graph.inputs + graph.outputs:
        ties.freeze(name)
    return ties, sources, sinks


def _binary_ok(graph: Graph, node: Node) -> bool:
    """Elementwise with operands that are either the output's full shape along the channel
    axis, broadcast along it (size 1 or not reaching it), or constants we can slice."""
    out = graph.tensors[node.outputs[0]].shape
    for name in node.inputs:
        s = graph.tensors[name].shape
        axis = 1 - (len(out) - len(s))
        if len(s) > len(out):
            return False
        if axis >= 0 and s[axis] not in (1, out[1]):
            return False
        if not graph.tensors[name].is_constant and axis >= 0 and s[axis] == out[1] and len(s) != len(out):
            return False
    return True


def _reshape_ok(graph: Graph, node: Node) -> bool:
    """Identity reshapes, and Flatten of [N, C, H, W] into [N, C·H·W]."""
    src, dst = graph.tensors[node.inputs[0]].shape, graph.tensors[node.outputs[0]].shape
    return tuple(src) == tuple(dst) or (len(src) == 4 and len(dst) == 2 and dst[0] == src[0])


def _filter_norms(graph: Graph, node: Node) -> np.ndarray:
    w = graph.tensors[node.inputs[1]].data.astype(np.float32)
    if node.op == "Gemm":
        w = w if int(node.attrs["transB"]) else w.T  # -> [N, K]
    norms = np.abs(w.reshape(w.shape[0], -1)).sum(axis=1)
    return norms / max(float(norms.mean()), 1e-12)


def _input_norms(graph: Graph, node: Node) -> np.ndarray:
    """‖W[:, c]‖₂ for every input channel (column) c of a sink Conv or Gemm."""
    w = graph.tensors[node.inputs[1]].data.astype(np.float32)
    if node.op == "Gemm":
        w = w.T if int(node.attrs["transB"]) else w  # -> [K, N]
        return np.sqrt((w ** 2).sum(axis=1))
    return np.sqrt((w ** 2).sum(axis=(0, 2, 3)))


def channel_groups(graph: Graph, stds: dict[str, np.ndarray] | None = None) -> list[ChannelGroup]:
    """The prunable channel groups of `graph`, in execution order of their first layer.

    Channels are ranked by their filters' L1 norms, or, given `stds` (per-channel standard
    deviations from `channel_stats`), by the error removing them leaves after bias folding:
    Σ over the layers reading the channel of std(x[c]) · ‖W[:, c]‖₂."""
    ties, sources, sinks = _walk(graph)
    members: dict[int, list[tuple[str, int]]] = {}
    for name, base in ties.base.items():
        for c in range(ties.channels(name)):
            members.setdefault(ties.find(base + c), []).append((name, c))
    frozen = {root for root, ms in members.items()
              if any(ties.frozen[ties.base[t] + c] for t, c in ms)}
    scores: dict[int, list[float]] = {}
    if stds is None:
        for name, node in sources.items():
            for c, s in enumerate(_filter_norms(graph, node)):
                scores.setdefault(ties.find(ties.base[name] + c), []).append(float(s))
    else:
        for node, name in sinks:
            for c, s in enumerate(stds[name] * _input_norms(graph, node)):
                scores.setdefault(ties.find(ties.base[name] + c), [0.0])[0] += float(s)
    # Tensors sharing any channel class belong to one group.
    tensor_group = {name: name for name in ties.base}

    def find(t):
        while tensor_group[t] != t:
            tensor_group[t] = tensor_group[tensor_group[t]]
            t = tensor_group[t]
        return t
    for ms in members.values():
        for t, _ in ms[1:]:
            a, b = find(ms[0][0]), find(t)
            if a != b:
                tensor_group[b] = a
    order = {n.name: k for k, n in enumerate(graph.nodes)}
    by_root: dict[str, ChannelGroup] = {}
    for name in ties.base:
        g = by_root.setdefault(find(name), ChannelGroup("", [], [], 0))
        g.tensors.append(name)
        if name in sources:
            g.layers.append(sources[name].name)
    for root, ms in members.items():
        g = by_root[find(ms[0][0])]
        g.size += 1
        if root not in frozen and root in scores:
            g.channels.append(Channel(sorted(ms), float(np.mean(scores[root]))))
    groups = []
    for g in by_root.values():
        if not g.channels:
            continue
        g.layers.sort(key=order.__getitem__)
        g.name = g.layers[0]
        g.channels.sort(key=lambda ch: (ch.score, ch.members))
        groups.append(g)
    return sorted(groups, key=lambda g: order[g.name])


def sink_tensors(graph: Graph) -> list[str]:
    """The tensors whose channel statistics compensation needs (inputs of regular Conv and Gemm)."""
    return sorted({t for _, t in _walk(graph)[2]})


@dataclass
class ChannelStats:
    """Per-channel statistics of the tensors Conv/Gemm layers read (tensor -> array).

    `covs` (channel covariance, [C, C]) lets pruning replace a removed channel by its best
    linear estimate from the kept ones; without it, by its mean (plain bias folding)."""
    means: dict[str, np.ndarray]
    stds: dict[str, np.ndarray]
    covs: dict[str, np.ndarray] | None = None
    observations: dict[str, int] | None = None  # samples × positions behind each covariance

    def without_covs(self) -> "ChannelStats":
        return ChannelStats(self.means, self.stds)


def channel_stats(graph: Graph, inputs, progress=None) -> ChannelStats:
    """Mean, standard deviation and covariance of the channels (axis 1; over batch and space)
    of the tensors that Conv/Gemm layers read, over `inputs` (feeds dicts of batch-1 inputs),
    computed with the numpy reference."""
    wanted = sink_tensors(graph)
    s1 = {t: np.zeros(graph.tensors[t].shape[1], np.float64) for t in wanted}
    s2 = {t: np.zeros((len(s1[t]), len(s1[t])), np.float64) for t in wanted}
    count, positions, rows = 0, {}, {}
    for feeds in (progress(inputs) if progress else inputs):
        env = run_graph(graph, feeds, keep_all=True)
        for t in wanted:
            a = env[t].astype(np.float64)
            a = a.reshape(a.shape[0], a.shape[1], -1).transpose(1, 0, 2).reshape(a.shape[1], -1)
            s1[t] += a.mean(axis=1)
            positions[t] = a.shape[1]
            if a.shape[1] == 1:  # [N, C] tensors: one row per sample, multiplied out at the end
                rows.setdefault(t, []).append(a[:, 0])
            else:
                s2[t] += a @ a.T / a.shape[1]
        count += 1
    if count == 0:
        raise SparsegateError("channel_stats: no calibration inputs")
    means, stds, covs = {}, {}, {}
    for t, r in rows.items():
        r = np.stack(r)
        s2[t] = r.T @ r
    for t in wanted:
        m = s1[t] / count
        covs[t] = s2[t] / count - np.outer(m, m)
        means[t] = m.astype(np.float32)
        stds[t] = np.sqrt(np.maximum(np.diag(covs[t]), 0)).astype(np.float32)
    return ChannelStats(means, stds, covs, {t: count * positions[t] for t in wanted})


def _substitute(stats: ChannelStats | None, tensor: str, gone: np.ndarray, kept: np.ndarray):
    """Removed channels x[gone] ≈ A · x[kept] + b, fitted on the calibration statistics
    (ridge least squares); A = 0 and b = mean when there is no covariance or too few
    observations for it (fewer than 4 per kept channel). Returns (A [R, K] or None, b [R])."""
    if stats is None or tensor not in stats.means:
        return None, None
    mean = stats.means[tensor].astype(np.float64)
    cov = (stats.covs or {}).get(tensor)
    if cov is None or stats.observations[tensor] < 4 * len(kept) or len(kept) == 0:
        return None, mean[gone]
    ckk = cov[np.ix_(kept, kept)]
    ridge = 1e-3 * max(float(np.trace(ckk)) / len(kept), 1e-12)
    a = np.linalg.solve(ckk + ridge * np.eye(len(kept)), cov[np.ix_(kept, gone)]).T
    return a, mean[gone] - a @ mean[kept]


def select(graph: Graph, plan, groups: list[ChannelGroup] | None = None) -> dict[str, np.ndarray]:
    """Which channels `plan` removes: tensor -> sorted removed indices. `plan` is one ratio for
    every group or {group name: ratio}; a ratio is a fraction of the group's channels, and
    every tensor keeps at least one channel."""
    groups = channel_groups(graph) if groups is None else groups
    names = {g.name for g in groups}
    if isinstance(plan, dict):
        unknown = sorted(set(plan) - names)
        if unknown:
            raise SparsegateError(f"prune: unknown channel groups {unknown}; known: {sorted(names)}")
    removed: dict[str, set[int]] = {}
    for g in groups:
        ratio = float(plan.get(g.name, 0.0) if isinstance(plan, dict) else plan)
        if not 0.0 <= ratio < 1.0:
            raise SparsegateError(f"prune ratio for {g.name} must be in [0, 1), got {ratio}")
        want = int(round(ratio * g.size))
        left = {t: graph.tensors[t].shape[1] for t in g.tensors}
        for ch in g.channels[:]:
            if want <= 0:
                break
            if any(left[t] <= 1 for t, _ in ch.members):
                continue
            for t, c in ch.members:
                removed.setdefault(t, set()).add(c)
                left[t] -= 1
            want -= 1
    return {t: np.array(sorted(cs), np.int64) for t, cs in removed.items()}


def prune(graph: Graph, plan, stats: ChannelStats | None = None,
          groups: list[ChannelGroup] | None = None) -> Graph:
    """A new graph with the channels `plan` selects removed (see `select`). With `stats`
    (from `channel_stats`), the layers reading a removed channel compensate for it: its
    linear estimate from the kept channels (with covariances) or its mean (without) folds into
    their weights and bias. `graph` is not modified."""
    removed = select(graph, plan, groups)
    return shrink(graph, removed, stats)


def tied(graph: Graph, tensor: str, channels) -> dict[str, np.ndarray]:
    """Every (tensor, index) tied to channels `channels` of `tensor`, as `shrink` takes them.
    Raises if one of them cannot be removed (frozen by an op, a graph input or output)."""
    wanted = {(tensor, int(c)) for c in channels}
    removed: dict[str, set[int]] = {}
    for g in channel_groups(graph):
        for ch in g.channels:
            if wanted & set(ch.members):
                wanted -= set(ch.members)
                for t, c in ch.members:
                    removed.setdefault(t, set()).add(c)
    if wanted:
        raise SparsegateError(f"channels {sorted(c for _, c in wanted)} of {tensor} cannot be removed")
    return {t: np.array(sorted(cs), np.int64) for t, cs in removed.items()}


def shrink(graph: Graph, removed: dict[str, np.ndarray], stats: ChannelStats | None = None) -> Graph:
    """Physically removes channels (tensor -> removed indices along axis 1) from `graph`.
    `removed` must hold every tied pair (as `select` and `tied` return them)."""
    keep = {t: np.setdiff1d(np.arange(graph.tensors[t].shape[1]), r) for t, r in removed.items()}
    tensors = dict(graph.tensors)
    for t, k in keep.items():
        s = list(tensors[t].shape)
        s[1] = len(k)
        tensors[t] = replace(tensors[t], shape=tuple(s))
    uses: dict[str, int] = {}
    for n in graph.nodes:
        for i in n.inputs:
            uses[i] = uses.get(i, 0) + 1
    nodes = []
    for node in graph.nodes:
        node = replace(node, inputs=list(node.inputs), attrs=dict(node.attrs))
        _shrink_node(graph, node, tensors, keep, removed, stats, uses)
        nodes.append(node)
    return replace(graph, nodes=nodes, tensors=tensors, inputs=list(graph.inputs),
                   outputs=list(graph.outputs), metadata=dict(graph.metadata))


def _set_const(node: Node, index: int, data: np.ndarray, tensors: dict, uses: dict) -> None:
    """Replace input `index` of `node` by a new constant (a fresh name if others share it)."""
    old = node.inputs[index] if index < len(node.inputs) else ""
    name = old if old and uses.get(old, 0) == 1 else f"{node.name}/pruned_{index}"
    while len(node.inputs) <= index:
        node.inputs.append("")
    node.inputs[index] = name
    tensors[name] = TensorInfo(name, tuple(data.shape), data.dtype, np.ascontiguousarray(data))


def _shrink_node(graph, node, tensors, keep, removed, stats, uses) -> None:
    op, ins, out = node.op, node.inputs, node.outputs[0]
    const = lambda i: graph.tensors[ins[i]].data if len(ins) > i and ins[i] else None  # noqa: E731
    if op == "Conv":
        w, b = const(1), const(2)
        k_in, k_out = keep.get(ins[0]), keep.get(out)
        if k_in is None and k_out is None:
            return
        if int(node.attrs["group"]) != 1:  # depthwise: in and out channels are the same
            node.attrs["group"] = len(k_out)
            _set_const(node, 1, w[k_out], tensors, uses)
            if b is not None:
                _set_const(node, 2, b[k_out], tensors, uses)
            return
        w = w.astype(np.float32)
        bias = np.zeros(w.shape[0], np.float32) if b is None else b.astype(np.float32).copy()
        folded = False
        if k_in is not None:
            a, b_sub = _substitute(stats, ins[0], removed[ins[0]], k_in)
            w_gone, w = w[:, removed[ins[0]]], w[:, k_in]
            if b_sub is not None:
                bias += w_gone.sum(axis=(2, 3)) @ b_sub.astype(np.float32)
                folded = True
            if a is not None:
                w = w + np.einsum("mrhw,rk->mkhw", w_gone, a.astype(np.float32))
        if k_out is not None:
            w, bias = w[k_out], bias[k_out]
        _set_const(node, 1, w.astype(graph.tensors[ins[1]].data.dtype), tensors, uses)
        if b is not None or folded:
            _set_const(node, 2, bias, tensors, uses)
    elif op == "Gemm":
        k_in, k_out = keep.get(ins[0]), keep.get(out)
        if k_in is None and k_out is None:
            return
        w = const(1).astype(np.float32)
        w = w.T if int(node.attrs["transB"]) else w  # [K, N]
        c = const(2)
        n = w.shape[1]
        bias = np.zeros(n, np.float32) if c is None else \
            np.broadcast_to(np.float32(node.attrs["beta"]) * c.astype(np.float32).reshape(-1), (n,)).copy()
        if k_in is not None:
            a, b_sub = _substitute(stats, ins[0], removed[ins[0]], k_in)
            w_gone, w = w[removed[ins[0]]], w[k_in]
            if b_sub is not None:
                bias += np.float32(node.attrs["alpha"]) * (b_sub.astype(np.float32) @ w_gone)
            if a is not None:
                w = w + a.T.astype(np.float32) @ w_gone
        if k_out is not None:
            w, bias = w[:, k_out], bias[k_out]
        _set_const(node, 1, np.ascontiguousarray(w.T if int(node.attrs["transB"]) else w), tensors, uses)
        _set_const(node, 2, bias, tensors, uses)
        node.attrs["beta"] = 1.0
    elif op in _BINARY or op == "PRelu":
        if out not in keep:
            return
        rank = len(graph.tensors[out].shape)
        for i, name in enumerate(ins):
            t = graph.tensors[name]
            axis = 1 - (rank - len(t.shape))
            if t.is_constant and axis >= 0 and t.shape[axis] == graph.tensors[out].shape[1] > 1:
                _set_const(node, i, np.take(t.data, keep[out], axis=axis), tensors, uses)
    elif op == "Split" and int(node.attrs["axis"]) == 1:
        node.attrs["split"] = [tensors[o].shape[1] for o in node.outputs]

