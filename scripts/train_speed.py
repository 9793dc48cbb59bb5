#!/usr/bin/env python3
"""Speed of a gated model against its dense original in sparsegate, in one Node process:
each of --rounds rounds times --runs single-image inferences of each model (interleaved, same
inputs); reports the median time per inference and the ratio.

    python scripts/train_speed.py tests/fixtures/fashion_gated.sgm     # vs the zoo's fashion_cnn
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))

JS = r"""
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [lib, dense, gated, inputs, roundsArg, runsArg] = process.argv.slice(2);
const [rounds, runs] = [Number(roundsArg), Number(runsArg)];
const { Session } = await import(pathToFileURL(lib).href);
const x = new Float32Array(readFileSync(inputs).buffer.slice(0));
const opts = { backend: "wasm", threads: 1 };
const sessions = { dense: await Session.create(new Uint8Array(readFileSync(dense)), opts),
                   gated: await Session.create(new Uint8Array(readFileSync(gated)), opts) };
const n = x.length / 784;
const times = { dense: [], gated: [] };
for (const name of ["dense", "gated"]) await sessions[name].run({ input: { data: x.subarray(0, 784), dims: [1, 1, 28, 28] } });
for (let r = 0; r < rounds; r++) {
  for (const name of ["dense", "gated"]) {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const k = (r * runs + i) % n;
      await sessions[name].run({ input: { data: x.subarray(k * 784, (k + 1) * 784), dims: [1, 1, 28, 28] } });
    }
    times[name].push((performance.now() - t0) / runs);
  }
}
const stats = sessions.gated.stats();
process.stdout.write(JSON.stringify({ times, macs_dense: stats.macsDense ?? stats.macs_dense,
                                      macs_executed: stats.macsExecuted ?? stats.macs_executed }) + "\n");
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gated", type=pathlib.Path)
    ap.add_argument("--dense", type=pathlib.Path, help="default: the zoo's fashion_cnn converted")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    import numpy as np
    import sparsegate
    from sparsegate import zoo
    from sparsegate.zoo import fashion_mnist
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        dense = args.dense or tmp / "dense.sgm"
        if args.dense is None:
            sparsegate.convert(zoo.fetch("fashion_cnn"), dense, metadata=zoo.info("fashion_cnn"))
        x, _ = fashion_mnist.load_inputs("test")
        (tmp / "x.bin").write_bytes(np.ascontiguousarray(x[:500], "<f4").tobytes())
        (tmp / "speed.mjs").write_text(JS)
        out = subprocess.run(["node", str(tmp / "speed.mjs"), str(ROOT / "web" / "src" / "index.js"),
                              str(dense), str(args.gated), str(tmp / "x.bin"), str(args.rounds), str(args.runs)],
                             capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr)
    r = json.loads(out.stdout)
    med = {k: float(np.median(v)) for k, v in r["times"].items()}
    result = {"dense_ms": round(med["dense"], 4), "gated_ms": round(med["gated"], 4),
              "speedup": round(med["dense"] / med["gated"], 2), "rounds": args.rounds, "runs": args.runs,
              "last_run_macs": [r["macs_executed"], r["macs_dense"]],
              "command": " ".join(["python scripts/train_speed.py", *sys.argv[1:]])}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
