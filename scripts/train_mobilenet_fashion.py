#!/usr/bin/env python3
"""A compact MobileNetV2-style network on Fashion-MNIST (inverted residuals, depthwise convs,
ReLU6) — the class of model where post-training gating fails — trained dense, then fine-tuned
with learned gates on its pointwise convs by the same distillation recipe as the Fashion CNN.

    python scripts/train_mobilenet_fashion.py                 # dense training, then gates
    python scripts/train_mobilenet_fashion.py --stage gated   # gates only (dense model exists)

Writes OUT_DIR/fashion_mobilenet.onnx (dense), fashion_mobilenet_{dense,gated}.json and the gated
.sgm (default OUT_DIR /tmp/sparsegate-train). Needs torch and dataset-fashion-mnist.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))

import sparsegate  # noqa: E402
from sparsegate.format import write_model  # noqa: E402
from sparsegate.zoo import fashion_mnist  # noqa: E402


def build(torch):
    nn = torch.nn

    def cbr(cin, cout, k=1, s=1, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        return layers + ([nn.ReLU6()] if act else [])

    class Block(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            mid = cin * expand
            self.body = nn.Sequential(*cbr(cin, mid), *cbr(mid, mid, 3, stride, groups=mid),
                                      *cbr(mid, cout, act=False))
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.body(x)
            return x + y if self.residual else y

    return nn.Sequential(*cbr(1, 16, 3), Block(16, 24, 2, 4), Block(24, 24, 1, 4), Block(24, 32, 2, 4),
                         Block(32, 32, 1, 4), *cbr(32, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(128, 10))


def train_dense(args, torch, out_dir):
    from sparsegate.train.loop import FitConfig, accuracy, fit
    x, y = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("train"))
    xt, yt = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("test"))
    model = build(torch)
    t0 = time.time()
    fit(model, None, x, y, FitConfig(epochs=args.dense_epochs, batch=128, lr=3e-3, flip=True, seed=args.seed,
                                     progress=not args.quiet))
    model.eval()
    onnx_path = out_dir / "fashion_mobilenet.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), str(onnx_path), input_names=["input"],
                          output_names=["logits"], opset_version=13, do_constant_folding=True, dynamo=False)
    rec = {"accuracy": accuracy(model, xt, yt), "epochs": args.dense_epochs, "seed": args.seed,
           "train_seconds": round(time.time() - t0, 1), "onnx": str(onnx_path)}
    (out_dir / "fashion_mobilenet_dense.json").write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(rec))


def train_gated(args, torch, out_dir):
    from sparsegate.train import gates, loop, recipes
    graph = sparsegate.convert(out_dir / "fashion_mobilenet.onnx", metadata={**sparsegate.zoo.info("fashion_cnn"),
                                                                              "name": "fashion_mobilenet"})
    x, y = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("train"))
    xt, yt = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("test"))
    # The expand convs (a 1×1 conv read by a depthwise conv): a channel they skip is a zero plane,
    # so the depthwise conv outputs a constant for it and the projection folds that into its bias
    # — the whole inverted residual shrinks, and the residual stream is left alone.
    depthwise_inputs = {n.inputs[0] for n in graph.nodes if n.op == "Conv" and int(n.attrs["group"]) > 1}
    layers = [name for name in gates.gateable(graph, min_in_channels=16)
              if next(n for n in graph.nodes if n.name == name).outputs[0] in depthwise_inputs]
    cfg = loop.FitConfig(epochs=args.epochs, batch=256, lr=2e-3, flip=True, seed=args.seed,
                         progress=not args.quiet)
    t0 = time.time()
    if args.dense_baseline:
        student = recipes.dense(graph, x, y, cfg)
        result = {"mode": "dense"}
    else:
        student = recipes.learned_gates(graph, x, y, cfg, args.sparsity, layers=layers)
        stats = gates.gate_statistics(student, xt)
        stats.pop("skipped_per_input")
        result = {"mode": "gated", "sparsity": args.sparsity, "layers_gated": layers, **stats}
        write_model(student.to_graph(), out_dir / "fashion_mobilenet_gated.sgm")
    result.update(original_accuracy=loop.accuracy(recipes.frozen(graph), xt, yt),
                  accuracy=loop.accuracy(student, xt, yt), epochs=args.epochs,
                  train_seconds=round(time.time() - t0, 1),
                  command=" ".join(["python scripts/train_mobilenet_fashion.py", *sys.argv[1:]]))
    result["drop_vs_original_points"] = round(100 * (result["original_accuracy"] - result["accuracy"]), 2)
    name = "dense_finetuned" if args.dense_baseline else "gated"
    (out_dir / f"fashion_mobilenet_{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "layers"}, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["all", "dense", "gated"], default="all")
    ap.add_argument("--dense-epochs", type=float, default=4)
    ap.add_argument("--epochs", type=float, default=10)
    ap.add_argument("--sparsity", type=float, default=0.35)
    ap.add_argument("--dense-baseline", action="store_true", help="gated stage: fine-tune dense instead")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--out-dir", type=pathlib.Path, default=pathlib.Path("/tmp/sparsegate-train"))
    args = ap.parse_args()
    import torch
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.stage in ("all", "dense"):
        train_dense(args, torch, args.out_dir)
    if args.stage in ("all", "gated"):
        train_gated(args, torch, args.out_dir)


if __name__ == "__main__":
    main()
