#!/usr/bin/env python3
"""Block-sparse vs dense kernels in the wasm runtime (Node, V8), per layer shape and block.

    python3 scripts/bench_block_sparse.py [--rounds 15] [--sparsities 0.3,0.5,...] [--json out.json]

For each layer shape (MobileNetV2's 1×1 convs: 96→576 at 14×14, 320→1280 at 7×7, 32→192 at
56×56, and its 1280→1000 classifier Gemm) it writes one-node `.sgm` models: the dense layer
with random weights, and for each block shape (1×4, 4×1, 8×1, 1×1) and sparsity the same
layer magnitude-pruned and encoded as SparseConv / SparseGemm (forced, whatever the density).
One Node process (V8 with --no-liftoff, so every session runs optimized code from the start)
loads them all with the JS package. After a warm-up, each round measures every sparse variant
paired with the dense layer right before it; the ratio of a pair cancels drift in machine load,
the median over rounds removes bursts. Times are the process's CPU time (user + system), not
wall time, because the machine may be shared. Prints, per shape and block, the median ratio
sparse / dense at each sparsity and the lowest sparsity from which sparse stays faster (the
break-even). Single-threaded.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))

from sparsegate.format import write_model  # noqa: E402
from sparsegate.ir import Graph, Node, TensorInfo  # noqa: E402
from sparsegate.passes.block_sparsity import block_prune, encode_sparse  # noqa: E402

SHAPES = [  # (name, op, C/K, M/N, H, W)
    ("conv1x1 96->576 @14x14", "Conv", 96, 576, 14, 14),
    ("conv1x1 320->1280 @7x7", "Conv", 320, 1280, 7, 7),
    ("conv1x1 32->192 @56x56", "Conv", 32, 192, 56, 56),
    ("gemm 1280->1000 (batch 1)", "Gemm", 1280, 1000, 1, 1),
]
BLOCKS = [(1, 4), (4, 1), (8, 1), (1, 1)]

DRIVER = r"""
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [web, plan] = process.argv.slice(-2);
const { Session } = await import(pathToFileURL(web).href);
const cfg = JSON.parse(readFileSync(plan, "utf8"));
const med = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length;
                     return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const out = {};
for (const shape of cfg.shapes) {
  const sessions = [];
  for (const m of shape.models) sessions.push([m.key, await Session.create(readFileSync(m.path))]);
  const feed = { x: { data: Float32Array.from({ length: shape.numel }, (_, i) => Math.sin(i)), dims: shape.dims } };
  // CPU time of this process (user + system), not wall time: on a shared machine the wall
  // clock also counts the time other processes held the core.
  const time = async (s, n) => { const c0 = process.cpuUsage();
                                 for (let i = 0; i < n; i++) await s.run(feed);
                                 const c = process.cpuUsage(c0);
                                 return (c.user + c.system) / 1000 / n; };
  const dense = sessions[0][1];
  for (const [, s] of sessions) await time(s, 3); // warm-up
  const inner = Math.max(1, Math.round(cfg.min_ms / await time(dense, 5)));
  // Each sparse measurement is paired with a dense one right before it: the ratio of the pair
  // cancels slow drift in machine load; the median over rounds removes bursts.
  const ratios = Object.fromEntries(sessions.slice(1).map(([k]) => [k, []]));
  const denseTimes = [];
  for (let r = 0; r < cfg.rounds; r++)
    for (const [k, s] of sessions.slice(1)) {
      const td = await time(dense, inner), ts = await time(s, inner);
      denseTimes.push(td);
      ratios[k].push(ts / td);
    }
  out[shape.name] = { dense_ms: med(denseTimes), inner,
                      ratio: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, med(v)])) };
  for (const [, s] of sessions) s.release();
}
console.log(JSON.stringify(out));
"""


def layer_graph(op: str, c: int, m: int, h: int, w: int, seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    if op == "Conv":
        wt = rng.standard_normal((m, c, 1, 1)).astype(np.float32) * np.float32(1 / np.sqrt(c))
        t = {"x": TensorInfo("x", (1, c, h, w)), "W": TensorInfo("W", wt.shape, data=wt),
             "B": TensorInfo("B", (m,), data=rng.standard_normal(m).astype(np.float32)),
             "y": TensorInfo("y", (1, m, h, w))}
        node = Node("Conv", "layer", ["x", "W", "B"], ["y"],
                    dict(strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1,
                         activation="Clip", activation_params=[0.0, 6.0]))
    else:
        wt = rng.standard_normal((m, c)).astype(np.float32) * np.float32(1 / np.sqrt(c))
        t = {"x": TensorInfo("x", (1, c)), "W": TensorInfo("W", wt.shape, data=wt),
             "B": TensorInfo("B", (m,), data=rng.standard_normal(m).astype(np.float32)),
             "y": TensorInfo("y", (1, m))}
        node = Node("Gemm", "layer", ["x", "W", "B"], ["y"],
                    dict(transA=0, transB=1, alpha=1.0, beta=1.0, activation="",
                         activation_params=[]))
    return Graph([node], t, ["x"], ["y"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--min-ms", type=float, default=4.0, help="time per measurement (repeats)")
    ap.add_argument("--sparsities", default="0.3,0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--blocks", default=",".join(f"{a}x{b}" for a, b in BLOCKS))
    ap.add_argument("--shapes", default="", help="comma-separated indices into the shape list")
    ap.add_argument("--json", help="write the medians here")
    args = ap.parse_args(argv)
    sparsities = [float(s) for s in args.sparsities.split(",")]
    blocks = [tuple(int(v) for v in b.split("x")) for b in args.blocks.split(",")]
    shapes = [SHAPES[int(i)] for i in args.shapes.split(",")] if args.shapes else SHAPES
    with tempfile.TemporaryDirectory() as tmp:
        plan = {"min_ms": args.min_ms, "rounds": args.rounds, "shapes": []}
        for si, (name, op, c, m, h, w) in enumerate(shapes):
            g = layer_graph(op, c, m, h, w)
            models = []
            path = os.path.join(tmp, f"s{si}_dense.sgm")
            write_model(g, path)
            models.append({"key": "dense", "path": path})
            for blk in blocks:
                for s in sparsities:
                    gs = encode_sparse(block_prune(g, s, blk), blk, force=True)
                    assert gs.nodes[0].op.startswith("Sparse")
                    path = os.path.join(tmp, f"s{si}_{blk[0]}x{blk[1]}_{s}.sgm")
                    write_model(gs, path)
                    models.append({"key": f"{blk[0]}x{blk[1]}@{s}", "path": path})
            dims = [1, c, h, w] if op == "Conv" else [1, c]
            plan["shapes"].append({"name": name, "models": models, "dims": dims,
                                   "numel": int(np.prod(dims))})
        plan_path = os.path.join(tmp, "plan.json")
        pathlib.Path(plan_path).write_text(json.dumps(plan))
        res = subprocess.run(["node", "--no-liftoff", "--input-type=module", "-", str(ROOT / "web/src/index.js"),
                              plan_path], input=DRIVER, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            return 1
        medians = json.loads(res.stdout)
    print(f"time of the sparse layer / dense layer (< 1: sparse is faster): median over "
          f"{args.rounds} rounds of (dense, sparse) pairs; {os.cpu_count()} CPU(s)")
    head = "".join(f"{s:>7.0%}" for s in sparsities)
    for name, _, *_ in shapes:
        t = medians[name]
        print(f"\n{name}: dense {t['dense_ms']:.3f} ms CPU\n  block {head}  break-even")
        for blk in blocks:
            ratios = [t["ratio"][f"{blk[0]}x{blk[1]}@{s}"] for s in sparsities]
            even = next((s for i, s in enumerate(sparsities) if all(r < 1 for r in ratios[i:])), None)
            print(f"  {blk[0]}x{blk[1]:<3}" + "".join(f"{r:7.2f}" for r in ratios) +
                  f"  {'>' + format(sparsities[-1], '.0%') if even is None else format(even, '.0%'):>9}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(medians, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
