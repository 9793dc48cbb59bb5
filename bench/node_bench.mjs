// sparsegate vs onnxruntime-web (wasm backend, one thread) in one Node process.
//
//   node bench/node_bench.mjs MODEL.sgm MODEL.onnx [--warmup 30] [--runs 20] [--seed 1]
//                             [--gate G] [--ort DIR]
//
// Both runtimes get the same seeded random input (uniform in [-1, 1)). Each warms up, then
// runs are interleaved (A, B, A, B, …) so that drift in machine load hits both alike.
// Prints JSON on stdout and a readable table on stderr. See bench/README.md.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { Session } from "../web/src/node.js";
import { rng } from "./bench_core.mjs";

const WEB = fileURLToPath(new URL("../web/", import.meta.url));

function parseArgs(argv) {
  const opts = { warmup: 30, runs: 20, seed: 1, gate: null, ort: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") opts.help = true;
    else if (a.startsWith("--")) {
      const key = a.slice(2), value = argv[++i];
      if (!(key in opts) || value === undefined) throw new Error(`unknown or incomplete option ${a}`);
      opts[key] = key === "ort" ? value : Number(value);
    } else opts.files.push(a);
  }
  return opts;
}


function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summary(times) {
  const s = [...times].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 1000) / 1000;
  return { runs: s.length, median_ms: r(quantile(s, 0.5)), p90_ms: r(quantile(s, 0.9)),
           min_ms: r(s[0]), mean_ms: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

function fileSize(path) {
  const bytes = readFileSync(path);
  return { path, bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
}

async function loadOrt(dir) {
  let dist;
  if (dir) dist = join(resolve(dir), "dist");
  else dist = dirname(createRequire(join(WEB, "package.json")).resolve("onnxruntime-web"));
  const ort = await import(pathToFileURL(join(dist, "ort.node.min.mjs")).href);
  const pkg = JSON.parse(readFileSync(join(dist, "..", "package.json"), "utf8"));
  return { ort: ort.default ?? ort, dist, version: pkg.version };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help || opts.files.length !== 2) {
    console.error("usage: node bench/node_bench.mjs MODEL.sgm MODEL.onnx [--warmup 30] [--runs 20] "
      + "[--seed 1] [--gate G] [--ort DIR]");
    process.exit(opts.help ? 0 : 2);
  }
  const [sgmPath, onnxPath] = opts.files;

  // sparsegate
  const sg = await Session.create(sgmPath, { backend: "wasm" });
  if (opts.gate !== null) sg.setGate(opts.gate);
  const input = sg.inputs[0];
  const next = rng(opts.seed);
  const data = Float32Array.from({ length: input.dims.reduce((n, d) => n * d, 1) }, () => next() * 2 - 1);
  const sgFeeds = { [input.name]: { data, dims: input.dims } };

  // onnxruntime-web
  const { ort, dist, version } = await loadOrt(opts.ort);
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const ortSession = await ort.InferenceSession.create(new Uint8Array(readFileSync(onnxPath)),
    { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const ortFeeds = { [ortSession.inputNames[0]]: new ort.Tensor("float32", data, [...input.dims]) };

  const runSg = async () => (await sg.run(sgFeeds))[sg.outputNames[0]].data;
  const runOrt = async () => (await ortSession.run(ortFeeds))[ortSession.outputNames[0]].data;
  const time = async (fn) => { const t0 = performance.now(); await fn(); return performance.now() - t0; };

  // Agreement of the first outputs, then warm-up, then interleaved timing.
  const [a, b] = [await runSg(), await runOrt()];
  let maxAbsDiff = a.length === b.length ? 0 : NaN;
  for (let i = 0; i < a.length && a.length === b.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
  for (let i = 0; i < opts.warmup; i++) await runSg();
  for (let i = 0; i < opts.warmup; i++) await runOrt();
  const tSg = [], tOrt = [];
  for (let i = 0; i < opts.runs; i++) {
    tSg.push(await time(runSg));
    tOrt.push(await time(runOrt));
  }
  const stats = sg.stats();
  sg.release();
  await ortSession.release?.();

  const sgSum = summary(tSg), ortSum = summary(tOrt);
  const result = {
    model: { sgm: fileSize(sgmPath), onnx: fileSize(onnxPath), input: { name: input.name, dims: input.dims } },
    settings: { warmup: opts.warmup, runs: opts.runs, seed: opts.seed, gate: opts.gate, threads: 1 },
    sparsegate: { ...sgSum, wasm: fileSize(fileURLToPath(new URL("../web/src/sparsegate.wasm", import.meta.url))),
                  macs_dense: stats.macsDense, macs_executed: stats.macsExecuted },
    onnxruntime_web: { ...ortSum, version, wasm: fileSize(join(dist, "ort-wasm-simd-threaded.wasm")) },
    ratio_median: Math.round((sgSum.median_ms / ortSum.median_ms) * 1000) / 1000,
    ratio_p90: Math.round((sgSum.p90_ms / ortSum.p90_ms) * 1000) / 1000,
    max_abs_diff_first_output: maxAbsDiff,
    host: { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length },
  };
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");

  const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
  const row = (cols) => cols.map((c, i) => String(c)[i ? "padStart" : "padEnd"](i ? 11 : 22)).join(" ");
  const lines = [
    `${sgmPath} vs ${onnxPath}  input ${input.name} [${input.dims.join(", ")}]  `
      + `${opts.runs} interleaved runs after ${opts.warmup} warm-up, 1 thread, ${result.host.cpu}`,
    row(["runtime", "median ms", "p90 ms", "min ms", "wasm", "wasm gz"]),
    row(["sparsegate", sgSum.median_ms.toFixed(2), sgSum.p90_ms.toFixed(2), sgSum.min_ms.toFixed(2),
      kb(result.sparsegate.wasm.bytes), kb(result.sparsegate.wasm.gzip_bytes)]),
    row([`onnxruntime-web ${version}`, ortSum.median_ms.toFixed(2), ortSum.p90_ms.toFixed(2),
      ortSum.min_ms.toFixed(2), kb(result.onnxruntime_web.wasm.bytes), kb(result.onnxruntime_web.wasm.gzip_bytes)]),
    `sparsegate / ort: median ${result.ratio_median}×, p90 ${result.ratio_p90}×;  `
      + `max |diff| of first output ${maxAbsDiff.toExponential(2)};  `
      + `MACs executed ${stats.macsExecuted.toExponential(3)} of ${stats.macsDense.toExponential(3)}`,
  ];
  process.stderr.write(lines.join("\n") + "\n");
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
