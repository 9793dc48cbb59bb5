"""Gated-inference speed (docs/gating.md): MobileNetV2 with every 1×1 conv gated and YOLOv8n
with every group-1 conv but the first gated (heuristic gate, expected-value fill, sparsity 1),
timed at knob 0 (dense) and 0.5 (half the channels of each gated layer skipped), interleaved
in one process, in CPython (wasmtime) and Node (V8), with the MAC counter per layer.

    python3 scripts/bench_gating.py [--runs 20] [--models mobilenetv2 yolov8n] [--json out.json]
    python3 scripts/bench_gating.py --profile [--reps 10]   # per-op time in Node (runRange)
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pytools"))

from sparsegate.tools.gating_bench import (format_profile, format_report, gate_profile_node, gate_speed,  # noqa: E402
                                    gate_speed_node, speed_model)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--models", nargs="+", default=["mobilenetv2", "yolov8n"])
    ap.add_argument("--gates", nargs="+", type=float, default=[0.0, 0.5])
    ap.add_argument("--hosts", nargs="+", default=["cpython", "node"])
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--profile", action="store_true", help="per-op time in Node instead of the speed runs")
    ap.add_argument("--reps", type=int, default=10, help="profile rounds (median per node)")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            path = Path(tmp) / f"{name}_gated.sgm"
            info = speed_model(name, path)
            print(f"{name}: {info['layers']} convs gated, {100 * info['gated_macs_fraction']:.1f}% "
                  f"of dense MACs in gated layers")
            if args.profile:
                prof = gate_profile_node(path, gates=tuple(args.gates), reps=args.reps, warmup=30)
                print(format_profile(name, prof), flush=True)
                results[f"{name}/profile"] = prof
                continue
            for host in args.hosts:
                if host == "cpython":
                    res = gate_speed(path, gates=tuple(args.gates), runs=args.runs, warmup=5)
                else:
                    res = gate_speed_node(path, gates=tuple(args.gates), runs=args.runs, warmup=30)
                print(format_report(name, res), flush=True)
                results[f"{name}/{host}"] = res
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
