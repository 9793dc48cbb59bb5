#!/usr/bin/env python3
"""Accuracy vs MACs removed for block sparsity (docs/compression.md, "Block sparsity").

    python3 scripts/block_sparse_curves.py fashion [--blocks 4x1,1x4,8x1]
    python3 scripts/block_sparse_curves.py mobilenetv2 [--n 300] [--blocks 4x1]

Every eligible layer but the first conv (group-1 convs, Gemm) gets the same block sparsity
(passes/block_sparsity.py: magnitude, L2 norm per block, no retraining); the model is encoded
(sparse where it pays) and run in the wasm runtime. fashion: accuracy on the full 10,000-image
Fashion-MNIST test set and the largest reduction within 1 point of the dense model.
mobilenetv2: top-1 agreement with the fp32 model on `n` real photos (scikit-image's, randomly
scaled, cropped and flipped: calibration.photo_inputs), on all of them and on those where fp32
is confident (top probability ≥ 0.5). "MACs removed" = MACs of zeroed weights / dense MACs of
the whole model.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))

from sparsegate import convert, zoo  # noqa: E402
from sparsegate.compression.calibration import photo_inputs  # noqa: E402
from sparsegate.compression.runner import run_outputs  # noqa: E402
from sparsegate.metrics import softmax, top1_agreement  # noqa: E402
from sparsegate.macs import graph_macs  # noqa: E402
from sparsegate.passes.block_sparsity import (block_prune, default_layers, encode_sparse,  # noqa: E402
                                              macs_removed)

SPARSITIES = [0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9]


def curve_points(graph, block, sparsities, evaluate):
    layers = default_layers(graph, block)  # not the first conv
    total = graph_macs(graph)
    rows = []
    for s in sparsities:
        pruned = block_prune(graph, s, block, layers)
        removed = sum(macs_removed(pruned, n)[1] for n in pruned.nodes if n.name in layers)
        sparse = encode_sparse(pruned, block, layers)
        n_sparse = sum(n.op.startswith("Sparse") for n in sparse.nodes)
        rows.append((s, removed / total, n_sparse, evaluate(sparse)))
        print(f"  {block[0]}x{block[1]} sparsity {s:4.0%}: MACs removed {removed / total:6.1%}, "
              f"{n_sparse}/{len(layers)} layers sparse, {rows[-1][3]}", flush=True)
    return rows


def fashion(blocks, sparsities):
    from sparsegate.zoo import fashion_mnist
    graph = convert(str(zoo.fetch("fashion_cnn")))
    x, _ = fashion_mnist.load_inputs("test")
    labels = fashion_mnist.load("test")[1]

    def accuracy(g):
        return float((run_outputs(g, x).argmax(axis=1) == labels).mean())

    base = accuracy(graph)
    print(f"fashion_cnn dense: accuracy {base:.2%} on {len(labels)} test images "
          f"({graph_macs(graph) / 1e6:.2f} M MACs)")
    for block in blocks:
        rows = curve_points(graph, block, sparsities, accuracy)
        ok = [r for r in rows if base - r[3] <= 0.01]
        best = max(ok, key=lambda r: r[1]) if ok else None
        print(f"  {block[0]}x{block[1]}: largest reduction within 1 point: " +
              (f"{best[1]:.1%} of MACs at sparsity {best[0]:.0%} (accuracy {best[3]:.2%}, "
               f"drop {100 * (base - best[3]):.2f} points)" if best else "none"))


def mobilenet(blocks, sparsities, n):
    graph = convert(str(zoo.fetch("mobilenetv2")), metadata=zoo.info("mobilenetv2"))
    x = photo_inputs(zoo.info("mobilenetv2")["preprocess"], n)
    ref = run_outputs(graph, x)
    confident = softmax(ref).max(axis=1) >= 0.5
    print(f"mobilenetv2 dense: {graph_macs(graph) / 1e6:.1f} M MACs; {n} photo inputs, "
          f"{confident.sum()} confident (fp32 top probability ≥ 0.5)")

    def agreement(g):
        out = run_outputs(g, x)
        return f"agreement {top1_agreement(ref, out):.1%} (confident {top1_agreement(ref, out, confident):.1%})"

    for block in blocks:
        curve_points(graph, block, sparsities, agreement)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=["fashion", "mobilenetv2"])
    ap.add_argument("--blocks", default="4x1")
    ap.add_argument("--sparsities", default=",".join(map(str, SPARSITIES)))
    ap.add_argument("--n", type=int, default=300, help="mobilenetv2: photo inputs")
    args = ap.parse_args(argv)
    blocks = [tuple(int(v) for v in b.split("x")) for b in args.blocks.split(",")]
    sparsities = [float(s) for s in args.sparsities.split(",")]
    if args.model == "fashion":
        fashion(blocks, sparsities)
    else:
        mobilenet(blocks, sparsities, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
