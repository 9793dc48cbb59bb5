"""MobileNetV2: top-1 agreement of quantized vs float32 on real photos (crops, flips, scales),
on all inputs and on those where float32 is confident (top probability >= 0.5), and file sizes
against the float32 ONNX (docs/compression.md, "Quantization").

    python3 scripts/quant_mobilenet.py [--n 300] [--calib 64] [--method minmax|percentile]

Evaluation photos (seed 0) and calibration photos (seed 1) are different augmentations of
scikit-image's sample photos, preprocessed per zoo.info("mobilenetv2")["preprocess"]; every
model runs in the wasm runtime (wasmtime).
"""
from __future__ import annotations

import argparse
import json
import os

from sparsegate import convert, zoo
from sparsegate.compression.calibration import photo_inputs
from sparsegate.compression.runner import run_outputs
from sparsegate.metrics import softmax
from sparsegate.format import model_bytes
from sparsegate.passes.quantize import quantize
from sparsegate.compression.runner import wasm_runner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="evaluation inputs")
    ap.add_argument("--calib", type=int, default=64, help="calibration inputs")
    ap.add_argument("--method", default="minmax", choices=["minmax", "percentile"])
    ap.add_argument("--budget", type=float, default=None, help="accuracy budget (agreement drop on calibration)")
    args = ap.parse_args()
    info = zoo.info("mobilenetv2")
    onnx = zoo.fetch("mobilenetv2")
    g = convert(onnx, metadata=info)
    xs = photo_inputs(info["preprocess"], args.n, seed=0)
    calib = photo_inputs(info["preprocess"], args.calib, seed=1)
    ref = run_outputs(g, xs)
    confident = softmax(ref).max(axis=1) >= 0.5
    onnx_bytes = os.path.getsize(onnx)
    rows = [(m, quantize(g, m)) for m in ("fp16-weights", "int8-weights")]
    rows.append((f"int8 ({args.method})", quantize(g, "int8", calib, method=args.method, budget=args.budget, runner=wasm_runner)))
    print(f"{args.n} inputs, {int(confident.sum())} confident (fp32 top prob >= 0.5); "
          f"fp32 ONNX {onnx_bytes} bytes; calibration {args.calib} photos")
    print(f"{'encoding':22} {'agree all':>9} {'agree conf':>10} {'bytes':>9} {'/ ONNX':>7}")
    result = []
    for name, q in rows:
        out = run_outputs(q, xs)
        same = ref.argmax(axis=1) == out.argmax(axis=1)
        size = len(model_bytes(q))
        result.append({"encoding": name, "agreement_all": float(same.mean()),
                       "agreement_confident": float(same[confident].mean()), "bytes": size,
                       "fraction_of_onnx": size / onnx_bytes,
                       "fp32_layers": q.metadata["quantization"].get("fp32_layers")})
        print(f"{name:22} {same.mean():9.1%} {same[confident].mean():10.1%} {size:9d} {size / onnx_bytes:7.1%}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
