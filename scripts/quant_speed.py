"""int8 vs float32 MobileNetV2 speed in sparsegate: writes both .sgm files, then one Node run
(scripts/quant_speed.mjs: same input, 30 warm-up runs each, 20 interleaved timed runs, medians).

    python3 scripts/quant_speed.py [--calib 64] [--warmup 30] [--runs 20] [--out DIR]
"""
from __future__ import annotations

import argparse
import pathlib
import subprocess
import tempfile

from sparsegate import convert, zoo
from sparsegate.compression.calibration import photo_inputs
from sparsegate.format import write_model
from sparsegate.passes.quantize import quantize
from sparsegate.compression.runner import wasm_runner

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calib", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", default=None, help="folder for the .sgm files (default: a temporary one)")
    args = ap.parse_args()
    info = zoo.info("mobilenetv2")
    g = convert(zoo.fetch("mobilenetv2"), metadata=info)
    q = quantize(g, "int8", photo_inputs(info["preprocess"], args.calib, seed=1), runner=wasm_runner)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(args.out or tmp)
        write_model(g, out / "mobilenetv2_fp32.sgm")
        write_model(q, out / "mobilenetv2_int8.sgm")
        subprocess.run(["node", str(ROOT / "scripts" / "quant_speed.mjs"), str(out / "mobilenetv2_fp32.sgm"),
                        str(out / "mobilenetv2_int8.sgm"), "--warmup", str(args.warmup),
                        "--runs", str(args.runs)], check=True)


if __name__ == "__main__":
    main()
