"""Fashion-MNIST CNN: float32 vs quantized accuracy on the full 10,000-image test set, and file
sizes against the float32 ONNX (docs/compression.md, "Quantization").

    python3 scripts/quant_fashion.py [--calib 256] [--method minmax|percentile]

Calibrates on random training images; runs every model through the wasm runtime (wasmtime).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

import sparsegate as sg
from sparsegate import zoo
from sparsegate.format import model_bytes
from sparsegate.passes.quantize import quantize
from sparsegate.runtime import Session
from sparsegate.zoo import fashion_mnist
from sparsegate.compression.runner import wasm_runner


def accuracy(graph, x, y) -> float:
    with Session(model_bytes(graph)) as s:
        name = s.outputs[0]["name"]
        pred = np.array([s.run(x[i:i + 1])[name].argmax() for i in range(len(x))])
    return float((pred == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calib", type=int, default=256, help="training images used for calibration")
    ap.add_argument("--method", default="minmax", choices=["minmax", "percentile"])
    args = ap.parse_args()
    onnx = zoo.fetch("fashion_cnn")
    g = sg.convert(onnx, metadata=zoo.info("fashion_cnn"))
    xtr, _ = fashion_mnist.load_inputs("train")
    xte, yte = fashion_mnist.load_inputs("test")
    calib = xtr[np.random.default_rng(0).choice(len(xtr), args.calib, replace=False)]
    onnx_bytes = os.path.getsize(onnx)
    rows = [("fp32", g)]
    rows += [(m, quantize(g, m)) for m in ("fp16-weights", "int8-weights")]
    rows.append((f"int8 ({args.method})", quantize(g, "int8", calib, method=args.method, runner=wasm_runner)))
    base = None
    result = []
    print(f"{'encoding':22} {'accuracy':>9} {'drop (pts)':>10} {'bytes':>8} {'/ ONNX':>7}")
    for name, graph in rows:
        acc, size = accuracy(graph, xte, yte), len(model_bytes(graph))
        base = acc if base is None else base
        result.append({"encoding": name, "accuracy": acc, "drop_points": 100 * (base - acc),
                       "bytes": size, "fraction_of_onnx": size / onnx_bytes})
        print(f"{name:22} {100 * acc:8.2f}% {100 * (base - acc):10.2f} {size:8d} {size / onnx_bytes:7.1%}")
    print(f"fp32 ONNX: {onnx_bytes} bytes; {len(xte)} test images; calibration: {args.calib} training images")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
