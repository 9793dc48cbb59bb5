"""Speed of gated inference: the same `.sgm` at several knob values, interleaved in one
process (CPython through wasmtime, or Node), median of many runs, with the runtime's MAC
counter (docs/gating.md).

    from sparsegate.tools.gating_bench import gate_speed, speed_model
    speed_model("mobilenetv2", "/tmp/m.sgm")      # every 1×1 conv gated at sparsity 1
    gate_speed("/tmp/m.sgm", gates=(0, 0.5), runs=20)
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from .. import zoo
from ..format import model_bytes, write_model
from ..macs import graph_macs, node_macs
from ..passes.gating import add_gates, gateable_convs
from ..runtime import Session

NODE_SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "gate_speed.mjs"  # the checkout's


def speed_model(name: str, dst, sparsity: float = 1.0) -> dict:
    """Converts zoo model `name` with a heuristic gate (expected-value fill) at `sparsity` on
    the layers the speed check gates: MobileNetV2's 1×1 convs (not the first conv, not the
    depthwise ones); any other model's group-1 convs but the first. Writes `dst`; returns
    {"layers": n gated, "gated_macs_fraction": of the dense MACs}."""
    from ..compression.conversion import convert  # onnx: needed only for conversion
    graph = convert(zoo.fetch(name), metadata=zoo.info(name))
    layers = gateable_convs(graph, pointwise_only=(name == "mobilenetv2"))
    gated = add_gates(graph, {n: sparsity for n in layers})
    write_model(gated, dst)
    nodes = {n.name: n for n in graph.nodes}
    return {"layers": len(layers),
            "gated_macs_fraction": sum(node_macs(graph, nodes[n]) for n in layers) / graph_macs(graph)}


def _feeds(inputs: list[dict], seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {i["name"]: rng.uniform(0, 1, i["shape"]).astype(np.float32) for i in inputs}


def _layer_table(stats: dict, top: int) -> list[dict]:
    rows = [{"name": l["name"], "op": l["op"], "macs_dense": l["macs_dense"],
             "macs_executed": l["macs_executed"]} for l in stats["layers"] if l["macs_dense"] > 0]
    rows.sort(key=lambda r: -r["macs_dense"])
    return rows[:top]


def gate_speed(sgm_path, gates=(0, 0.5), runs: int = 20, warmup: int = 5, top_layers: int = 10,
               feeds: dict | None = None) -> dict:
    """Times `sgm_path` in CPython (wasmtime) at each knob in `gates`, interleaved: every round
    runs each knob once (order rotating), `runs` rounds after `warmup`. Returns {"host",
    "runs", "gates": {g: {"median_ms", "min_ms", "macs_dense", "macs_executed",
    "executed_fraction", "layers": the `top_layers` largest layers' MACs}}, "speedup": median
    at the first knob / median at each knob}."""
    sess = Session(os.fspath(sgm_path))
    feeds = feeds or _feeds(sess.inputs)
    times = {g: [] for g in gates}
    stats = {}
    for r in range(warmup + runs):
        order = list(gates)[r % len(gates):] + list(gates)[:r % len(gates)]
        for g in order:
            sess.set_gate(g)
            t0 = time.perf_counter()
            sess.run(feeds)
            dt = (time.perf_counter() - t0) * 1e3
            if r >= warmup:
                times[g].append(dt)
            stats[g] = sess.stats()
    sess.close()
    return _summary("cpython-wasmtime", runs, gates, times, stats, top_layers)


def _summary(host, runs, gates, times, stats, top_layers) -> dict:
    out = {"host": host, "runs": runs, "gates": {}}
    for g in gates:
        st = stats[g]
        dense = st.get("macs_dense", st.get("macsDense"))
        executed = st.get("macs_executed", st.get("macsExecuted"))
        layers = [{"name": l["name"], "op": l["op"],
                   "macs_dense": l.get("macs_dense", l.get("macsDense")),
                   "macs_executed": l.get("macs_executed", l.get("macsExecuted"))} for l in st["layers"]]
        out["gates"][g] = {"median_ms": statistics.median(times[g]), "min_ms": min(times[g]),
                           "macs_dense": dense, "macs_executed": executed,
                           "executed_fraction": executed / dense if dense else 1.0,
                           "layers": _layer_table({"layers": layers}, top_layers)}
    base = out["gates"][gates[0]]["median_ms"]
    out["speedup"] = {g: base / out["gates"][g]["median_ms"] for g in gates}
    return out




def gate_speed_node(sgm_path, gates=(0, 0.5), runs: int = 20, warmup: int = 30,
                    top_layers: int = 10, node: str | None = None) -> dict:
    """As `gate_speed`, in Node (V8) through web/src/index.js; ≥ 30 warm-up rounds by default
    (V8 tiers up late)."""
    node = node or shutil.which("node")
    if not node:
        raise RuntimeError("node is not installed")
    data = _node_script(node, "speed", sgm_path, gates, runs, warmup)
    times = {g: data["times"][_js_key(g)] for g in gates}
    stats = {g: data["stats"][_js_key(g)] for g in gates}
    return _summary("node-v8", runs, gates, times, stats, top_layers)


def _node_script(node: str, mode: str, sgm_path, gates, rounds: int, warmup: int) -> dict:
    if not NODE_SCRIPT.exists():
        raise RuntimeError(f"{NODE_SCRIPT} is missing: the Node benchmarks run from the repository checkout")
    res = subprocess.run([node, os.fspath(NODE_SCRIPT), mode, os.fspath(sgm_path), json.dumps(list(gates)),
                          str(rounds), str(warmup)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _js_key(g) -> str:
    """How JSON.stringify names an object key made from number g."""
    return str(int(g)) if float(g).is_integer() else repr(float(g))


def format_report(name: str, res: dict) -> str:
    lines = [f"{name} [{res['host']}, median of {res['runs']} interleaved runs]"]
    for g, r in res["gates"].items():
        lines.append(f"  gate {g:<4}: {r['median_ms']:8.2f} ms  (min {r['min_ms']:.2f})  "
                     f"MACs {r['macs_executed'] / 1e6:8.1f} M of {r['macs_dense'] / 1e6:.1f} M "
                     f"({100 * r['executed_fraction']:.1f}%)  speedup {res['speedup'][g]:.2f}x")
    last = list(res["gates"])[-1]
    lines.append(f"  largest layers at gate {last} (MACs executed / dense):")
    for l in res["gates"][last]["layers"]:
        lines.append(f"    {l['name'][:40]:<40} {l['op']:<6} {l['macs_executed'] / 1e6:7.2f} / "
                     f"{l['macs_dense'] / 1e6:7.2f} M")
    return "\n".join(lines)


def gate_stats_lines(model: str, gate: float, top: int | None = None) -> list[str]:
    """`sparsegate bench --gate G`: runs `model` (an .sgm path, or a zoo name converted without
    gates) once at knob `gate` on a fixed random input and describes the runtime's counter:
    MACs executed vs dense overall, then per layer (the `top` largest by dense MACs; all when
    None)."""
    if Path(model).exists():
        sess = Session(str(model))
    else:
        from ..compression.conversion import convert  # onnx: needed only for conversion
        sess = Session(model_bytes(convert(zoo.fetch(model), metadata=zoo.info(model))))
    with sess:
        sess.set_gate(gate)
        sess.run(_feeds(sess.inputs))
        st = sess.stats()
    dense, done = st["macs_dense"], st["macs_executed"]
    lines = [f"{model} at gate {gate:g}: {done / 1e6:.1f} M of {dense / 1e6:.1f} M MACs executed "
             f"({100 * done / max(dense, 1):.1f}%)"]
    rows = _layer_table(st, top if top is not None else len(st["layers"]))
    width = max([len(r["name"]) for r in rows] + [4])
    for r in rows:
        frac = r["macs_executed"] / r["macs_dense"]
        lines.append(f"  {r['name']:<{width}}  {r['op']:<8} {r['macs_executed'] / 1e6:9.2f} M of "
                     f"{r['macs_dense'] / 1e6:9.2f} M  ({100 * frac:5.1f}%)")
    return lines




def gate_profile_node(sgm_path, gates=(0, 0.5), reps: int = 10, warmup: int = 30,
                      node: str | None = None) -> dict:
    """Per-op time in Node (V8): after `warmup` full runs per knob, each round runs the whole
    model at each knob, then each node alone (`Session.runRange(k, k + 1)`, i.e.
    sg_session_run_range) timed from JS; median over `reps` rounds. Returns {g: [{"name",
    "op", "ms", "macs_dense", "macs_executed"}, ...] in graph order}."""
    node = node or shutil.which("node")
    if not node:
        raise RuntimeError("node is not installed")
    data = _node_script(node, "profile", sgm_path, gates, reps, warmup)
    out = {}
    for g in gates:
        d = data[_js_key(g)]
        out[g] = [{"name": l["name"], "op": l["op"], "ms": statistics.median(t),
                   "macs_dense": l["macsDense"], "macs_executed": l["macsExecuted"]}
                  for l, t in zip(d["stats"]["layers"], d["times"])]
    return out


def format_profile(name: str, prof: dict, top: int = 12) -> str:
    """Per-op-type totals at each knob, then the `top` slowest nodes at the first knob."""
    gates = list(prof)
    lines = [f"{name}: per-op time in Node (median per node; sum of nodes)"]
    tot = {g: sum(r["ms"] for r in prof[g]) for g in gates}
    lines.append("  op type        " + "".join(f"  gate {g:<4} ms  " for g in gates))
    ops = sorted({r["op"] for r in prof[gates[0]]}, key=lambda o: -sum(r["ms"] for r in prof[gates[0]] if r["op"] == o))
    for o in ops:
        lines.append(f"  {o:<14}" + "".join(f"  {sum(r['ms'] for r in prof[g] if r['op'] == o):9.2f}    " for g in gates))
    lines.append(f"  {'total':<14}" + "".join(f"  {tot[g]:9.2f}    " for g in gates))
    lines.append(f"  slowest nodes at gate {gates[0]} (ms at each knob; MACs executed at the last):")
    order = sorted(range(len(prof[gates[0]])), key=lambda k: -prof[gates[0]][k]["ms"])[:top]
    for k in order:
        r = prof[gates[-1]][k]
        frac = r["macs_executed"] / r["macs_dense"] if r["macs_dense"] else 1.0
        lines.append(f"    {r['name'][:38]:<38} {r['op']:<6}" + "".join(f" {prof[g][k]['ms']:6.2f}" for g in gates)
                     + f"   {100 * frac:5.1f}% of {r['macs_dense'] / 1e6:.1f} M")
    return "\n".join(lines)
