"""The calibration runner: runs candidate graphs for the passes in the wasm runtime.

    outs = wasm_runner(graph, feeds)                         # one output dict per feed
    outs = wasm_runner(graph, feeds, extra_outputs=["t"])     # intermediate tensors too
    outs, frac = wasm_runner(graph, feeds, gate=0.5, stats=True)
    logits = run_outputs(graph, xs)                           # first output stacked: [N, ...]

Passes never import the runtime: they take a runner (`runner=wasm_runner`) with this signature,
`runner(graph, feeds, *, gate=1.0, extra_outputs=(), stats=False)`, so a test or another host
can pass its own.
"""
from __future__ import annotations

import copy

import numpy as np

from ..feeds import as_feeds
from ..format import model_bytes
from ..ir import Graph
from ..runtime import Session


def wasm_runner(graph: Graph, feeds: list[dict], *, gate: float = 1.0, extra_outputs=(), stats: bool = False,
                progress=None):
    """Runs `graph` on every feed in the wasm runtime at knob `gate`. `extra_outputs` (tensor
    names) come back beside the graph's outputs (an input among them from the feed). Returns
    the output dicts, and with `stats` also the mean fraction of the dense MACs executed."""
    extra = [t for t in dict.fromkeys(extra_outputs) if t not in graph.outputs and t not in graph.inputs]
    if extra:
        graph = copy.copy(graph)
        graph.outputs = list(graph.outputs) + extra
    outs, frac = [], []
    with Session(model_bytes(graph)) as sess:
        sess.set_gate(gate)
        for f in (progress(feeds) if progress else feeds):
            o = {k: np.array(v, copy=True) for k, v in sess.run(f).items()}
            o.update({k: f[k] for k in extra_outputs if k in f})
            outs.append(o)
            if stats:
                st = sess.stats()
                frac.append(st["macs_executed"] / max(st["macs_dense"], 1.0))
    return (outs, float(np.mean(frac))) if stats else outs


def run_outputs(model, inputs, progress=None) -> np.ndarray:
    """Runs `model` (a Graph, or `.sgm` bytes or path) on `inputs` (anything `as_feeds` takes);
    returns the first output of every run stacked: [N, ...]."""
    if isinstance(model, Graph):
        feeds, model = as_feeds(model, inputs, "inputs"), model_bytes(model)
    elif isinstance(inputs, np.ndarray):  # [N, ...]: N batch-1 runs
        feeds = [inputs[i:i + 1] for i in range(len(inputs))]
    else:
        feeds = list(inputs)
    with Session(model) as sess:
        first = sess.outputs[0]["name"]
        return np.concatenate([np.asarray(sess.run(f)[first]) for f in (progress(feeds) if progress else feeds)])
