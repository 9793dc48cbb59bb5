"""Create -> run -> release a session N times in CPython (wasmtime) and in Node, and print the
process's resident memory as it goes: a leak in the runtime or in either host shows as growth.

    python3 scripts/soak.py                 # 1000 cycles of the zoo's BlazeFace, both hosts
    python3 scripts/soak.py --cycles 200 --model tests/fixtures/tiny_cnn.sgm

Prints one JSON object: for each host, RSS in MiB after the warm-up cycle and at every tenth of
the run, and the growth from the first tenth to the end (warm-up fills allocator pools)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

NODE = r"""
import { readFileSync } from "node:fs";
import { Session } from "%(node_js)s";
const [path, cycles] = [process.argv[2], Number(process.argv[3])];
const bytes = readFileSync(path);
const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20 * 10) / 10;
const marks = {};
for (let i = 1; i <= cycles; i++) {
  const s = await Session.create(bytes);
  const feeds = {};
  for (const t of s.inputs) feeds[t.name] = { data: new Float32Array(t.dims.reduce((a, b) => a * b, 1)).fill(0.5), dims: t.dims };
  await s.run(feeds);
  s.release();
  if (i === 1 || i %% Math.max(1, Math.floor(cycles / 10)) === 0) { globalThis.gc?.(); marks[i] = rss(); }
}
console.log(JSON.stringify(marks));
"""


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc/self/status")


def python_cycles(path: Path, cycles: int) -> dict[int, float]:
    import gc

    from sparsegate.runtime import Session
    marks = {}
    for i in range(1, cycles + 1):
        sess = Session(str(path))
        sess.run({t["name"]: np.full(t["shape"], 0.5, np.float32) for t in sess.inputs})
        sess.close()
        if i == 1 or i % max(1, cycles // 10) == 0:
            gc.collect()
            marks[i] = _rss_mib()
    return marks


def node_cycles(path: Path, cycles: int) -> dict[int, float]:
    script = NODE % {"node_js": (ROOT / "web/src/node.js").as_posix()}
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "soak.mjs"
        js.write_text(script)
        out = subprocess.run(["node", "--expose-gc", str(js), str(path), str(cycles)],
                             capture_output=True, text=True, check=True).stdout
    return {int(k): v for k, v in json.loads(out).items()}


def summary(marks: dict[int, float]) -> dict:
    steps = sorted(marks)
    first = steps[1] if len(steps) > 1 else steps[0]
    return {"rss_mib": marks, "growth_mib": round(marks[steps[-1]] - marks[first], 1),
            "from_cycle": first, "to_cycle": steps[-1]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--model", type=Path, help="an .sgm (default: the zoo's BlazeFace, converted)")
    args = ap.parse_args(argv)
    path = args.model
    if path is None:
        from sparsegate.tools.serve import _zoo_model
        from sparsegate.zoo import cache_dir
        _zoo_model("blazeface")  # converts into the zoo cache once
        path = cache_dir() / "blazeface.sgm"
    result = {"model": str(path), "cycles": args.cycles,
              "python": summary(python_cycles(path, args.cycles)),
              "node": summary(node_cycles(path, args.cycles))}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
