"""Post-training quantization (docs/ir.md "Quantized ops", docs/compression.md "Quantization").

    g = quantize(graph, "fp16-weights")                      # weights stored as float16
    g = quantize(graph, "int8-weights")                      # int8 per output channel, f32 compute
    g = quantize(graph, "int8", calib, method="percentile")  # int8 compute, calibrated inputs
    g = quantize(graph, "int8", calib, budget=0.01)          # sensitive layers stay float32

Weight-only modes store each Conv/Gemm/MatMul weight compactly behind a `Dequantize` node;
the runtime evaluates every Dequantize once when the model loads, so the compute ops see plain
float32 constants. `"int8"` turns every eligible Conv (all but depthwise), Gemm (transA = 0,
constant B, bias broadcastable to one row) and MatMul (constant 2-D B) into `ConvInt8` /
`GemmInt8`: int8 weights per output channel (symmetric, ±127), the float32 input quantized to
asymmetric uint8 with a scale and zero point calibrated on `calib_inputs` ("minmax": the
observed range; "percentile": the `percentile`-th and (100 − `percentile`)-th percentiles, which
ignores rare outliers). Layers left in float32 (depthwise convs, layers reverted by the budget)
keep int8 weight storage unless `fallback="fp32"`; in int8 storage, weights with few values per
output channel (depthwise convs: 9) are stored as float16, which measured far more accurate.

With a `budget`, layers are ranked by sensitivity (the relative output error of the model
with that layer alone in int8, on calibration inputs) and the most sensitive ones revert to
float32 until `eval_fn(quantized) >= eval_fn(float graph) - budget`. The default `eval_fn` is the
top-1 agreement of the first output with the float graph on the calibration inputs.
The result's `metadata["quantization"]` says what happened to every layer.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from ..errors import SparsegateError
from ..feeds import as_feeds
from ..ir import Graph, Node, TensorInfo
from ..metrics import relative_error, top1_agreement

F32 = np.float32
MODES = ("int8", "int8-weights", "fp16-weights")
METHODS = ("minmax", "percentile")
_MIN_WEIGHT_NUMEL = 16  # smaller weights are not worth a Dequantize node (64-byte alignment)
# int8 storage puts weights with fewer values than this per output channel (depthwise 3×3: 9)
# in float16 instead: measured on MobileNetV2, int8 depthwise weights alone drop top-1
# agreement to 85% on photos, float16 ones cost nothing (and ~2% of the parameters).
_MIN_INT8_CHANNEL = 32


def _scalar(v):
    return v[0] if isinstance(v, (list, tuple)) else v


# ---- weights ----

def quantize_weight(w: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per slice along `axis`: returns (q int8 in [-127, 127], scale float32 [n])
    with w ≈ q · scale (an all-zero slice gets scale 1)."""
    w = np.asarray(w, F32)
    axis = axis % w.ndim
    other = tuple(i for i in range(w.ndim) if i != axis)
    amax = np.abs(w).max(axis=other) if other else np.abs(w)
    scale = np.where(amax > 0, amax / F32(127), F32(1)).astype(F32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def _weight_inputs(graph: Graph, node: Node) -> list[tuple[int, int]]:
    """(input index, output-channel axis) of the constant weights a node multiplies by."""
    def const(i):
        return i < len(node.inputs) and node.inputs[i] and graph.constant(node.inputs[i]) is not None
    if node.op == "Conv" and const(1):
        return [(1, 0)]
    if node.op == "Gemm" and const(1):
        return [(1, 0 if _scalar(node.attrs.get("transB", 0)) else 1)]
    if node.op == "MatMul":
        return [(i, i - 2) for i in (0, 1) if const(i) and graph.tensors[node.inputs[i]].data.ndim >= 2]
    return []


def _store_weights(graph: Graph, mode: str, skip: set[str] = frozenset()) -> dict[str, str]:
    """Puts every Conv/Gemm/MatMul constant weight (float32, not in `skip`) behind a Dequantize
    node, stored as int8 per output channel or float16 (int8 mode: float16 for weights with
    fewer than _MIN_INT8_CHANNEL values per channel). In place; returns {tensor: encoding}."""
    done: dict[str, str] = {}
    deq: list[Node] = []
    for node in graph.nodes:
        for i, axis in _weight_inputs(graph, node):
            name = node.inputs[i]
            info = graph.tensors[name]
            if name in done or name in skip or info.data.dtype != F32 or info.data.size < _MIN_WEIGHT_NUMEL:
                continue
            w = info.data
            per_channel = w.size // max(w.shape[axis % w.ndim], 1)
            if mode == "fp16-weights" or per_channel < _MIN_INT8_CHANNEL:
                if not np.all(np.abs(w) <= np.finfo(np.float16).max):
                    continue  # would overflow float16: keep float32
                ins = [_add_const(graph, f"{name}.f16", w.astype(np.float16))]
            else:
                q, scale = quantize_weight(w, axis)
                ins = [_add_const(graph, f"{name}.q", q), _add_const(graph, f"{name}.scale", scale)]
            graph.tensors[name] = TensorInfo(name, tuple(w.shape))  # now computed by the node
            deq.append(Node("Dequantize", f"{name}/dequantize", ins, [name], {"axis": axis % w.ndim}))
            done[name] = "fp16-weights" if len(ins) == 1 else "int8-weights"
    graph.nodes[:0] = deq  # constants only: they may run first
    return done


def _add_const(graph: Graph, name: str, data: np.ndarray) -> str:
    base, k = name, 1
    while name in graph.tensors:
        name, k = f"{base}.{k}", k + 1
    graph.tensors[name] = TensorInfo(name, tuple(data.shape), data.dtype, data)
    return name


# ---- calibration ----

def input_ranges(graph: Graph, tensors: list[str], feeds: list[dict], method: str = "minmax",
                 percentile: float = 99.99, max_values: int = 1 << 15, seed: int = 0, *,
                 runner: Callable) -> dict[str, tuple[float, float]]:
    """(lo, hi) of each tensor over the calibration feeds (run by `runner`, see `quantize`):
    min/max, or the percentiles (100 − p, p) of the values (at most `max_values` random values
    kept per sample)."""
    if method not in METHODS:
        raise SparsegateError(f"method must be one of {METHODS}, got {method!r}")
    rng = np.random.default_rng(seed)
    lo = {t: np.inf for t in tensors}
    hi = {t: -np.inf for t in tensors}
    kept: dict[str, list[np.ndarray]] = {t: [] for t in tensors}
    for out in runner(graph, feeds, extra_outputs=tensors):
        for t in tensors:
            v = np.asarray(out[t], F32).reshape(-1)
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            lo[t], hi[t] = min(lo[t], float(v.min())), max(hi[t], float(v.max()))
            if method == "percentile":
                kept[t].append(v if v.size <= max_values else rng.choice(v, max_values, replace=False))
    ranges = {}
    for t in tensors:
        a, b = lo[t], hi[t]
        if method == "percentile" and kept[t]:
            v = np.concatenate(kept[t])
            a, b = float(np.percentile(v, 100 - percentile)), float(np.percentile(v, percentile))
        ranges[t] = (a, b)
    return ranges


def input_quant_params(lo: float, hi: float) -> tuple[float, int]:
    """(x_scale, x_zero_point) of asymmetric uint8 covering [lo, hi] and 0 (0 stays exact)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo <= 0:
        return 1.0, 0 if lo >= 0 else 255
    scale = float(F32((hi - lo) / 255.0))
    zp = int(np.clip(np.rint(-lo / scale), 0, 255))
    return scale, zp


# ---- int8 compute ----

def int8_candidates(graph: Graph) -> list[str]:
    """Nodes `"int8"` mode can compute in int8 (in graph order)."""
    out = []
    for node in graph.nodes:
        if node.op == "Conv" and graph.constant(node.inputs[1]) is not None and \
                not node.attrs.get("gate_kind"):
            w = graph.tensors[node.inputs[1]].shape
            x = graph.tensors[node.inputs[0]].shape
            group = int(_scalar(node.attrs["group"]))
            depthwise = group > 1 and w[1] == 1 and group == x[1]
            if not depthwise and w[1] * w[2] * w[3] <= 65536:
                out.append(node.name)
        elif node.op == "Gemm" and _gemm_parts(graph, node) is not None:
            out.append(node.name)
        elif node.op == "MatMul" and _matmul_parts(graph, node) is not None:
            out.append(node.name)
    return out


def _gemm_parts(graph: Graph, node: Node):
    """(W [N, K], bias [N] or None, alpha) of a Gemm computable as GemmInt8, else None."""
    b = graph.constant(node.inputs[1])
    if b is None or b.dtype != F32 or _scalar(node.attrs.get("transA", 0)) or node.attrs.get("gate_kind"):
        return None
    w = b if _scalar(node.attrs.get("transB", 0)) else b.T
    n = w.shape[0]
    bias = None
    if len(node.inputs) > 2 and node.inputs[2]:
        c = graph.constant(node.inputs[2])
        if c is None or c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1):
            return None
        bias = np.broadcast_to(c.reshape(-1), (n,)).astype(F32) * F32(_scalar(node.attrs.get("beta", 1.0)))
    if w.shape[1] > 65536:
        return None
    return np.ascontiguousarray(w), bias, float(_scalar(node.attrs.get("alpha", 1.0)))


def _matmul_parts(graph: Graph, node: Node):
    b = graph.constant(node.inputs[1])
    a = graph.tensors[node.inputs[0]]
    if b is None or b.dtype != F32 or b.ndim != 2 or a.data is not None or len(a.shape) < 1 or b.shape[0] > 65536:
        return None
    return np.ascontiguousarray(b.T), None, 1.0


def _to_int8(graph: Graph, node: Node, ranges) -> Node:
    """The ConvInt8 / GemmInt8 node replacing `node` (constants added to `graph`)."""
    x_scale, zp = input_quant_params(*ranges[node.inputs[0]])
    qattrs = {"x_scale": float(x_scale), "x_zero_point": int(zp)}
    if node.op == "Conv":
        q, scale = quantize_weight(graph.constant(node.inputs[1]), 0)
        ins = [node.inputs[0], _add_const(graph, f"{node.inputs[1]}.q", q),
               _add_const(graph, f"{node.inputs[1]}.scale", scale)]
        if len(node.inputs) > 2 and node.inputs[2]:
            ins.append(node.inputs[2])
        keep = ("strides", "pads", "dilations", "group", "activation", "activation_params")
        return Node("ConvInt8", node.name, ins, list(node.outputs),
                    {**{k: node.attrs[k] for k in keep}, **qattrs})
    w, bias, alpha = _gemm_parts(graph, node) if node.op == "Gemm" else _matmul_parts(graph, node)
    q, scale = quantize_weight(w, 0)
    scale = (scale * F32(alpha)).astype(F32)
    ins = [node.inputs[0], _add_const(graph, f"{node.inputs[1]}.q", q),
           _add_const(graph, f"{node.inputs[1]}.scale", scale)]
    if bias is not None:
        ins.append(_add_const(graph, f"{node.inputs[1]}.bias", bias))
    act = {"activation": node.attrs.get("activation", ""), "activation_params": list(node.attrs.get("activation_params", []))}
    return Node("GemmInt8", node.name, ins, list(node.outputs), {**act, **qattrs})


def _drop_unused_constants(graph: Graph) -> None:
    used = {i for n in graph.nodes for i in n.inputs if i} | set(graph.outputs) | set(graph.inputs)
    for name in [n for n, t in graph.tensors.items() if t.data is not None and n not in used]:
        del graph.tensors[name]


def _build(graph: Graph, int8_layers: list[str], ranges, fallback: str) -> Graph:
    g = copy.deepcopy(graph)
    chosen = set(int8_layers)
    g.nodes = [_to_int8(g, n, ranges) if n.name in chosen else n for n in g.nodes]
    _drop_unused_constants(g)
    if fallback != "fp32":
        _store_weights(g, fallback)
    _drop_unused_constants(g)
    return g


def quantize(graph: Graph, mode: str, calib_inputs=None, *, method: str = "minmax",
             budget: float | None = None, eval_fn: Callable[[Graph], float] | None = None,
             percentile: float = 99.99, fallback: str = "int8-weights", layers=None,
             sensitivity_samples: int = 16, progress=None, runner: Callable | None = None) -> Graph:
    """Returns a quantized copy of `graph` (see the module docstring).

    mode: "int8" (compute), "int8-weights" or "fp16-weights" (storage only).
    calib_inputs: for "int8", sample inputs (arrays for a single-input model, or feed dicts).
    method: "minmax" or "percentile" (with `percentile`, default 99.99) for activation ranges.
    budget: largest allowed drop of `eval_fn` (None: every eligible layer in int8).
    eval_fn(graph) -> score, higher is better; default top-1 agreement with the float graph on
    the calibration inputs. fallback: storage of layers computed in float32 ("int8-weights",
    "fp16-weights" or "fp32"). layers: restrict int8 compute to these node names.
    progress: optional callable(str) for status lines.
    runner(graph, feeds, extra_outputs=()) -> outputs: runs the graph on the calibration inputs
    for "int8" (`compression.runner.wasm_runner`: the wasm runtime)."""
    mode = {"fp16": "fp16-weights"}.get(mode, mode)
    if mode not in MODES:
        raise SparsegateError(f"quantize mode must be one of {MODES}, got {mode!r}")
    if fallback not in ("int8-weights", "fp16-weights", "fp32"):
        raise SparsegateError(f"fallback must be 'int8-weights', 'fp16-weights' or 'fp32', got {fallback!r}")
    say = progress or (lambda s: None)
    if mode != "int8":
        g = copy.deepcopy(graph)
        stored = _store_weights(g, mode)
        _drop_unused_constants(g)
        g.metadata["quantization"] = {"mode": mode, "weights": stored}
        return g

    if calib_inputs is None:
        raise SparsegateError("quantize(mode='int8') needs calib_inputs (sample inputs of the model)")
    if runner is None:
        raise SparsegateError("quantize(mode='int8') runs the model on calib_inputs: pass runner= "
                              "(sparsegate.compression.runner.wasm_runner runs it in the wasm runtime)")
    feeds = as_feeds(graph, calib_inputs, "calib_inputs")
    cands = int8_candidates(graph)
    if layers is not None:
        wanted = set(layers)
        unknown = wanted - {n.name for n in graph.nodes}
        if unknown:
            raise SparsegateError(f"layers {sorted(unknown)} are not nodes of the graph")
        cands = [c for c in cands if c in wanted]
    nodes = {n.name: n for n in graph.nodes}
    say(f"calibrating {len(cands)} layer inputs on {len(feeds)} samples ({method})")
    ranges = input_ranges(graph, sorted({nodes[c].inputs[0] for c in cands}), feeds, method, percentile,
                          runner=runner)

    sensitivity: dict[str, float] = {}
    int8_layers = list(cands)
    base = None
    budget_met = True
    if budget is not None and cands:
        sub = feeds[:sensitivity_samples]
        ref_sub = runner(graph, sub)
        for k, c in enumerate(cands):
            say(f"sensitivity {k + 1}/{len(cands)}: {c}")
            sensitivity[c] = relative_error(ref_sub, runner(_build(graph, [c], ranges, "fp32"), sub))
        if eval_fn is None:
            ref_all = runner(graph, feeds)
            eval_fn = lambda g: top1_agreement(ref_all, runner(g, feeds))  # noqa: E731
        base = eval_fn(graph)
        order = sorted(cands, key=lambda c: -sensitivity[c])  # most sensitive first
        # Revert the fewest most-sensitive layers that meet the budget: doubling, then bisection.
        scores: dict[int, float] = {}

        def ok(n_revert):
            kept = [c for c in cands if c not in set(order[:n_revert])]
            scores[n_revert] = eval_fn(_build(graph, kept, ranges, fallback))
            say(f"{n_revert} layer(s) in float32: score {scores[n_revert]:.4f} (float {base:.4f})")
            return scores[n_revert] >= base - budget
        n_revert = 0
        if not ok(0):
            lo_n, hi_n = 0, 1
            while hi_n < len(order) and not ok(hi_n):
                lo_n, hi_n = hi_n, min(2 * hi_n, len(order))
            if hi_n == len(order) and hi_n not in scores:
                ok(hi_n)
            if scores[hi_n] >= base - budget:
                while hi_n - lo_n > 1:
                    mid = (lo_n + hi_n) // 2
                    lo_n, hi_n = (lo_n, mid) if ok(mid) else (mid, hi_n)
                n_revert = hi_n
            else:
                # Unreachable even with every layer in float32 (the weight storage of the
                # fallback costs more than the budget): keep the best configuration measured.
                n_revert = max(scores, key=lambda n: (scores[n], -n))
                say(f"budget {budget} not reachable (fallback '{fallback}'); best: {n_revert} layer(s) in float32")
        int8_layers = [c for c in cands if c not in set(order[:n_revert])]
        budget_met = scores.get(n_revert, base) >= base - budget
    g = _build(graph, int8_layers, ranges, fallback)
    per_layer = {}
    deq = {n.outputs[0]: g.tensors[n.inputs[0]].data.dtype for n in g.nodes if n.op == "Dequantize"}
    for n in graph.nodes:
        if n.name in int8_layers:
            per_layer[n.name] = "int8"
        elif _weight_inputs(graph, n):
            stored = {str(deq[n.inputs[i]]) for i, _ in _weight_inputs(graph, n) if n.inputs[i] in deq}
            per_layer[n.name] = "fp32" + (f" ({', '.join(sorted(stored))} weights)" if stored else "")
    g.metadata["quantization"] = {
        "mode": "int8", "method": method, **({"percentile": percentile} if method == "percentile" else {}),
        "calibration_samples": len(feeds), "budget": budget,
        **({"budget_met": bool(budget_met)} if budget is not None and cands else {}), "layers": per_layer,
        "fp32_layers": [c for c in cands if c not in int8_layers],
        "sensitivity": {k: float(v) for k, v in sensitivity.items()},
    }
    return g
