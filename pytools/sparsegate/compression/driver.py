"""`compress`: ONNX → passes (prune → block sparsity → quantize → gates) → `.sgm`, and a report.

    rep = sg.compress("model.onnx", "model.sgm", prune=0.3, calib="photos/")
    rep = sg.compress("model.onnx", "model.sgm", accuracy_budget=0.01, calib=xs, eval_fn=acc)
    print(rep.summary())

The metric is `eval_fn(session) -> float` when given (e.g. accuracy on labelled data, run on
a `sparsegate.Session` of the candidate model), else agreement with the uncompressed model on
the calibration samples (top-1 for classifiers, cosine similarity of the outputs otherwise).
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .. import zoo
from ..errors import InputError
from ..format.writer import model_bytes, write_model
from ..ir import Graph
from ..macs import graph_macs, node_macs
from ..metrics import cosine_similarity, top1_agreement
from ..passes import block_sparsity, gating, pruning, pruning_budget, quantize as quantize_pass
from ..runtime import Session
from . import calibration
from .runner import run_outputs, wasm_runner

_WEIGHTED = ("Conv", "Gemm")


@dataclass
class CompressReport:
    source: str
    output: str | None
    macs_before: int
    macs_after: int                   # dense-equivalent MACs of the written model
    bytes_onnx: int | None            # the source file, when it is one
    bytes_before: int                 # the uncompressed .sgm
    bytes_after: int                  # the written .sgm
    metric_name: str                  # "accuracy" (eval_fn), "top-1 agreement", "cosine similarity"
    metric_before: float | None
    metric_after: float | None
    options: dict = field(default_factory=dict)
    plan: dict = field(default_factory=dict)          # group -> pruning ratio
    layers: list = field(default_factory=list)        # per Conv/Gemm: see _layer_table
    sensitivity: list = field(default_factory=list)   # rows of pruning.sensitivity
    curve: list = field(default_factory=list)         # uniform pruning: ratio, macs_removed, metric
    seconds: dict = field(default_factory=dict)       # per step

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """The table printed at the end of `sparsegate compress`."""
        fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
        lines = [f"{self.source} -> {self.output or '(not written)'}",
                 f"  {'':22} {'before':>14} {'after':>14} {'ratio':>8}",
                 f"  {'MACs':22} {self.macs_before:>14,} {self.macs_after:>14,} "
                 f"{self.macs_after / max(self.macs_before, 1):>8.3f}",
                 f"  {'bytes (.sgm)':22} {self.bytes_before:>14,} {self.bytes_after:>14,} "
                 f"{self.bytes_after / max(self.bytes_before, 1):>8.3f}"]
        if self.bytes_onnx:
            lines.append(f"  {'bytes vs ONNX':22} {self.bytes_onnx:>14,} {self.bytes_after:>14,} "
                         f"{self.bytes_after / self.bytes_onnx:>8.3f}")
        if self.metric_before is not None:
            lines.append(f"  {self.metric_name[:22]:22} {fmt(self.metric_before):>14} {fmt(self.metric_after):>14}")
        changed = [r for r in self.layers if r["macs_after"] != r["macs_before"] or r["encoding"] != "float32"
                   or r["density"] < 1.0]
        if changed:
            lines.append(f"\n  {'layer':44} {'channels':>11} {'MACs kept':>9} {'weights':>8} {'density':>7}")
            for r in changed:
                lines.append(f"  {r['name'][-44:]:44} {r['out_before']:>5}→{r['out_after']:<5} "
                             f"{r['macs_after'] / max(r['macs_before'], 1):>9.3f} {r['encoding']:>8} "
                             f"{r['density']:>7.3f}")
        return "\n".join(lines)


def _bar(enabled: bool, desc: str):
    if not enabled:
        return None
    return lambda items: tqdm(items, desc=desc, leave=False)


def _import(src, metadata) -> tuple[Graph, str, int | None]:
    from .conversion import convert  # onnx: needed only for conversion, not to run models
    if isinstance(src, Graph):
        return src, src.metadata.get("source", "<graph>"), None
    meta = dict(metadata or {})
    if isinstance(src, (str, os.PathLike)) and not os.path.exists(src):
        if str(src) not in zoo.names():
            raise InputError(f"{src}: no such file (and not a zoo model: {', '.join(zoo.names())})")
        meta = {**zoo.info(str(src)), **meta}
        src = zoo.fetch(str(src))
    graph = convert(src, metadata=meta)
    size = os.path.getsize(src) if isinstance(src, (str, os.PathLike)) else None
    return graph, str(src) if size else "<onnx model>", size


def _metric(original: Graph, samples, eval_fn, progress: bool):
    """(name, evaluate(graph) -> float) for the chosen metric."""
    if eval_fn is not None:
        def evaluate(graph):
            with Session(model_bytes(graph)) as sess:
                return float(eval_fn(sess))
        return "accuracy", evaluate
    if not samples:
        return None, None
    ref = run_outputs(original, samples, _bar(progress, "reference outputs"))
    if ref.reshape(len(ref), -1).shape[1] > 1 and len(original.outputs) == 1 and ref.ndim == 2:
        return "top-1 agreement", lambda g: top1_agreement(ref, run_outputs(g, samples))
    return "cosine similarity", lambda g: cosine_similarity(ref, run_outputs(g, samples))


def _layer_table(before: Graph, after: Graph) -> list[dict]:
    """One row per Conv/Gemm of `before`, matched by name in `after` (whatever op the passes
    turned it into: ConvInt8, SparseConv, …). Weights: the largest constant input."""
    now = {n.name: n for n in after.nodes}
    rows = []
    for prev in before.nodes:
        node = now.get(prev.name)
        if prev.op not in _WEIGHTED or node is None:
            continue
        consts = [after.tensors[i].data for i in node.inputs if i and after.tensors[i].is_constant]
        w = max(consts, key=lambda a: a.size) if consts else None
        dense = int(np.prod(node.attrs["weight_shape"])) if "weight_shape" in node.attrs else \
            (w.size if w is not None else 1)
        rows.append({
            "name": node.name, "op": node.op,
            "macs_before": int(node_macs(before, prev)), "macs_after": int(node_macs(after, node)),
            "out_before": int(before.tensors[prev.outputs[0]].shape[1]),
            "out_after": int(after.tensors[node.outputs[0]].shape[1]),
            "encoding": "activation" if w is None else str(w.dtype) + (" sparse" if "Sparse" in node.op else ""),
            "weight_bytes_before": int(before.tensors[prev.inputs[1]].data.nbytes),
            "weight_bytes_after": int(sum(a.nbytes for a in consts)),
            "density": float(np.count_nonzero(w) / max(dense, 1)) if w is not None else 1.0,
        })
    return rows


def compress(src, dst=None, *, prune=None, sparsity=None, block=(1, 4), quantize=None, gate=None,
             calib=None, accuracy_budget=None, eval_fn=None, progress=True, criterion="activation", fold="linear",
             metadata=None, max_calib=256, stats_samples=64, sensitivity_ratios=(0.1, 0.25, 0.5),
             analyze=False) -> CompressReport:
    """Imports `src` (ONNX path, zoo name or IR Graph), runs the requested passes, writes `dst`
    (when given) and returns a `CompressReport`.

    prune: one ratio for every channel group, or {group name: ratio} (see passes.pruning).
    accuracy_budget: instead of `prune`, remove the most MACs with the metric at most this much
        below the uncompressed model's (0.01 = one point); needs `calib` (and/or `eval_fn`).
    criterion: "activation" ranks channels by the error they leave (needs calib), "l1" by the
        L1 norms of their filters.
    fold: how layers reading a removed channel compensate (needs calib): "linear" (its least-
        squares estimate from the kept channels), "mean" (its mean: bias folding only), "none".
    sparsity, block: block sparsity; quantize: e.g. "int8", "fp16"; gate: gate budget.
    calib: folder of images, .npz/.npy, array or iterable (see calibration.load_calibration);
        at most `max_calib` samples are used, `stats_samples` of them for channel statistics.
    analyze: also measure per-group sensitivity and a uniform-pruning curve (for the report).
    """
    if prune is not None and accuracy_budget is not None:
        raise InputError("pass either prune (fixed ratios) or accuracy_budget, not both")
    if fold not in ("linear", "mean", "none"):
        raise InputError(f"fold must be 'linear', 'mean' or 'none', got {fold!r}")
    if criterion not in ("activation", "l1"):
        raise InputError(f"criterion must be 'activation' or 'l1', got {criterion!r}")
    seconds = {}
    t = time.perf_counter()
    original, source, onnx_bytes = _import(src, metadata)
    seconds["import"] = time.perf_counter() - t
    samples = calibration.load_calibration(calib, original, limit=max_calib) if calib is not None else None
    if accuracy_budget is not None and samples is None and eval_fn is None:
        raise InputError("accuracy_budget needs calibration data (calib=...) or an eval_fn")
    metric_name, evaluate = _metric(original, samples, eval_fn, progress)
    metric_before = evaluate(original) if evaluate else None
    graph, plan, rows, curve = original, {}, [], []

    if prune is not None or accuracy_budget is not None or analyze:
        if criterion == "activation" and not samples:
            raise InputError("criterion 'activation' needs calibration data (calib=...); "
                             "pass criterion='l1' to prune without it")
        t = time.perf_counter()
        stats = None
        if samples:
            feeds = [{original.inputs[0]: x} for x in samples[:stats_samples]]
            stats = pruning.channel_stats(original, feeds, _bar(progress, "channel statistics"))
            if fold == "mean":
                stats = stats.without_covs()
        groups = pruning.channel_groups(original, stats.stds if criterion == "activation" and stats else None)
        if fold == "none":
            stats = None
        if (accuracy_budget is not None or analyze) and evaluate:
            rows = pruning_budget.sensitivity(original, evaluate, stats, groups, sensitivity_ratios,
                                       _bar(progress, "sensitivity"))
        if analyze and evaluate:
            base = graph_macs(original)
            bar, ratios = _bar(progress, "uniform curve"), (0.05, 0.1, 0.2, 0.3, 0.5)
            for r in (bar(ratios) if bar else ratios):
                p = pruning.prune(original, r, stats, groups)
                curve.append({"ratio": r, "macs_removed": base - graph_macs(p), "metric": evaluate(p)})
        if accuracy_budget is not None:
            plan, _ = pruning_budget.budget_plan(original, evaluate, rows, metric_before, accuracy_budget,
                                          stats, groups)
        elif prune is not None:
            plan = dict(prune) if isinstance(prune, dict) else {g.name: float(prune) for g in groups}
        if plan:
            graph = pruning.prune(original, plan, stats, groups)
        seconds["prune"] = time.perf_counter() - t
    if sparsity is not None:
        t = time.perf_counter()
        graph = block_sparsity.block_sparsify(  # not the first conv (default_layers): it costs the most
            graph, sparsity, block=tuple(block), layers=block_sparsity.default_layers(graph, tuple(block)))
        seconds["block_sparsity"] = time.perf_counter() - t
    if quantize is not None:
        t = time.perf_counter()
        graph = quantize_pass.quantize(graph, quantize, samples, runner=wasm_runner)
        seconds["quantize"] = time.perf_counter() - t
    if gate is not None:
        if samples is None:
            raise InputError("gate calibration needs calibration data (calib=...)")
        t = time.perf_counter()
        graph = gating.calibrate_gates(graph, samples, budget=gate, runner=wasm_runner)
        seconds["gate"] = time.perf_counter() - t

    blob = model_bytes(graph)
    if dst is not None:
        write_model(graph, dst)
    metric_after = evaluate(graph) if evaluate and graph is not original else metric_before
    return CompressReport(
        source=source, output=None if dst is None else os.fspath(dst),
        macs_before=graph_macs(original), macs_after=graph_macs(graph), bytes_onnx=onnx_bytes,
        bytes_before=len(model_bytes(original)), bytes_after=len(blob),
        metric_name=metric_name or "", metric_before=metric_before, metric_after=metric_after,
        options={"prune": prune, "accuracy_budget": accuracy_budget, "criterion": criterion, "fold": fold,
                 "sparsity": sparsity, "block": list(block), "quantize": quantize, "gate": gate,
                 "calib_samples": len(samples) if samples else 0},
        plan=plan, layers=_layer_table(original, graph), sensitivity=rows, curve=curve, seconds=seconds)
