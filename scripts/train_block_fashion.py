#!/usr/bin/env python3
"""Block sparsity with recovery fine-tuning on the zoo's Fashion-MNIST CNN: the fraction of
zeroed 4×1 blocks of each layer (passes.block_sparsity's default layers: not the first conv)
rises gradually under distillation (+ labels), then `encode_sparse` stores the layers as
SparseConv/SparseGemm. Compared, at the same sparsity, with post-training block sparsity
(`block_sparsify`, no fine-tuning). Accuracy, MACs executed and file size are measured by the
wasm runtime on the full 10,000-image test set.

    python scripts/train_block_fashion.py                  # 80% of the blocks, 10 epochs

Results: --json (default /tmp/sparsegate-train/fashion_block.json); the model: --sgm.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))

import numpy as np  # noqa: E402

import sparsegate  # noqa: E402
from sparsegate import zoo  # noqa: E402
from sparsegate.format import model_bytes  # noqa: E402
from sparsegate.zoo import fashion_mnist  # noqa: E402


def measure(graph, x, y) -> dict:
    """Test accuracy, mean MACs executed per run (the runtime's counter) and `.sgm` bytes."""
    data = model_bytes(graph)
    sess = sparsegate.Session(data)
    name, hits, executed = graph.inputs[0], 0, 0.0
    for i in range(len(x)):
        hits += int(np.argmax(sess.run({name: x[i:i + 1]})[graph.outputs[0]])) == int(y[i])
        executed += sess.stats()["macs_executed"]
    return {"accuracy": hits / len(x), "macs_executed": executed / len(x),
            "macs_dense": sess.stats()["macs_dense"], "sgm_bytes": len(data)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sparsity", type=float, default=0.8, help="fraction of 4×1 blocks zeroed per layer")
    ap.add_argument("--epochs", type=float, default=10)
    ap.add_argument("--no-labels", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--limit", type=int, help="train on the first N images and test on N (smoke runs)")
    ap.add_argument("--json", type=pathlib.Path, default=pathlib.Path("/tmp/sparsegate-train/fashion_block.json"))
    ap.add_argument("--sgm", type=pathlib.Path)
    args = ap.parse_args()

    import torch
    from sparsegate.passes.block_sparsity import block_sparsify, default_layers, encode_sparse
    from sparsegate.train import loop, recipes

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    block = (4, 1)
    graph = sparsegate.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))
    xtr, ytr = fashion_mnist.load_inputs("train")
    xte, yte = fashion_mnist.load_inputs("test")
    if args.limit:
        xtr, ytr, xte, yte = xtr[:args.limit], ytr[:args.limit], xte[:args.limit], yte[:args.limit]
    plan = {name: args.sparsity for name in default_layers(graph, block)}
    cfg = loop.FitConfig(epochs=args.epochs, batch=256, lr=2e-3, flip=True, seed=args.seed, progress=not args.quiet)
    t0 = time.time()
    student = recipes.block_sparse(graph, torch.from_numpy(xtr), None if args.no_labels else torch.from_numpy(ytr),
                                   cfg, plan, block)
    tuned = encode_sparse(student.to_graph(), block)
    tuned.metadata = dict(graph.metadata)
    seconds = round(time.time() - t0, 1)
    result = {"block": list(block), "sparsity": plan, "epochs": args.epochs, "labels": not args.no_labels,
              "seed": args.seed, "original": measure(graph, xte, yte),
              "post_training": measure(block_sparsify(graph, plan, block), xte, yte),
              "fine_tuned": measure(tuned, xte, yte), "train_seconds": seconds,
              "ops": sorted({n.op for n in tuned.nodes}),
              "command": " ".join(["python scripts/train_block_fashion.py", *sys.argv[1:]])}
    for key in ("post_training", "fine_tuned"):
        r = result[key]
        r["drop_points"] = round(100 * (result["original"]["accuracy"] - r["accuracy"]), 2)
        r["macs_skipped"] = 1 - r["macs_executed"] / r["macs_dense"]
        r["file_fraction"] = r["sgm_bytes"] / result["original"]["sgm_bytes"]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.sgm:
        args.sgm.write_bytes(model_bytes(tuned))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
