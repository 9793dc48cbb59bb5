// The "wasm" backend: sparsegate.wasm on one thread, or the pthreads build (../wasm-threads)
// when more than one thread is asked for and the page allows it.

import { warnOnce } from "../../errors.js";
import { runtimeFileUrl } from "../../files.js";
import { chooseThreads, threadsRuntime } from "../wasm-threads/threads.js";
import { instantiate, wasmModule } from "./runtime.js";
import { WasmSession } from "./session.js";

export const wasmBackend = {
  name: "wasm",
  /** Every model the runtime loads runs here. */
  supports: () => true,

  /** options: threads, wasm (sparsegate.wasm: URL, path, bytes or WebAssembly.Module),
   * wasmThreads (the glue sparsegate-mt.mjs), maxMemory, maxMacs. */
  async create(bytesPromise, options) {
    const choice = chooseThreads(options.threads);
    if (choice.warn) warnOnce(choice.reason);
    let rt = null;
    if (choice.threads > 1) {
      try {
        const got = await threadsRuntime(options.wasmThreads, choice.threads);
        rt = got.runtime;
        choice.threads = got.threads;
      } catch (e) {
        choice.reason = `the pthreads build failed to start (${e.message}): running on 1 thread with sparsegate.wasm`;
        choice.threads = 1;
        warnOnce(choice.reason);
      }
    }
    let bytes;
    try {
      rt ??= await instantiate(await wasmModule(options.wasm ?? runtimeFileUrl("sparsegate.wasm")));
      bytes = await bytesPromise;
    } catch (e) {
      rt?.threads?.release();
      await Promise.resolve(bytesPromise).catch(() => {});
      throw e;
    }
    const info = Object.freeze({
      backend: "wasm",
      build: rt.threads ? "sparsegate-mt" : "sparsegate.wasm",
      threads: choice.threads,
      requestedThreads: choice.requested,
      crossOriginIsolated: choice.crossOriginIsolated,
      hardwareConcurrency: choice.hardwareConcurrency,
      simd: true,
      reason: [choice.reason, options.autoNote].filter(Boolean).join("; "),
    });
    return new WasmSession(rt, bytes, info, { maxMemory: options.maxMemory, maxMacs: options.maxMacs });
  },
};

/** The runtime's version ("major.minor.patch") without loading a model. */
export async function runtimeVersion(options = {}) {
  return (await instantiate(await wasmModule(options.wasm ?? runtimeFileUrl("sparsegate.wasm")))).version();
}
