"""Gated inference: add gates to Conv nodes, and calibrate their sparsity post-training.

    g = add_gates(graph, {"conv_5": 0.3})                      # heuristic gate, expected-value fill
    g = calibrate_gates(graph, calib_inputs, budget=0.01)      # per-layer sparsity from data

A gate (docs/ir.md, "Gated Conv and Gemm") decides per run which output channels of a Conv to
compute; the others hold a constant plane. Two kinds:

- `heuristic`: importance[j] = Σ_c gate_norms[j, c] · mean|x[c]|, the lowest skipped; a skipped
  channel holds its expected output act(Σ_c gate_sums[j, c] · mean x[c] + B[j]) ("expected") or
  act(B[j]) ("bias"). `add_gates` precomputes gate_norms and gate_sums from the weights.
- `learned` (Feature Boosting and Suppression): gate_fc_w, gate_fc_b come from training
  (`sparsegate.train`); `add_gates(kind="learned", learned={name: (fc_w, fc_b)})` attaches them.

Calibration (`calibrate_gates`): per gateable layer and sparsity level, the score (top-1
agreement with the ungated model, or any metric) on calibration inputs with that layer alone
gated; then a greedy allocation takes, step by step, the level increase that skips the most MACs
per point of predicted loss until the predicted loss reaches the budget; the chosen allocation is
measured on the calibration inputs and shrunk until it really meets the budget. Depthwise convs
and the first conv are not gated by default: they are the most sensitive places (measured).
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import numpy as np

from ..errors import SparsegateError
from ..feeds import as_feeds
from ..ir import Graph, TensorInfo
from ..macs import graph_macs, node_macs
from ..metrics import top1_agreement
from ..reference import run_graph
from ..reference.activations import apply_activation

F32 = np.float32
DEFAULT_LEVELS = (0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.22, 0.24, 0.26, 0.28,
                  0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _scalar(v):
    return v[0] if isinstance(v, (list, tuple)) else v


def _conv_kind(graph: Graph, node) -> str:
    """"pointwise", "depthwise", "grouped" or "general"."""
    m, cg, kh, kw = graph.tensors[node.inputs[1]].shape
    c = graph.tensors[node.inputs[0]].shape[1]
    group = int(_scalar(node.attrs["group"]))
    if group == c == m:
        return "depthwise"
    if group != 1:
        return "grouped"
    return "pointwise" if (kh, kw) == (1, 1) else "general"


# Ops with weights of their own: a graph output that depends on a conv only through other ops
# (reshapes, concatenations, splits, activations, pools, decode arithmetic) shows that conv's
# output channels directly.
_LAYER_OPS = ("Conv", "ConvInt8", "Gemm", "GemmInt8", "MatMul")


def output_convs(graph: Graph, min_channels: int = 4) -> list[str]:
    """Conv nodes whose output reaches a graph output through no other layer: the detection
    head's box and class convs of YOLOv8n (through Concat, Reshape, Split, Sigmoid, and, for the
    boxes, the DFL softmax and its fixed 16 → 1 conv). A conv with fewer than `min_channels`
    output channels (never gated) does not count as a layer here."""
    near = set(graph.outputs)  # tensors a graph output depends on through no layer
    for node in reversed(graph.nodes):
        layer = node.op in _LAYER_OPS and not (
            node.op == "Conv" and graph.tensors[node.inputs[1]].shape[0] < min_channels)
        if not layer and any(o in near for o in node.outputs):
            near.update(node.inputs)
    return [n.name for n in graph.nodes if n.op == "Conv" and n.outputs[0] in near]


def gateable_convs(graph: Graph, include_depthwise: bool = False, include_first: bool = False,
                   pointwise_only: bool = False, min_channels: int = 4,
                   include_outputs: bool = False) -> list[str]:
    """Conv nodes a heuristic gate may go on: group 1 (or depthwise when asked), at least
    `min_channels` output channels; not the first Conv unless `include_first`; not a conv whose
    output channels are the model's outputs (`output_convs`: YOLOv8n's box and class logits)
    unless `include_outputs`."""
    names, first = [], True
    outputs = set() if include_outputs else set(output_convs(graph, min_channels))
    for node in graph.nodes:
        if node.op != "Conv":
            continue
        is_first, first = first, False
        kind = _conv_kind(graph, node)
        if (is_first and not include_first) or kind == "grouped" or node.name in outputs:
            continue
        if kind == "depthwise" and not include_depthwise:
            continue
        if pointwise_only and kind != "pointwise":
            continue
        if graph.tensors[node.inputs[1]].shape[0] >= min_channels:
            names.append(node.name)
    return names


def gated_layers(graph: Graph) -> dict[str, float]:
    """{node name: gate_sparsity} of every gated node."""
    return {n.name: float(_scalar(n.attrs["gate_sparsity"])) for n in graph.nodes
            if n.attrs.get("gate_kind")}


def _copy_graph(graph: Graph) -> Graph:
    """A copy whose nodes and tensor table can be edited (constant arrays are shared)."""
    return Graph([copy.deepcopy(n) for n in graph.nodes], {k: copy.copy(t) for k, t in graph.tensors.items()},
                 list(graph.inputs), list(graph.outputs), copy.deepcopy(graph.metadata))


def _new_constant(graph: Graph, name: str, data: np.ndarray) -> str:
    base, k = name, 1
    while name in graph.tensors:
        name, k = f"{base}_{k}", k + 1
    data = np.ascontiguousarray(data, F32)
    graph.tensors[name] = TensorInfo(name, tuple(data.shape), np.dtype("float32"), data)
    return name


def add_gates(graph: Graph, sparsity_per_layer: dict[str, float], kind: str = "heuristic",
              fill: str = "expected", learned: dict | None = None, threshold: float = 0.0,
              scales: dict | None = None) -> Graph:
    """A copy of `graph` with a gate on each Conv named in `sparsity_per_layer` (sparsity in
    [0, 1]: the fraction of output channels skipped at knob 1). A layer that already has a gate
    gets the new one instead. `kind="learned"` needs `learned={name: (fc_w [M, C], fc_b [M])}`
    and uses fill "zero". `scales={name: s [M]}` (heuristic; nonnegative) multiplies row j of
    that layer's gate_norms by s[j], so importance[j] = s[j] · Σ_c |W[j, c]|·mean|x[c]|
    (`channel_spread_scales` calibrates them)."""
    if kind not in ("heuristic", "learned"):
        raise ValueError(f"kind must be 'heuristic' or 'learned', got {kind!r}")
    if kind == "heuristic" and fill not in ("expected", "bias", "zero"):
        raise ValueError(f"fill must be 'expected', 'bias' or 'zero', got {fill!r}")
    out = _copy_graph(graph)
    nodes = {n.name: n for n in out.nodes}
    for name, sparsity in sparsity_per_layer.items():
        node = nodes.get(name)
        if node is None or node.op != "Conv":
            raise SparsegateError(f"add_gates: no Conv node named {name!r}")
        if not 0.0 <= float(sparsity) <= 1.0:
            raise ValueError(f"add_gates: sparsity of {name!r} is {sparsity}, expected 0..1")
        ck = _conv_kind(out, node)
        if ck == "grouped":
            raise SparsegateError(f"add_gates: {name!r} is a grouped conv; gates need group 1 or depthwise")
        w = out.tensors[node.inputs[1]].data
        if w is None:
            raise SparsegateError(f"add_gates: {name!r} has computed weights")
        w = w.astype(F32)
        m = w.shape[0]
        inputs = list(node.inputs[:3]) + [""] * (3 - len(node.inputs[:3]))
        if not inputs[2]:
            inputs[2] = _new_constant(out, f"{name}.bias", np.zeros(m, F32))
        attrs = {k: v for k, v in node.attrs.items() if not k.startswith("gate_")}
        if kind == "heuristic":
            norms = np.abs(w).sum(axis=(2, 3))
            if scales and name in scales:
                sc = np.asarray(scales[name], F32).reshape(-1)
                if sc.shape != (m,) or not np.all(sc >= 0):
                    raise SparsegateError(f"add_gates: scales of {name!r} must be {m} nonnegative floats")
                norms = norms * sc[:, None]
            p3 = _new_constant(out, f"{name}.gate_norms", norms)
            p4 = _new_constant(out, f"{name}.gate_sums", w.sum(axis=(2, 3)))
            attrs.update(gate_kind="heuristic", gate_sparsity=float(sparsity), gate_fill=fill)
        else:
            if ck != "pointwise" and ck != "general":
                raise SparsegateError(f"add_gates: learned gates need group 1 ({name!r} is {ck})")
            if not learned or name not in learned:
                raise SparsegateError(f"add_gates: learned gate for {name!r} needs (fc_w, fc_b) in `learned`")
            fc_w, fc_b = (np.asarray(a, F32) for a in learned[name])
            c = out.tensors[node.inputs[0]].shape[1]
            if fc_w.shape != (m, c) or fc_b.shape != (m,):
                raise SparsegateError(f"add_gates: {name!r} gate_fc_w {fc_w.shape} / gate_fc_b "
                                      f"{fc_b.shape}, expected ({m}, {c}) / ({m},)")
            p3 = _new_constant(out, f"{name}.gate_fc_w", fc_w)
            p4 = _new_constant(out, f"{name}.gate_fc_b", fc_b)
            attrs.update(gate_kind="learned", gate_sparsity=float(sparsity), gate_fill="zero",
                         gate_threshold=float(threshold))
        node.inputs = inputs + [p3, p4]
        node.attrs = attrs
    return out


# --- calibration ---------------------------------------------------------------------------------

def skipped_fraction(graph: Graph, sparsity_per_layer: dict[str, float], gate: float = 1.0) -> float:
    """Fraction of the graph's dense MACs that the output-channel skipping of these layers
    removes at knob `gate` (folding into next layers and the gates' own cost not counted)."""
    nodes = {n.name: n for n in graph.nodes}
    total = graph_macs(graph)
    skipped = 0.0
    for name, s in sparsity_per_layer.items():
        m = graph.tensors[nodes[name].inputs[1]].shape[0]
        k = int(np.floor(F32(gate) * F32(s) * F32(m)))
        skipped += node_macs(graph, nodes[name]) * min(k, m) / m
    return skipped / max(total, 1)


def channel_spread_scales(graph: Graph, feeds: list[dict], layers: Sequence[str],
                          fill: str = "expected", max_samples: int = 1000) -> dict[str, np.ndarray]:
    """Per gated layer, a per-output-channel scale that turns the cheap importance
    Σ_c |W[j, c]|·mean|x[c]| into an estimate of what skipping channel j really changes:
    s[j] = mean over the samples of mean|y[j] − fill[j]| / mean of the importance, measured with
    the numpy reference on the first feeds, until `max_samples` samples (batch rows) (y: the conv's output, fill: the value the
    gate would write). A channel that never moves from its fill gets 0 (skipped first).
    Normalised to mean 1 per layer (only the order within a layer matters)."""
    nodes = {n.name: n for n in graph.nodes}
    acc = {name: [np.zeros(0), np.zeros(0)] for name in layers}
    seen = 0
    for f in feeds:
        if seen >= max_samples:
            break
        env = run_graph(graph, f, keep_all=True)
        seen += int(next(iter(f.values())).shape[0]) if f else 1
        for name in layers:
            node = nodes[name]
            x, y = env[node.inputs[0]], env[node.outputs[0]]
            w = graph.tensors[node.inputs[1]].data.astype(np.float64)
            b = (graph.tensors[node.inputs[2]].data.astype(np.float64)
                 if len(node.inputs) > 2 and node.inputs[2] else np.zeros(w.shape[0]))
            group = int(_scalar(node.attrs["group"]))
            n, c = x.shape[:2]
            m = w.shape[0]
            xs = x.reshape(n, group, c // group, -1).astype(np.float64)
            norms = np.abs(w).sum(axis=(2, 3)).reshape(group, m // group, c // group)
            score = np.einsum("gmc,ngc->ngm", norms, np.abs(xs).mean(-1)).reshape(n, m)
            if fill == "expected":
                sums = w.sum(axis=(2, 3)).reshape(group, m // group, c // group)
                pre = np.einsum("gmc,ngc->ngm", sums, xs.mean(-1)).reshape(n, m) + b
            elif fill == "bias":
                pre = np.broadcast_to(b, (n, m))
            else:
                pre = None
            if pre is None:
                value = np.zeros((n, m))
            else:
                value = apply_activation(pre.astype(F32), node.attrs.get("activation", ""),
                                         node.attrs.get("activation_params", [])).astype(np.float64)
            dev = np.abs(y.reshape(n, m, -1) - value[:, :, None]).mean(-1)
            a = acc[name]
            a[0] = a[0] + score.sum(0) if a[0].size else score.sum(0)
            a[1] = a[1] + dev.sum(0) if a[1].size else dev.sum(0)
    out = {}
    for name, (score, dev) in acc.items():
        live = score > 0
        s = np.zeros_like(score)
        s[live] = dev[live] / score[live]
        mean = s[live].mean() if np.any(live) else 0.0
        s = s / mean if mean > 0 else np.ones_like(s)
        s[~live & (dev > 0)] = s.max(initial=1.0)  # importance 0 anyway: keep the scale harmless
        out[name] = s.astype(F32)
    return out


def calibrate_gates(graph: Graph, calib_inputs, budget: float = 0.01, *,
                    metric: Callable[[list, list], float] = top1_agreement,
                    kind: str = "heuristic", fill: str = "expected",
                    levels: Sequence[float] = DEFAULT_LEVELS, layers: Sequence[str] | None = None,
                    include_depthwise: bool = False, include_first: bool = False,
                    scale: str = "spread", scale_samples: int = 1000,
                    runner: Callable | None = None, verbose: bool = False,
                    sweep: dict | None = None) -> Graph:
    """Post-training gate calibration. Returns a copy of `graph` with heuristic gates whose
    per-layer sparsity skips the most MACs while `metric(dense outputs, gated outputs)` (higher
    is better; default top-1 agreement) drops by at most `budget` on `calib_inputs` — on those
    only: with few inputs the allocation fits them (YOLOv8n calibrated on 5 photos keeps a
    quarter of its mAP on 5 others, docs/gating.md §3), so check the result on other inputs.

    `calib_inputs`: anything `feeds.as_feeds` takes (feed dicts, or arrays for a one-input graph).
    `runner(graph, feeds) -> outputs` runs candidates (`compression.runner.wasm_runner`: the
    wasm runtime). `layers`: candidate Conv names (default `gateable_convs`). `scale="spread"` (default) first calibrates per-channel
    importance scales on the first `scale_samples` samples (`channel_spread_scales`; "none": the
    plain Σ|W|·mean|x| rule). The result's metadata["gating"] records the measurement.
    `sweep`: a dict that keeps the measurements (the ungated outputs, the scales, the loss of
    each set of channel counts measured) between calls: pass the same one to calibrate the same
    graph on the same inputs (same metric, fill, scale) at several budgets; each call measures
    only what earlier calls did not."""
    if scale not in ("spread", "none"):
        raise ValueError(f"scale must be 'spread' or 'none', got {scale!r}")
    if kind != "heuristic":
        raise ValueError("post-training calibration is for heuristic gates (learned gates are trained)")
    if runner is None:
        raise SparsegateError("calibrate_gates runs the model on calib_inputs: pass runner= "
                              "(sparsegate.compression.runner.wasm_runner runs it in the wasm runtime)")
    feeds = as_feeds(graph, calib_inputs, "calib_inputs")
    run = runner
    say = print if verbose else (lambda *a, **k: None)
    levels = sorted(float(v) for v in levels)
    cand = list(layers) if layers is not None else gateable_convs(graph, include_depthwise, include_first)
    nodes = {n.name: n for n in graph.nodes}
    memo = sweep if sweep is not None else {}
    key = (id(graph), len(feeds), tuple(cand), fill, scale, scale_samples)
    if memo.setdefault("key", key) != key:
        raise SparsegateError("calibrate_gates: `sweep` holds measurements of another graph, "
                              "inputs, layers, fill or scale")
    if "ref" not in memo:
        memo["ref"] = run(graph, feeds)
        memo["scales"] = (channel_spread_scales(graph, feeds, cand, fill, scale_samples)
                          if scale == "spread" else None)
    ref, scales = memo["ref"], memo["scales"]
    losses = memo.setdefault("losses", {})  # ((layer, channels skipped), ...) -> measured loss
    base = metric(ref, ref)
    total = graph_macs(graph)

    def loss_of(spl: dict) -> float:
        # Keyed by channels skipped: levels that round to the same counts share a measurement.
        key = tuple(sorted((n, k) for n, s in spl.items()
                           if (k := int(np.floor(F32(s) * F32(graph.tensors[nodes[n].inputs[1]].shape[0]))))))
        if not key:
            return 0.0
        if key not in losses:
            losses[key] = base - metric(ref, run(add_gates(graph, spl, fill=fill, scales=scales), feeds))
        return losses[key]

    # 1. Sensitivity: loss of each layer alone at each level (stop once past twice the budget:
    # the allocation never uses a level whose loss alone exceeds the budget).
    sens: dict[str, list[float]] = {}
    for name in cand:
        curve = []
        for s in levels:
            loss = loss_of({name: s})
            curve.append(loss)
            if loss > 2 * budget:
                break
        curve += [math.inf] * (len(levels) - len(curve))
        sens[name] = curve
        say(f"  {name}: " + " ".join(f"{s:.2f}:{l:.3f}" for s, l in zip(levels, curve) if l < math.inf))

    def saved(name: str, i: int) -> float:
        if i < 0:
            return 0.0
        m = graph.tensors[nodes[name].inputs[1]].shape[0]
        return node_macs(graph, nodes[name]) * math.floor(levels[i] * m) / m

    # 2. Greedy allocation under a predicted (summed) loss; 3. measure and shrink until it holds.
    def allocate(cap: float) -> dict[str, int]:
        level = {name: -1 for name in cand}
        used = 0.0
        while True:
            best, best_gain = None, 0.0
            for name in cand:
                i = level[name]
                if i + 1 >= len(levels):
                    continue
                # Look ahead to the next level that saves more (several levels can round alike).
                for j in range(i + 1, len(levels)):
                    dm = saved(name, j) - saved(name, i)
                    if dm > 0:
                        break
                dl = max(sens[name][j] - max(sens[name][i], 0.0) if i >= 0 else sens[name][j], 0.0)
                if dm <= 0 or used + dl > cap or sens[name][j] == math.inf:
                    continue
                gain = dm / (dl + 1e-3 * budget + 1e-9)
                if gain > best_gain:
                    best, best_gain, best_j, best_dl = name, gain, j, dl
            if best is None:
                return level
            level[best] = best_j
            used += best_dl

    cap, chosen, measured, first = budget, {}, 0.0, None
    for _ in range(8):
        level = allocate(cap)
        chosen = {n: levels[i] for n, i in level.items() if i >= 0}
        first = chosen if first is None else first
        measured = loss_of(chosen)
        say(f"  cap {cap:.4f}: {len(chosen)} layers, {100 * skipped_fraction(graph, chosen):.2f}% "
            f"of MACs skipped, loss {measured:.4f}")
        if measured <= budget + 1e-12:
            break
        cap *= 0.6
    else:
        # A lower cap cannot drop layers whose loss alone measured 0, yet together they can
        # cost more than the budget: rebuild from the first allocation one layer at a time, the
        # most MACs per predicted loss first, keeping a layer only if the measured loss holds.
        def efficiency(name: str) -> float:
            i = levels.index(first[name])
            return saved(name, i) / (sens[name][i] + 1e-3 * budget + 1e-9)

        chosen, measured = {}, 0.0
        for name in sorted(first, key=efficiency, reverse=True):
            trial = {**chosen, name: first[name]}
            loss = loss_of(trial)
            if loss <= budget + 1e-12:
                chosen, measured = trial, loss
        say(f"  one layer at a time: {len(chosen)} layers, "
            f"{100 * skipped_fraction(graph, chosen):.2f}% of MACs skipped, loss {measured:.4f}")
    out = add_gates(graph, chosen, fill=fill, scales=scales)
    out.metadata["gating"] = {
        "kind": kind, "fill": fill, "scale": scale, "budget": budget, "calib_samples": len(feeds),
        "metric": getattr(metric, "__name__", "metric"), "calib_loss": measured,
        "macs_skipped_estimate": skipped_fraction(graph, chosen), "layers": chosen,
        "dense_macs": total,
    }
    return out
