// The pthreads build `sparsegate-mt.{mjs,wasm}` (Emscripten glue, shared memory): which thread
// count a session gets and why, and the one shared instance (with its worker pool) that the
// sessions using it share; the workers stop when the last of those sessions is released.

import { SparsegateError } from "../../errors.js";
import { runtimeFileUrl } from "../../files.js";
import { host } from "../../host.js";
import { Runtime, wasmModule } from "../wasm/runtime.js";

const MAX_THREADS = 16;     // kMaxThreads in wasm/src/kernels/parallel.cpp
const AUTO_THREADS_CAP = 4; // "auto" uses at most this many threads
const ISOLATION_HINT = "Serve the page with Cross-Origin-Opener-Policy: same-origin and "
  + "Cross-Origin-Embedder-Policy: require-corp.";

/** {threads, reason, warn?, …}: the build and thread count for `requested`. */
export function chooseThreads(requested) {
  const auto = requested === undefined || requested === "auto";
  if (!auto && !(Number.isInteger(requested) && requested >= 1)) {
    throw new SparsegateError(`threads: expected "auto" or an integer ≥ 1, got ${requested}`, "input");
  }
  const hw = host.hardwareThreads();
  const isolated = host.threadsAllowed();
  const info = { requested: auto ? "auto" : requested, hardwareConcurrency: hw, crossOriginIsolated: isolated };
  if (auto) {
    if (host.node) return { ...info, threads: 1, reason: "Node: one thread unless `threads` is set" };
    if (!isolated) {
      return { ...info, threads: 1, reason: "one thread: the page is not crossOriginIsolated, so wasm "
        + `threads are unavailable. ${ISOLATION_HINT}` }; // not asked for: no warning
    }
    const n = Math.min(hw, AUTO_THREADS_CAP);
    return { ...info, threads: n, reason: n > 1 ? `auto: ${n} threads (hardwareConcurrency ${hw}, at most ${AUTO_THREADS_CAP})`
      : "auto: one hardware thread" };
  }
  if (requested > 1 && !isolated) {
    return { ...info, threads: 1, warn: true, reason: `${requested} threads requested, but the page is not `
      + `crossOriginIsolated, so SharedArrayBuffer and wasm threads are unavailable: running on 1 thread with sparsegate.wasm. ${ISOLATION_HINT}` };
  }
  const n = Math.min(requested, MAX_THREADS);
  return { ...info, threads: n, reason: n < requested ? `${requested} threads requested, capped at ${MAX_THREADS}`
    : `${n} thread${n > 1 ? "s" : ""} requested` };
}

const instances = new Map(); // glue URL + pool size -> Promise<ThreadsInstance>

class ThreadsInstance {
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
    instances.delete(this.key);
    try {
      this.module.PThread?.terminateAllThreads();
    } catch { /* the workers are gone either way */ }
  }
}

/** A Runtime on the shared pthreads instance with `threads` threads running, or throws. */
export async function threadsRuntime(glue, threads) {
  const glueUrl = glue === undefined ? runtimeFileUrl("sparsegate-mt.mjs")
    : new URL(String(glue), globalThis.location?.href ?? `file://${globalThis.process?.cwd?.()}/`);
  const key = `${glueUrl.href}#${threads - 1}`;
  if (!instances.has(key)) {
    const p = start(glueUrl, key, threads - 1, glue === undefined);
    p.catch(() => instances.delete(key));
    instances.set(key, p);
  }
  const inst = await instances.get(key);
  inst.users++;
  try {
    const got = await inst.setThreads(threads);
    return { runtime: new Runtime(inst.ex, inst.module.wasmMemory, inst), threads: got };
  } catch (e) {
    inst.release();
    throw e;
  }
}

async function start(glueUrl, key, poolSize, packaged) {
  // Packaged files are located one by one (a bundler may rename each); a custom glue URL
  // has its .wasm and .worker.js beside it.
  const sibling = (ext) => new URL(glueUrl.href.replace(/\.m?js$/, ext));
  const wasmUrl = packaged ? runtimeFileUrl("sparsegate-mt.wasm") : sibling(".wasm");
  const workerUrl = packaged ? runtimeFileUrl("sparsegate-mt.worker.js") : sibling(".worker.js");
  let factory, module, workerScript;
  try {
    [factory, module, workerScript] = await Promise.all([
      import(/* @vite-ignore */ /* webpackIgnore: true */ glueUrl.href), wasmModule(wasmUrl), sameOrigin(workerUrl)]);
  } catch (e) {
    throw new SparsegateError(`threads: cannot load ${glueUrl.href}: ${e.message}`, "io");
  }
  const args = {
    sgPoolSize: poolSize, // PTHREAD_POOL_SIZE (Makefile): workers started with the instance
    // The module compiled (and cached) here; the glue's own fetch breaks in Node.
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(module, imports).then((inst) => receive(inst, module));
      return {};
    },
    locateFile: (f) => (f.endsWith(".worker.js") ? host.threadsWorkerUrl(workerScript) : f),
    mainScriptUrlOrBlob: glueUrl.href,
    print: () => {},
    printErr: (m) => console.warn(`sparsegate-mt: ${m}`),
  };
  try {
    return new ThreadsInstance(key, await host.startThreadsGlue(glueUrl, args, () => (factory.default ?? factory)(args)));
  } catch (e) {
    throw new SparsegateError(`threads: cannot start ${glueUrl.href}: ${e?.message ?? e}`, "io");
  }
}

/** A worker script URL with this page's origin. Bundlers inline small files as data: URLs
 * (Vite below 4 KB), and a worker from a data: URL has an opaque origin that cannot share the
 * wasm memory; a blob: URL of the same script keeps the page's origin. */
async function sameOrigin(url) {
  if (url.protocol !== "data:") return url.href;
  const text = await (await fetch(url)).text();
  return URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
}
