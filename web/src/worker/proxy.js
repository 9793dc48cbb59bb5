// The page side of worker mode: a backend session (see backends/registry.js) whose calls are
// messages to a module Web Worker (../worker.js). Inputs are copied once by postMessage, outputs
// transferred back; errors keep their codes. stats() answers from the last run's reply, and
// setGate is sent ahead of the next run (a failure is thrown by that run).

import { env } from "../env.js";
import { SparsegateError } from "../errors.js";
import { startSessionWorker } from "../files.js";
import { host } from "../host.js";

class WorkerBackend {
  #worker;
  #pending = new Map(); // id -> {resolve, reject}
  #next = 1;
  #deferred = null;     // the error of a setGate, thrown by the next run
  #stats;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, value, error } }) => {
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      if (error) p?.reject(new SparsegateError(error.message, error.code));
      else p?.resolve(value);
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      this.#failAll(new SparsegateError(`worker: ${event.message || "cannot start the session worker worker.js "
        + "(is it served beside the module that imports sparsegate, and allowed by the page's CSP?)"}`, "io"));
    };
  }

  #failAll(err) {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #send(op, args) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, args });
    });
  }

  async open(model, options) {
    const { worker, ...rest } = options;
    const absolute = typeof model === "string" || model instanceof URL
      ? new URL(String(model), globalThis.location?.href).href : model;
    const wasmPaths = env.wasm.wasmPaths === undefined ? undefined
      : typeof env.wasm.wasmPaths === "object" && !(env.wasm.wasmPaths instanceof URL)
        ? Object.fromEntries(Object.entries(env.wasm.wasmPaths).map(([k, v]) => [k, new URL(String(v), location.href).href]))
        : new URL(String(env.wasm.wasmPaths), location.href).href;
    const made = await this.#send("create", { model: absolute, options: rest, wasmPaths });
    Object.assign(this, { inputs: made.inputs, outputs: made.outputs, metadataText: made.metadataText,
      info: Object.freeze(made.info), runtimeVersion: made.runtimeVersion });
    this.#stats = made.stats;
    return this;
  }

  async run(arrays) {
    if (this.#deferred) {
      const e = this.#deferred;
      this.#deferred = null;
      throw e;
    }
    // A view into a larger buffer would clone all of that buffer: send just the view's part.
    const own = arrays.map((a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice()));
    const { arrays: datas, stats } = await this.#send("run", { arrays: own });
    this.#stats = stats;
    return datas;
  }

  setGate(gate) {
    this.#send("setGate", { gate }).catch((e) => { this.#deferred = e; });
  }

  stats() {
    return this.#stats;
  }

  runRange() {
    throw new SparsegateError("runRange is for profiling on the page's thread; it is not available in worker mode", "backend");
  }

  release() {
    this.#send("release").catch(() => {}).finally(() => this.#worker.terminate());
  }
}

export async function workerSession(model, options) {
  if (host.node || typeof Worker === "undefined") {
    throw new SparsegateError("worker: true needs Web Workers (a browser); in Node run the session directly", "backend");
  }
  let worker;
  try {
    worker = startSessionWorker();
  } catch (e) {
    throw new SparsegateError(`worker: cannot start the session worker: ${e.message}`, "io");
  }
  try {
    return await new WorkerBackend(worker).open(model, options);
  } catch (e) {
    worker.terminate();
    throw e;
  }
}
