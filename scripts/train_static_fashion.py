#!/usr/bin/env python3
"""Static compression of the zoo's Fashion-MNIST CNN with fine-tuning: gradual structured
pruning (distillation, filters held at zero), the pruned channels removed physically
(passes.pruning), int8 quantization (passes.quantize) and quantization-aware training; the final
accuracy is measured by the wasm runtime on the full 10,000-image test set.

    python scripts/train_static_fashion.py          # keep 12,20,28 of 16,32,64 channels, 30 + 2 epochs,
                                                    # random shifts of up to 1 pixel

Results: --json (default /tmp/sparsegate-train/fashion_static.json); the model: --sgm.
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
from sparsegate.macs import graph_macs  # noqa: E402
from sparsegate.zoo import fashion_mnist  # noqa: E402
from sparsegate.compression.runner import wasm_runner  # noqa: E402


def runtime_accuracy(graph, x, y) -> float:
    sess = sparsegate.Session(model_bytes(graph))
    name = graph.inputs[0]
    hits = sum(int(np.argmax(sess.run({name: x[i:i + 1]})[graph.outputs[0]])) == int(y[i]) for i in range(len(x)))
    return hits / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", default="12,20,28", help="output channels kept per conv")
    ap.add_argument("--epochs", type=float, default=30)
    ap.add_argument("--qat-epochs", type=float, default=2)
    ap.add_argument("--shift", type=int, default=1, help="random translations by up to N pixels while training")
    ap.add_argument("--no-labels", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--limit", type=int, help="train on the first N images and test on N (smoke runs)")
    ap.add_argument("--json", type=pathlib.Path, default=pathlib.Path("/tmp/sparsegate-train/fashion_static.json"))
    ap.add_argument("--sgm", type=pathlib.Path)
    args = ap.parse_args()

    import torch
    from sparsegate.passes.quantize import quantize
    from sparsegate.train import loop, qat, recipes

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    graph = sparsegate.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))
    xtr, ytr = fashion_mnist.load_inputs("train")
    xte, yte = fashion_mnist.load_inputs("test")
    if args.limit:
        xtr, ytr, xte, yte = xtr[:args.limit], ytr[:args.limit], xte[:args.limit], yte[:args.limit]
    x, y = torch.from_numpy(xtr), None if args.no_labels else torch.from_numpy(ytr)
    convs = [n for n in graph.nodes if n.op == "Conv"]
    keep = dict(zip([n.name for n in convs], [int(k) for k in args.keep.split(",")]))
    cfg = loop.FitConfig(epochs=args.epochs, batch=256, lr=2e-3, flip=True, shift=args.shift, seed=args.seed,
                          progress=not args.quiet)
    t0 = time.time()
    student, pruner = recipes.static_pruning(graph, x, y, cfg, keep)
    small, _ = recipes.remove_pruned(student.to_graph(), pruner.masks, xtr[:16])
    float_acc = loop.accuracy(recipes.frozen(small), torch.from_numpy(xte), torch.from_numpy(yte))
    int8 = quantize(small, "int8", xtr[:512], runner=wasm_runner)
    ptq_acc = loop.accuracy(recipes.frozen(int8), torch.from_numpy(xte), torch.from_numpy(yte))
    qcfg = loop.FitConfig(epochs=args.qat_epochs, batch=256, lr=2e-4, flip=True, shift=args.shift, seed=args.seed + 1,
                          progress=not args.quiet)
    final = qat.qat(small, int8, x, y, qcfg, teacher=recipes.frozen(graph))
    final.metadata = dict(graph.metadata)
    fp32_bytes, final_bytes = len(model_bytes(graph)), len(model_bytes(final))
    result = {
        "keep": keep, "epochs": args.epochs, "qat_epochs": args.qat_epochs, "shift": args.shift,
        "labels": not args.no_labels,
        "seed": args.seed, "original_accuracy_runtime": runtime_accuracy(graph, xte, yte),
        "pruned_float_accuracy": float_acc, "pruned_int8_ptq_accuracy": ptq_acc,
        "accuracy_runtime": runtime_accuracy(final, xte, yte),
        "macs_dense": graph_macs(graph), "macs_final": graph_macs(final),
        "fp32_sgm_bytes": fp32_bytes, "final_sgm_bytes": final_bytes,
        "train_seconds": round(time.time() - t0, 1), "ops": sorted({n.op for n in final.nodes}),
        "command": " ".join(["python scripts/train_static_fashion.py", *sys.argv[1:]]),
    }
    result["macs_removed"] = 1 - result["macs_final"] / result["macs_dense"]
    result["file_fraction"] = final_bytes / fp32_bytes
    result["drop_points"] = round(100 * (result["original_accuracy_runtime"] - result["accuracy_runtime"]), 2)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.sgm:
        args.sgm.write_bytes(model_bytes(final))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
