// int8 vs float32 MobileNetV2 in sparsegate, one Node process (scripts/quant_speed.py writes the
// two .sgm files and calls this).
//
//   node scripts/quant_speed.mjs FP32.sgm INT8.sgm [--warmup 30] [--runs 20] [--wasm PATH]
//
// Same seeded input for both; each warms up, then runs are interleaved (fp32, int8, fp32, …) so
// that load on a shared machine hits both alike. Prints JSON: medians and the ratio.
import { cpus } from "node:os";
import { Session } from "../web/src/index.js";

const opts = { warmup: 30, runs: 20, wasm: undefined, files: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith("--")) opts[argv[i].slice(2)] = argv[i] === "--wasm" ? argv[++i] : Number(argv[++i]);
  else opts.files.push(argv[i]);
}
if (opts.files.length !== 2) {
  console.error("usage: node scripts/quant_speed.mjs FP32.sgm INT8.sgm [--warmup 30] [--runs 20] [--wasm PATH]");
  process.exit(2);
}
const median = (t) => { const s = [...t].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
let seed = 1;
const next = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296; };
const sessions = [];
for (const f of opts.files) sessions.push(await Session.create(f, { backend: "wasm", threads: 1, wasm: opts.wasm }));
const input = sessions[0].inputs[0];
const data = Float32Array.from({ length: input.dims.reduce((n, d) => n * d, 1) }, () => next() * 2 - 1);
const feeds = { [input.name]: { data, dims: input.dims } };
const time = async (s) => { const t0 = performance.now(); await s.run(feeds); return performance.now() - t0; };
for (const s of sessions) for (let i = 0; i < opts.warmup; i++) await s.run(feeds);
const times = sessions.map(() => []);
for (let i = 0; i < opts.runs; i++) for (let k = 0; k < sessions.length; k++) times[k].push(await time(sessions[k]));
const [fp32, int8] = times.map(median);
const out = {
  fp32: { sgm: opts.files[0], median_ms: +fp32.toFixed(2) },
  int8: { sgm: opts.files[1], median_ms: +int8.toFixed(2) },
  speedup_fp32_over_int8: +(fp32 / int8).toFixed(3),
  warmup: opts.warmup, runs: opts.runs, threads: 1,
  host: { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length },
};
for (const s of sessions) s.release();
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
