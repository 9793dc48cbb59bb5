// The measurements of `sparsegate bench`, shared by Node (bench/node_suite.mjs) and Chromium
// (bench/page.html): no I/O of its own. A "runner" is one runtime with one model:
//   { name, async create(), async run() -> Float32Array (first output), release(), memoryBytes() }
// Everything is timed with performance.now() in the same process or page.

export function rng(seed) { // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded input, uniform in [-1, 1). */
export function seededInput(dims, seed = 1) {
  const next = rng(seed);
  return Float32Array.from({ length: dims.reduce((n, d) => n * d, 1) }, () => next() * 2 - 1);
}

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summary(times) {
  const s = [...times].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 1000) / 1000;
  return { runs: s.length, median_ms: r(quantile(s, 0.5)), p90_ms: r(quantile(s, 0.9)),
           min_ms: r(s[0]), mean_ms: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

// ---------------------------------------------------------------- wasm memory of each runtime

const memories = []; // { owner, memory }
let owner = null;
let patched = false;

/** Records every WebAssembly.Memory created or exported while `owner` is set, so that the
 * suite can report each runtime's wasm memory (linear memory never shrinks: its size after the
 * runs is the peak). Call once before loading any runtime. */
export function trackWasmMemory() {
  if (patched) return;
  patched = true;
  const W = WebAssembly;
  const Memory = W.Memory;
  const note = (m) => { if (owner && m instanceof Memory && !memories.some((e) => e.memory === m)) memories.push({ owner, memory: m }); };
  const noteExports = (inst) => { for (const v of Object.values(inst?.exports ?? {})) note(v); };
  function TrackedMemory(desc) { const m = new Memory(desc); note(m); return m; }
  TrackedMemory.prototype = Memory.prototype;
  W.Memory = TrackedMemory;
  const inst = W.instantiate.bind(W);
  W.instantiate = async (...a) => { const r = await inst(...a); noteExports(r.instance ?? r); return r; };
  if (W.instantiateStreaming) {
    const st = W.instantiateStreaming.bind(W);
    W.instantiateStreaming = async (...a) => { const r = await st(...a); noteExports(r.instance); return r; };
  }
}

export async function owned(name, fn) {
  const prev = owner;
  owner = name;
  try { return await fn(); } finally { owner = prev; }
}

let seq = 0;
/** A fresh owner key for one runner ("label#n"), so that sizes are per model. */
export function ownerKey(label) { return `${label}#${++seq}`; }

/** Bytes of the memories created while `key` loaded. A runtime that reuses one instance for
 * every session of the process or page (onnxruntime-web, the pthreads build) creates none for
 * later models: then the size of the instance its label created earlier (which never shrinks,
 * so it is the peak over every model run so far in this process or page). */
export function memoryBytes(key) {
  const sum = (list) => list.reduce((n, e) => n + e.memory.buffer.byteLength, 0);
  const own = memories.filter((e) => e.owner === key);
  if (own.length) return sum(own);
  const label = key.split("#")[0];
  return sum(memories.filter((e) => e.owner.split("#")[0] === label));
}

// ---------------------------------------------------------------- runners

/** sparsegate: `Session` from web/src/index.js, `model` a URL, path or bytes. */
export function sparsegateRunner(Session, model, { threads = 1, label = "sparsegate", wasmThreads } = {}) {
  let s, feeds, outName;
  const key = label ? ownerKey(label) : null;
  return {
    name: label,
    async create(input) {
      const make = () => Session.create(model, { threads, ...(wasmThreads ? { wasmThreads } : {}) });
      s = await (key ? owned(key, make) : make());
      const info = s.inputs[0];
      feeds = { [info.name]: { data: input ?? seededInput(info.dims), dims: info.dims } };
      outName = s.outputNames[0];
      return { input: info, backendInfo: s.backendInfo };
    },
    async run() { return (await s.run(feeds))[outName].data; },
    stats() { return s.stats(); },
    release() { s.release(); },
    memoryBytes: () => memoryBytes(key),
  };
}

/** onnxruntime-web, wasm backend. `ort.env.wasm.numThreads` applies to the whole process or
 * page and is fixed by the first session, so one process or page measures one thread count. */
export function ortRunner(ort, modelBytes, { label = "onnxruntime-web" } = {}) {
  let sess, feeds, outName;
  const key = ownerKey(label);
  return {
    name: label,
    async create(input, dims) {
      sess = await owned(key, () => ort.InferenceSession.create(modelBytes,
        { executionProviders: ["wasm"], graphOptimizationLevel: "all" }));
      feeds = { [sess.inputNames[0]]: new ort.Tensor("float32", input, [...dims]) };
      outName = sess.outputNames[0];
    },
    async run() { return (await sess.run(feeds))[outName].data; },
    release() { sess.release?.(); },
    memoryBytes: () => memoryBytes(key),
  };
}

const time = async (fn) => { const t0 = performance.now(); await fn(); return performance.now() - t0; };

function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return null;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Steady-state latency of several runners on the same seeded input of `dims`, interleaved:
 * each warms up `warmup` times (round robin, so V8's background tier-up happens for all), then
 * `runs` rounds of one timed run each. `settleMs` pauses before each timed run: a threaded
 * runtime's workers keep spinning for a while after a run (onnxruntime-web's for ~20 ms),
 * which would steal the cores from whichever runner goes next. */
export async function interleaved(runners, dims, { warmup = 30, runs = 20, seed = 1, settleMs = 0 } = {}) {
  const input = seededInput(dims, seed);
  const created = {};
  for (const r of runners) created[r.name] = await r.create(input, dims);
  const outs = {};
  for (const r of runners) outs[r.name] = await r.run();
  for (let i = 0; i < warmup; i++) for (const r of runners) await r.run();
  const times = Object.fromEntries(runners.map((r) => [r.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const r of runners) {
      if (settleMs > 0) await sleep(settleMs);
      times[r.name].push(await time(() => r.run()));
    }
  }
  const result = { dims, seed, warmup, runs, runtimes: {} };
  for (const r of runners) {
    const stats = r.stats ? r.stats() : null;
    result.runtimes[r.name] = {
      ...summary(times[r.name]),
      times_ms: times[r.name].map((t) => Math.round(t * 1000) / 1000),
      wasm_memory_bytes: r.memoryBytes(),
      max_abs_diff_vs_first: maxAbsDiff(outs[r.name], outs[runners[0].name]),
      ...(created[r.name]?.backendInfo ? { backend: created[r.name].backendInfo } : {}),
      ...(stats ? { macs: stats.macsDense, arena_bytes: stats.arenaBytes } : {}),
    };
  }
  for (const r of runners) await r.release();
  return result;
}

/** Per-layer profile: each entry {name, op, macs, model} is a one-node model (written by
 * sparsegate.tools.bench); its median time, and GFLOP/s = 2·MACs / time. */
export async function layerProfile(Session, layers, { warmup = 10, runs = 15, threads = 1 } = {}) {
  const out = [];
  for (const layer of layers) {
    const r = sparsegateRunner(Session, layer.model, { threads, label: null });
    await r.create();
    for (let i = 0; i < warmup; i++) await r.run();
    const t = [];
    for (let i = 0; i < runs; i++) t.push(await time(() => r.run()));
    r.release();
    const s = summary(t);
    const gf = (ms) => Math.round((2 * layer.macs / (ms * 1e6)) * 100) / 100;
    // gflops from the median; gflops_best from the fastest run, comparable with the peak's best.
    out.push({ name: layer.name, op: layer.op, shape: layer.shape, macs: layer.macs, median_ms: s.median_ms,
               min_ms: s.min_ms, gflops: gf(s.median_ms), gflops_best: gf(s.min_ms) });
  }
  return out;
}

/** The SIMD peak of this engine: bench/peak.wasm (bench/peak.c) runs `chains` independent
 * f32x4 mul+add chains for `iters` iterations; 8 flops per chain and iteration. Best of `reps`
 * short runs: on a shared machine the best run is the one no other process interrupted. */
export async function simdPeak(wasmBytes, { iters = 1_000_000, reps = 40 } = {}) {
  const { instance } = await WebAssembly.instantiate(wasmBytes, {});
  const ex = instance.exports;
  ex._initialize?.();
  const chains = ex.peak_chains();
  const rows = [];
  for (let i = 0; i < 2; i++) ex.peak_f32x4_muladd(iters / 10, 1); // tier up
  let best = Infinity;
  for (let i = 0; i < reps; i++) best = Math.min(best, await time(() => ex.peak_f32x4_muladd(iters, 1)));
  const gflops = (8 * chains * iters) / (best * 1e6);
  rows.push({ kernel: "peak_f32x4_muladd", chains, iters, best_ms: Math.round(best * 1000) / 1000,
              gflops: Math.round(gflops * 100) / 100 });
  return { gflops: rows[0].gflops, rows };
}

// ---------------------------------------------------------------- one suite, Node or page

/** Runs what `config` asks for (written by sparsegate.tools.bench) in this process or page.
 * env: { Session, ort (already configured with its numThreads), fetchBytes(src) }.
 * config: { threads, warmup, runs, seed, models: [{name, sgm, onnx, dims}],
 *           batches: [{name, batch, sgm, onnx, dims}], batch_warmup, batch_runs,
 *           layers: {model: [{name, op, shape, macs, model}]}, peak: src } */
export async function runSuite(config, env) {
  trackWasmMemory();
  const { Session, ort } = env;
  const threads = config.threads ?? 1;
  const opts = { warmup: config.warmup ?? 30, runs: config.runs ?? 20, seed: config.seed ?? 1,
                 settleMs: config.settle_ms ?? (threads > 1 ? 50 : 0) };
  const out = { threads, settings: opts, models: {}, batches: [], layers: {}, peak: null };
  for (const m of config.models ?? []) {
    const runners = [sparsegateRunner(Session, m.sgm, { threads, label: `sparsegate-${threads}t` })];
    if (threads > 1) runners.push(sparsegateRunner(Session, m.sgm, { threads: 1, label: "sparsegate-1t" }));
    if (m.onnx && ort) runners.push(ortRunner(ort, await env.fetchBytes(m.onnx), { label: `onnxruntime-web-${threads}t` }));
    try {
      out.models[m.name] = await interleaved(runners, m.dims, opts);
    } catch (e) {
      out.models[m.name] = { error: String(e?.message ?? e) };
    }
  }
  const bopts = { warmup: config.batch_warmup ?? 10, runs: config.batch_runs ?? 10, seed: opts.seed };
  for (const b of config.batches ?? []) {
    const runners = [sparsegateRunner(Session, b.sgm, { threads, label: `sparsegate-${threads}t` })];
    if (b.onnx && ort) runners.push(ortRunner(ort, await env.fetchBytes(b.onnx), { label: `onnxruntime-web-${threads}t` }));
    let r;
    try {
      r = await interleaved(runners, b.dims, bopts);
    } catch (e) {
      // onnxruntime-web may refuse a batch its graph hard-codes; keep sparsegate's number.
      try {
        r = await interleaved(runners.slice(0, 1), b.dims, bopts);
        r.error = String(e?.message ?? e);
      } catch (e2) {
        r = { error: String(e2?.message ?? e2) };
      }
    }
    out.batches.push({ name: b.name, batch: b.batch, ...r });
  }
  for (const [name, layers] of Object.entries(config.layers ?? {})) {
    out.layers[name] = await layerProfile(Session, layers, { threads });
  }
  if (config.peak) out.peak = await simdPeak(await env.fetchBytes(config.peak));
  return out;
}

/** Cold start of one runtime in a fresh process or page: from `t0` (taken before the
 * runtime's JS was imported) to the first result, and the parts. */
export async function coldStart(kind, { t0, importRuntime, fetchBytes, model, dims, threads = 1 }) {
  const marks = {};
  const rt = await importRuntime();
  marks.import_ms = performance.now() - t0;
  const input = seededInput(dims, 1);
  let first;
  if (kind === "sparsegate") {
    const s = await rt.Session.create(model, { threads });
    marks.create_ms = performance.now() - t0;
    const name = s.inputs[0].name;
    first = (await s.run({ [name]: { data: input, dims } }))[s.outputNames[0]].data;
    marks.first_result_ms = performance.now() - t0;
    marks.backend = s.backendInfo;
  } else {
    rt.ort.env.wasm.numThreads = threads;
    const bytes = await fetchBytes(model);
    const sess = await rt.ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    marks.create_ms = performance.now() - t0;
    const feeds = { [sess.inputNames[0]]: new rt.ort.Tensor("float32", input, [...dims]) };
    first = (await sess.run(feeds))[sess.outputNames[0]].data;
    marks.first_result_ms = performance.now() - t0;
  }
  marks.first_value = first[0];
  for (const k of ["import_ms", "create_ms", "first_result_ms"]) marks[k] = Math.round(marks[k] * 100) / 100;
  return marks;
}
