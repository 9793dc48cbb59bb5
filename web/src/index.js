// sparsegate: run `.sgm` models with the standalone `sparsegate.wasm` runtime in browsers and
// Node. No glue code: the module is instantiated here against the flat C ABI of
// wasm/include/sparsegate.h. Each Session owns one wasm instance (its own memory), so a
// released or trapped session never disturbs another; compiled modules are shared.
//
// Threads: the pthreads build `sparsegate-mt.{mjs,wasm}` (Emscripten glue, shared memory) is
// used when more than one thread is asked for (or "auto" in a crossOriginIsolated page). Its
// instance, and its pool of workers, is shared by the sessions that use it; the workers stop
// when the last of those sessions is released.

const DEFAULT_WASM = new URL("./sparsegate.wasm", import.meta.url);
const DEFAULT_MT = new URL("./sparsegate-mt.mjs", import.meta.url);
const MAX_THREADS = 16;    // kMaxThreads in wasm/src/kernels/parallel.cpp
const AUTO_THREADS_CAP = 4; // "auto" uses at most this many threads
const IS_NODE = typeof process !== "undefined" && !!process.versions?.node
  && typeof window === "undefined";
const ERROR_CODES = { 1: "format", 2: "unsupported", 3: "invalid", 4: "memory" };
const utf8 = new TextDecoder("utf-8");

/** Every failure of this package: `code` is "format" | "unsupported" | "invalid" | "memory"
 * (from the runtime), "input" (a bad feed), "io" (reading a file or URL), "trap" (the
 * runtime aborted; the session is unusable), "released" or "backend". */
export class SparsegateError extends Error {
  constructor(message, code = "invalid") {
    super(message);
    this.name = "SparsegateError";
    this.code = code;
  }
}

// ---------------------------------------------------------------- loading bytes and modules

function isUrlLike(s) {
  return /^(https?|blob|data):/i.test(s);
}

/** Bytes of a model or wasm file given as bytes, a URL, a Response, a Blob or (Node) a path. */
async function readBytes(src, what) {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  if (typeof Response !== "undefined" && src instanceof Response) return responseBytes(src, what);
  if (typeof Blob !== "undefined" && src instanceof Blob) return new Uint8Array(await src.arrayBuffer());
  const url = src instanceof URL ? src : null;
  if (typeof src !== "string" && !url) {
    throw new SparsegateError(`${what}: expected bytes, a URL or a path, got ${typeof src}`, "input");
  }
  if (IS_NODE && (url ? url.protocol === "file:" : !isUrlLike(src))) {
    const { readFile } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    const path = url ? fileURLToPath(url) : src.startsWith("file:") ? fileURLToPath(src) : src;
    try {
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      throw new SparsegateError(`${what}: cannot read ${path}: ${e.message}`, "io");
    }
  }
  let response;
  try {
    response = await fetch(src);
  } catch (e) {
    throw new SparsegateError(`${what}: cannot fetch ${src}: ${e.message}`, "io");
  }
  return responseBytes(response, what);
}

async function responseBytes(response, what) {
  if (!response.ok) {
    throw new SparsegateError(`${what}: ${response.url || "fetch"} answered ${response.status}`, "io");
  }
  return new Uint8Array(await response.arrayBuffer());
}

const moduleCache = new Map(); // URL string -> Promise<WebAssembly.Module>

async function compileBytes(bytes) {
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new SparsegateError(`wasm: not a valid WebAssembly module: ${e.message}`, "io");
  }
}

async function compileFromUrl(url) {
  const canStream = !IS_NODE || url.protocol !== "file:";
  if (canStream && typeof WebAssembly.compileStreaming === "function") {
    let response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new SparsegateError(`wasm: cannot fetch ${url}: ${e.message}`, "io");
    }
    if (!response.ok) throw new SparsegateError(`wasm: ${url} answered ${response.status}`, "io");
    try {
      return await WebAssembly.compileStreaming(response.clone());
    } catch {
      // Served without `application/wasm` (or streaming unsupported): compile from bytes.
      return compileBytes(await responseBytes(response, "wasm"));
    }
  }
  return compileBytes(await readBytes(url, "wasm"));
}

/** The compiled runtime for `src` (URL, path, bytes or a WebAssembly.Module), cached by URL. */
function wasmModule(src = DEFAULT_WASM) {
  if (src instanceof WebAssembly.Module) return Promise.resolve(src);
  if (typeof src === "string" || src instanceof URL) {
    const url = src instanceof URL ? src
      : IS_NODE && !isUrlLike(src) && !src.startsWith("file:") ? null : new URL(src, globalThis.location?.href);
    const key = url ? url.href : `path:${src}`;
    if (!moduleCache.has(key)) {
      const p = url ? compileFromUrl(url) : readBytes(src, "wasm").then(compileBytes);
      p.catch(() => moduleCache.delete(key));
      moduleCache.set(key, p);
    }
    return moduleCache.get(key);
  }
  return readBytes(src, "wasm").then(compileBytes);
}

/** Imports for the standalone build: the memory-growth hook plus inert WASI stubs in case a
 * build pulls in stdio or abort (the runtime itself reports errors through sg_last_error). */
function makeImports(module) {
  const imports = { env: { emscripten_notify_memory_growth() {} } };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") continue;
    const ns = (imports[imp.module] ??= {});
    if (ns[imp.name]) continue;
    if (imp.name === "proc_exit" || imp.name === "abort" || imp.name === "__assert_fail") {
      ns[imp.name] = (code) => {
        throw new SparsegateError(`runtime aborted (${imp.name} ${code ?? ""})`.trim(), "trap");
      };
    } else {
      ns[imp.name] = () => 52; // WASI ENOSYS; unused by the runtime's own code paths
    }
  }
  return imports;
}

// ---------------------------------------------------------------- the runtime instance

async function instantiate(module) {
  try {
    const instance = await WebAssembly.instantiate(module, makeImports(module));
    return new Runtime(instance.exports, instance.exports.memory);
  } catch (e) {
    if (e instanceof SparsegateError) throw e;
    const err = new SparsegateError(`wasm: cannot start the runtime: ${e.message}`,
      e instanceof WebAssembly.RuntimeError ? "trap" : "io");
    err.cause = e;
    throw err;
  }
}

/** One wasm instance with typed access to its exports (`sg_*` functions) and memory. */
class Runtime {
  constructor(exports, memory, mt = null) {
    this.ex = exports;
    this.memory = memory;
    this.mt = mt; // the shared pthreads instance (MtInstance), or null
    this.u8 = new Uint8Array(this.memory.buffer);
    this.f32 = new Float32Array(this.memory.buffer);
    if (!mt && typeof this.ex._initialize === "function") this.ex._initialize();
  }

  /** Views are refreshed lazily: memory.grow detaches the old buffer. */
  heap() {
    if (this.u8.buffer !== this.memory.buffer) {
      this.u8 = new Uint8Array(this.memory.buffer);
      this.f32 = new Float32Array(this.memory.buffer);
    }
    return this;
  }

  cstring(ptr) {
    if (!ptr) return "";
    const u8 = this.heap().u8;
    let end = ptr;
    while (end < u8.length && u8[end] !== 0) end++;
    return utf8.decode(u8.slice(ptr, end)); // a copy: TextDecoder refuses shared memory
  }

  lastError(fallback) {
    const msg = this.cstring(this.ex.sg_last_error());
    return msg || fallback;
  }

  version() {
    const v = this.ex.sg_version();
    return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
  }
}

function tensorInfo(rt, s, kind, i) {
  const ex = rt.ex;
  const name = rt.cstring(ex[`sg_session_${kind}_name`](s, i));
  const rank = ex[`sg_session_${kind}_rank`](s, i);
  const dims = [];
  for (let a = 0; a < rank; a++) dims.push(ex[`sg_session_${kind}_dim`](s, i, a));
  return Object.freeze({ name, dims: Object.freeze(dims) });
}

const numel = (dims) => dims.reduce((n, d) => n * d, 1);
const fmtDims = (dims) => `[${Array.from(dims).join(", ")}]`;


// ---------------------------------------------------------------- threads (pthreads build)

let nodeCpuCount = null; // set by Session.create in Node (node:os is imported lazily)

function hardwareThreads() {
  const n = globalThis.navigator?.hardwareConcurrency;
  if (Number.isInteger(n) && n > 0) return n;
  return nodeCpuCount ?? 1;
}

async function loadNodeCpuCount() {
  if (!IS_NODE || nodeCpuCount !== null) return;
  try {
    const os = await import("node:os");
    nodeCpuCount = os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    nodeCpuCount = 1;
  }
}

/** Which build and how many threads a session gets, and why (Session#backendInfo). */
function chooseThreads(requested) {
  const auto = requested === undefined || requested === "auto";
  if (!auto && !(Number.isInteger(requested) && requested >= 1)) {
    throw new SparsegateError(`threads: expected "auto" or an integer ≥ 1, got ${requested}`, "input");
  }
  const hw = hardwareThreads();
  const isolated = IS_NODE || globalThis.crossOriginIsolated === true;
  const info = { requested: auto ? "auto" : requested, hardwareConcurrency: hw, crossOriginIsolated: isolated };
  if (auto) {
    if (IS_NODE) return { ...info, threads: 1, reason: 'Node: one thread unless `threads` is set' };
    if (!isolated) {
      return { ...info, threads: 1, reason: "one thread: the page is not crossOriginIsolated (threads need "
        + "the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)" };
    }
    const n = Math.min(hw, AUTO_THREADS_CAP);
    return { ...info, threads: n, reason: n > 1 ? `auto: ${n} threads (hardwareConcurrency ${hw}, at most ${AUTO_THREADS_CAP})`
      : "auto: one hardware thread" };
  }
  if (requested > 1 && !isolated) {
    const reason = `${requested} threads requested, but the page is not crossOriginIsolated, so `
      + "SharedArrayBuffer and wasm threads are unavailable: running on 1 thread with sparsegate.wasm. Serve the "
      + "page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp.";
    return { ...info, threads: 1, reason, warn: true };
  }
  const n = Math.min(requested, MAX_THREADS);
  return { ...info, threads: n, reason: n < requested ? `${requested} threads requested, capped at ${MAX_THREADS}`
    : `${n} thread${n > 1 ? "s" : ""} requested` };
}

const mtCache = new Map(); // glue URL -> Promise<MtInstance>

/** The shared instance of the pthreads build: its exports, memory and worker pool. */
class MtInstance {
  constructor(key, module) {
    this.key = key;
    this.module = module; // the Emscripten Module object
    this.users = 0;
    this.ex = {};
    for (const [k, v] of Object.entries(module)) {
      if (k.startsWith("_sg_") && typeof v === "function") this.ex[k.slice(1)] = v;
    }
  }

  /** Starts workers for `n` threads; waits (yielding to the event loop) until they run. */
  async setThreads(n) {
    const got = this.ex.sg_threads_set(n);
    const t0 = Date.now();
    while (this.ex.sg_threads_ready() < got && Date.now() - t0 < 10_000) {
      await new Promise((r) => setTimeout(r, 1));
    }
    return got;
  }

  release() {
    if (--this.users > 0) return;
    mtCache.delete(this.key);
    try {
      this.module.PThread?.terminateAllThreads();
    } catch { /* workers are gone either way */ }
  }
}

async function loadMt(glue, poolSize) {
  const url = glue instanceof URL ? glue : new URL(glue, IS_NODE ? `file://${process.cwd()}/` : globalThis.location?.href);
  const key = `${url.href}#${poolSize}`;
  if (!mtCache.has(key)) {
    const p = startMt(url, key, poolSize);
    p.catch(() => mtCache.delete(key));
    mtCache.set(key, p);
  }
  return mtCache.get(key);
}

async function startMt(url, key, poolSize) {
  const wasmUrl = new URL(url.href.replace(/\.m?js$/, ".wasm"));
  let factory, module;
  try {
    [factory, module] = await Promise.all([import(url.href), wasmModule(wasmUrl)]);
  } catch (e) {
    throw new SparsegateError(`threads: cannot load ${url.href}: ${e.message}`, "io");
  }
  const args = {
    sgPoolSize: poolSize, // PTHREAD_POOL_SIZE (Makefile): workers started with the instance
    // Instantiate the module compiled (and cached) here; the glue's own fetch breaks in Node.
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(module, imports).then((inst) => receive(inst, module));
      return {};
    },
    print: () => {},
    printErr: (m) => console.warn(`sparsegate-mt: ${m}`),
  };
  let restore = null;
  if (IS_NODE) {
    // Emscripten 3.1's ES6 glue calls require() and reads __dirname while it starts (newer
    // versions do not): provide them for the synchronous start only. Its pthread workers are
    // CommonJS, hence the .worker.cjs copy (web/package.json makes .js files ES modules).
    const { createRequire } = await import("node:module");
    const { fileURLToPath } = await import("node:url");
    const path = fileURLToPath(url);
    const dir = path.slice(0, path.lastIndexOf("/") + 1);
    args.locateFile = (f) => dir + f.replace(/\.worker\.js$/, ".worker.cjs");
    const saved = { require: globalThis.require, __dirname: globalThis.__dirname };
    globalThis.require = createRequire(path);
    globalThis.__dirname = dir.slice(0, -1);
    restore = () => Object.assign(globalThis, saved);
  }
  let ready;
  try {
    ready = (factory.default ?? factory)(args);
  } finally {
    restore?.();
  }
  try {
    return new MtInstance(key, await ready);
  } catch (e) {
    throw new SparsegateError(`threads: cannot start ${url.href}: ${e?.message ?? e}`, "io");
  }
}

// ---------------------------------------------------------------- Session

export class Session {
  #rt = null;
  #model = 0;
  #session = 0;
  #bytes = 0;
  #inputs;
  #outputs;
  #metadata;
  #metaText;
  #trapped = false;

  #info;

  /** Loads a model (URL, path in Node, bytes, Response or Blob) and plans a session.
   * options.backend: "auto" | "wasm"; options.wasm: where sparsegate.wasm lives (URL, path,
   * bytes or a compiled WebAssembly.Module; default: next to this file).
   * options.threads: "auto" (default: all cores up to 4 in a crossOriginIsolated page, else 1;
   * 1 in Node) or a number; more than 1 uses the pthreads build (options.wasmThreads: where
   * sparsegate-mt.mjs lives, its .wasm and .worker.js beside it). A page that is not
   * crossOriginIsolated cannot run threads: asking for them there warns on the console and
   * runs on 1 thread; `backendInfo.reason` says why either way. */
  static async create(model, options = {}) {
    const backend = options.backend ?? "auto";
    if (backend !== "auto" && backend !== "wasm") {
      throw new SparsegateError(`backend "${backend}" is not available (this build has: "wasm")`, "backend");
    }
    await loadNodeCpuCount();
    const choice = chooseThreads(options.threads);
    if (choice.warn) console.warn(`sparsegate: ${choice.reason}`);
    const bytesP = readBytes(model, "model");
    bytesP.catch(() => {});
    let rt = null;
    if (choice.threads > 1) {
      try {
        const mt = await loadMt(options.wasmThreads ?? DEFAULT_MT, choice.threads - 1);
        mt.users++;
        try {
          choice.threads = await mt.setThreads(choice.threads);
        } catch (e) {
          mt.release();
          throw e;
        }
        rt = new Runtime(mt.ex, mt.module.wasmMemory, mt);
      } catch (e) {
        choice.reason = `the pthreads build failed to start (${e.message}): running on 1 thread with sparsegate.wasm`;
        choice.threads = 1;
        console.warn(`sparsegate: ${choice.reason}`);
      }
    }
    if (!rt) {
      try {
        rt = await instantiate(await wasmModule(options.wasm));
      } catch (e) {
        await bytesP.catch(() => {});
        throw e;
      }
    }
    let bytes;
    try {
      bytes = await bytesP;
    } catch (e) {
      rt.mt?.release();
      throw e;
    }
    const info = Object.freeze({
      backend: "wasm",
      build: rt.mt ? "sparsegate-mt" : "sparsegate.wasm",
      threads: choice.threads,
      requestedThreads: choice.requested,
      crossOriginIsolated: choice.crossOriginIsolated,
      hardwareConcurrency: choice.hardwareConcurrency,
      simd: true,
      reason: choice.reason,
    });
    return new Session(rt, bytes, info);
  }

  constructor(rt, bytes, info) {
    if (!(rt instanceof Runtime)) throw new TypeError("use `await Session.create(model)`");
    this.#rt = rt;
    this.#info = info;
    const ex = rt.ex;
    this.#guard(() => {
      if (bytes.length > 0x7fffffff) {
        throw new SparsegateError(`model: ${bytes.length} bytes exceed the 2 GiB wasm32 limit`, "memory");
      }
      this.#bytes = ex.sg_alloc(Math.max(bytes.length, 1));
      if (!this.#bytes) throw new SparsegateError(`model: cannot allocate ${bytes.length} bytes`, "memory");
      rt.heap().u8.set(bytes, this.#bytes);
      this.#model = ex.sg_model_load(this.#bytes, bytes.length);
      if (!this.#model) throw this.#error(1, "model: cannot load");
      this.#session = ex.sg_session_create(this.#model);
      if (!this.#session) throw this.#error(3, "session: cannot create");
      const s = this.#session;
      const ins = ex.sg_session_input_count(s), outs = ex.sg_session_output_count(s);
      this.#inputs = Object.freeze(Array.from({ length: ins }, (_, i) => tensorInfo(rt, s, "input", i)));
      this.#outputs = Object.freeze(Array.from({ length: outs }, (_, i) => tensorInfo(rt, s, "output", i)));
      const metaPtr = ex.sg_model_metadata(this.#model);
      const metaSize = ex.sg_model_metadata_size(this.#model);
      this.#metaText = utf8.decode(rt.heap().u8.slice(metaPtr, metaPtr + metaSize)).replace(/\0+$/, "");
    }, true);
  }

  /** Runs `fn`; a trap becomes a SparsegateError and poisons the session. On failure during
   * construction everything allocated so far is freed. */
  #guard(fn, constructing = false) {
    try {
      return fn();
    } catch (e) {
      const trapped = e instanceof WebAssembly.RuntimeError || e?.code === "trap";
      if (constructing) this.#free(!trapped);
      else if (trapped) this.#free(false);
      if (trapped) {
        this.#trapped = true;
        const err = new SparsegateError(`runtime trapped: ${e.message}`, "trap");
        err.cause = e;
        throw err;
      }
      throw e;
    }
  }

  #error(rc, fallback) {
    return new SparsegateError(this.#rt.lastError(fallback), ERROR_CODES[rc] ?? "invalid");
  }

  #live() {
    if (this.#trapped) throw new SparsegateError("session is unusable after a runtime trap", "trap");
    if (!this.#rt) throw new SparsegateError("session was released", "released");
    return this.#rt;
  }

  /** Frees runtime objects; `callRuntime = false` after a trap just drops the instance. */
  #free(callRuntime) {
    const rt = this.#rt;
    if (!rt) return;
    if (callRuntime) {
      try {
        if (this.#session) rt.ex.sg_session_free(this.#session);
        if (this.#model) rt.ex.sg_model_free(this.#model);
        if (this.#bytes) rt.ex.sg_free(this.#bytes);
      } catch { /* the instance is dropped below either way */ }
    }
    this.#session = this.#model = this.#bytes = 0;
    this.#rt = null;
    rt.mt?.release(); // the last session on the pthreads instance stops its workers
  }

  get backend() { this.#live(); return "wasm"; }
  /** Threads this session runs on (1 with sparsegate.wasm). */
  get threads() { this.#live(); return this.#info.threads; }
  /** {backend, build: "sparsegate.wasm" | "sparsegate-mt", threads, requestedThreads,
   * crossOriginIsolated, hardwareConcurrency, simd, reason}: what was picked and why. */
  get backendInfo() { this.#live(); return this.#info; }
  get runtimeVersion() { return this.#live().version(); }
  get inputs() { this.#live(); return this.#inputs; }
  get outputs() { this.#live(); return this.#outputs; }
  get inputNames() { return this.inputs.map((t) => t.name); }
  get outputNames() { return this.outputs.map((t) => t.name); }

  /** The META JSON of the file (inputs, outputs, labels, preprocess, …). */
  get metadata() {
    this.#live();
    if (this.#metadata === undefined) {
      try {
        this.#metadata = JSON.parse(this.#metaText);
      } catch (e) {
        throw new SparsegateError(`metadata: META is not valid JSON: ${e.message}`, "format");
      }
    }
    return this.#metadata;
  }

  /** feeds: { name: { data: Float32Array, dims?: number[] } } → { name: { data, dims } }.
   * Output data are copies; they stay valid after later runs and after release(). */
  async run(feeds) {
    const rt = this.#live();
    if (feeds === null || typeof feeds !== "object") {
      throw new SparsegateError(`run: feeds must be an object of {data, dims}, got ${feeds}`, "input");
    }
    const known = new Set(this.#inputs.map((t) => t.name));
    for (const name of Object.keys(feeds)) {
      if (!known.has(name)) {
        throw new SparsegateError(`run: unknown input "${name}" (inputs: ${[...known].join(", ")})`, "input");
      }
    }
    const ex = rt.ex;
    return this.#guard(() => {
      this.#inputs.forEach((info, i) => {
        const data = checkFeed(info, feeds[info.name]);
        const ptr = ex.sg_session_input_data(this.#session, i);
        if (!ptr) throw this.#error(3, `input "${info.name}": no buffer`);
        rt.heap().f32.set(data, ptr >>> 2);
      });
      const rc = ex.sg_session_run(this.#session);
      if (rc !== 0) throw this.#error(rc, `run failed with code ${rc}`);
      const out = {};
      this.#outputs.forEach((info, i) => {
        const ptr = ex.sg_session_output_data(this.#session, i);
        if (!ptr) throw this.#error(3, `output "${info.name}": no data`);
        const n = numel(info.dims);
        out[info.name] = { data: rt.heap().f32.slice(ptr >>> 2, (ptr >>> 2) + n), dims: [...info.dims] };
      });
      return out;
    });
  }

  /** 0 = dense; 1 = every gated layer at its calibrated sparsity. */
  setGate(gate) {
    const rt = this.#live();
    if (typeof gate !== "number" || !(gate >= 0 && gate <= 1)) {
      throw new SparsegateError(`setGate: expected a number in [0, 1], got ${gate}`, "input");
    }
    this.#guard(() => {
      const rc = rt.ex.sg_session_set_gate(this.#session, gate);
      if (rc !== 0) throw this.#error(rc, `setGate(${gate}) failed with code ${rc}`);
    });
  }

  /** Profiling only: runs nodes [first, last) on what memory holds (sg_session_run_range). */
  runRange(first, last) {
    const rt = this.#live();
    this.#guard(() => {
      const rc = rt.ex.sg_session_run_range(this.#session, first, last);
      if (rc !== 0) throw this.#error(rc, `runRange(${first}, ${last}) failed with code ${rc}`);
    });
  }

  /** MACs of the last run, dense versus executed, overall and per layer. */
  stats() {
    const rt = this.#live();
    const ex = rt.ex, s = this.#session;
    return this.#guard(() => {
      const layers = [];
      const n = ex.sg_session_node_count(s);
      for (let i = 0; i < n; i++) {
        layers.push({
          name: rt.cstring(ex.sg_session_node_name(s, i)),
          op: rt.cstring(ex.sg_session_node_op(s, i)),
          macsDense: ex.sg_session_node_macs_dense(s, i),
          macsExecuted: ex.sg_session_node_macs_executed(s, i),
        });
      }
      return {
        macsDense: ex.sg_session_macs_dense(s),
        macsExecuted: ex.sg_session_macs_executed(s),
        layers,
        arenaBytes: ex.sg_session_arena_bytes(s) >>> 0,
      };
    });
  }

  /** Frees the session, the model and its bytes. Calling it again does nothing; any other
   * call afterwards throws. */
  release() {
    this.#free(true);
  }
}

function checkFeed(info, feed) {
  if (feed === undefined) {
    throw new SparsegateError(`run: missing input "${info.name}" (expected dims ${fmtDims(info.dims)})`, "input");
  }
  const data = feed?.data ?? (ArrayBuffer.isView(feed) || Array.isArray(feed) ? feed : undefined);
  if (data === undefined || typeof data.length !== "number") {
    throw new SparsegateError(`run: input "${info.name}": expected {data: Float32Array, dims}, got ${typeof feed}`, "input");
  }
  if (feed.dims !== undefined) {
    const dims = Array.from(feed.dims, Number);
    if (dims.length !== info.dims.length || dims.some((d, a) => d !== info.dims[a])) {
      throw new SparsegateError(
        `run: input "${info.name}": expected dims ${fmtDims(info.dims)}, got ${fmtDims(dims)}`, "input");
    }
  }
  const n = numel(info.dims);
  if (data.length !== n) {
    throw new SparsegateError(
      `run: input "${info.name}": expected ${n} values for dims ${fmtDims(info.dims)}, got ${data.length}`, "input");
  }
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** The runtime's version ("major.minor.patch") without loading a model. */
export async function runtimeVersion(options = {}) {
  return (await instantiate(await wasmModule(options.wasm))).version();
}

export default Session;
