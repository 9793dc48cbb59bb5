// The backend-free session layer: options, feed checks, metadata, outputs as Tensors, release
// and trap state. Everything that touches a runtime is in a backend (backends/).

import { autoNote, pickBackends } from "./backends/registry.js";
import { cachedModelBytes, evictModel } from "./cache.js";
import { env } from "./env.js";
import { SparsegateError, warnOnce } from "./errors.js";
import { feedArrays } from "./feeds.js";
import { readBytes } from "./host.js";
import { Tensor } from "./tensor.js";

const OPTIONS = ["backend", "executionProviders", "threads", "wasm", "wasmThreads", "worker", "cache",
  "cacheKey", "maxMemory", "maxMacs"];
const CREATE = Symbol("Session.create");

function checkOptions(options) {
  if (options === null || typeof options !== "object") {
    throw new SparsegateError(`Session.create: options must be an object, got ${options}`, "input");
  }
  const unknown = Object.keys(options).filter((k) => !OPTIONS.includes(k));
  if (unknown.length) {
    warnOnce(`Session.create ignores unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} `
      + `(supported: ${OPTIONS.join(", ")})`);
  }
  for (const key of ["maxMemory", "maxMacs"]) {
    const v = options[key];
    if (v !== undefined && !(typeof v === "number" && v >= 0)) {
      throw new SparsegateError(`${key} must be a number ≥ 0 (0: no limit), got ${v}`, "input");
    }
  }
  return { ...options, threads: options.threads === undefined ? env.wasm.numThreads : options.threads };
}

// META deeper than this is refused here as in Python (runtime/host.py, whose parser recurses).
const MAX_META_DEPTH = 64;

/** How deep arrays and objects nest in a JSON text (brackets inside strings not counted). */
function jsonDepth(text) {
  let depth = 0, deepest = 0;
  for (const ch of text.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
    if (ch === "[" || ch === "{") deepest = Math.max(deepest, ++depth);
    else if (ch === "]" || ch === "}") depth--;
  }
  return deepest;
}

/** A Session over a created backend, its META parsed: a file whose metadata is not JSON is
 * refused at creation, as in Python, not at the first read of `metadata`. */
function opened(backend) {
  const session = new Session(CREATE, backend);
  try {
    void session.metadata;
  } catch (e) {
    session.release();
    throw e;
  }
  return session;
}

export class Session {
  #backend;
  #metadata;
  #trapped = false;
  #released = false;

  /** Loads a model (URL, path in Node, bytes, Response or Blob) and plans a session on the
   * first backend that takes it. Options:
   * - backend: "auto" | "wasm" | "webgpu" (or executionProviders: ["webgpu", "wasm"], as
   *   onnxruntime-web); "auto" picks wasm for now (`backendInfo.reason` says why);
   * - threads: "auto" (default `env.wasm.numThreads`) or a number; more than 1 needs a
   *   crossOriginIsolated page (else a console warning and 1 thread; `backendInfo.reason`);
   * - worker: true runs the session in a module Web Worker behind the same API;
   * - cache: true keeps the model in the Cache API (by URL and `cacheKey`): a second load
   *   requests nothing;
   * - maxMemory (bytes), maxMacs (per run): refuse larger models at creation ("limit");
   * - wasm, wasmThreads: where sparsegate.wasm / sparsegate-mt.mjs live (see env.wasm.wasmPaths). */
  static async create(model, options = {}) {
    options = checkOptions(options);
    if (options.worker) {
      const { workerSession } = await import("./worker/proxy.js");
      return opened(await workerSession(model, options));
    }
    const backends = pickBackends(options);
    if ((options.backend === undefined || options.backend === "auto") && options.executionProviders === undefined) {
      options.autoNote = autoNote();
    }
    const load = () => (options.cache ? cachedModelBytes(model, options.cacheKey) : readBytes(model, "model")
      .then((bytes) => ({ bytes, cached: false })));
    let loading = load();
    loading.catch(() => {});
    for (let i = 0; ; i++) {
      try {
        const bytes = loading.then((l) => l.bytes);
        bytes.catch(() => {}); // awaited by the backend once its runtime is ready
        return opened(await backends[i].create(bytes, options));
      } catch (e) {
        const loaded = await loading.catch(() => null);
        if (e.code === "format" && loaded?.cached) {
          await evictModel(model, options.cacheKey); // a damaged cache entry: fetch once more
          loading = load();
          i--;
        } else if (!(i + 1 < backends.length && (e.code === "backend" || e.code === "unsupported"))) {
          throw e;
        }
      }
    }
  }

  constructor(token, backend) {
    if (token !== CREATE) throw new TypeError("use `await Session.create(model)`");
    this.#backend = backend;
  }

  #live() {
    if (this.#trapped) throw new SparsegateError("session is unusable after a runtime trap", "trap");
    if (this.#released) throw new SparsegateError("session was released", "released");
    return this.#backend;
  }

  /** Calls the backend; a trap poisons the session. */
  #call(fn) {
    const backend = this.#live();
    const poison = (e) => {
      if (e?.code === "trap") this.#trapped = true;
      throw e;
    };
    try {
      const result = fn(backend);
      return result instanceof Promise ? result.catch(poison) : result;
    } catch (e) {
      return poison(e);
    }
  }

  get backend() { return this.#live().info.backend; }
  /** Threads this session runs on (1 with sparsegate.wasm). */
  get threads() { return this.#live().info.threads; }
  /** {backend, build, threads, requestedThreads, crossOriginIsolated, hardwareConcurrency, simd,
   * reason, worker?}: what was picked and why. */
  get backendInfo() { return this.#live().info; }
  get runtimeVersion() { return this.#live().runtimeVersion; }
  /** [{name, dims, type}] */
  get inputs() { return this.#live().inputs; }
  get outputs() { return this.#live().outputs; }
  get inputNames() { return this.inputs.map((t) => t.name); }
  get outputNames() { return this.outputs.map((t) => t.name); }

  /** The META JSON of the file (inputs, outputs, labels, preprocess, …). */
  get metadata() {
    const text = this.#live().metadataText;
    if (this.#metadata === undefined) {
      try {
        const depth = jsonDepth(text);
        if (depth > MAX_META_DEPTH) throw new Error(`it nests ${depth} levels deep, more than ${MAX_META_DEPTH}`);
        this.#metadata = JSON.parse(text);
      } catch (e) {
        throw new SparsegateError(`META section is not valid JSON: ${e.message}`, "format");
      }
    }
    return this.#metadata;
  }

  /** feeds: { name: Tensor | {data, dims} | typed array } → { name: Tensor }. Outputs are
   * copies: they stay valid after later runs and after release(). */
  async run(feeds) {
    const backend = this.#live();
    const fixed = this.#fixedDims();
    const arrays = feedArrays(backend.inputs, feeds, fixed);
    const datas = await this.#call((b) => b.run(arrays));
    const out = {};
    backend.outputs.forEach((info, i) => {
      // defineProperty: an output named "__proto__" stays an output.
      Object.defineProperty(out, info.name, { value: new Tensor(info.type, datas[i], info.dims),
        enumerable: true, writable: true, configurable: true });
    });
    return out;
  }

  #fixedDims() {
    try {
      return this.metadata?.fixed_dims ?? {};
    } catch {
      return {};
    }
  }

  /** 0 = dense; 1 = every gated layer at its calibrated sparsity. */
  setGate(gate) {
    this.#live();
    if (typeof gate !== "number" || !(gate >= 0 && gate <= 1)) {
      throw new SparsegateError(`setGate: expected a number in [0, 1], got ${gate}`, "input");
    }
    this.#call((b) => b.setGate(gate));
  }

  /** Profiling only: runs nodes [first, last) on what memory holds. */
  runRange(first, last) {
    for (const [k, v] of [["first", first], ["last", last]]) {
      if (!Number.isInteger(v)) throw new SparsegateError(`runRange: ${k} must be an integer, got ${v}`, "input");
    }
    this.#call((b) => b.runRange(first, last));
  }

  /** MACs of the last run, dense versus executed, overall and per layer. */
  stats() {
    return this.#call((b) => b.stats());
  }

  /** Frees the session and what it holds. Calling it again does nothing; any other call
   * afterwards throws "released". */
  release() {
    if (this.#released) return;
    this.#released = true;
    if (!this.#trapped) this.#backend.release();
  }
}
