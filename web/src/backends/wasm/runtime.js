// One instance of the standalone `sparsegate.wasm` (no Emscripten glue: the flat C ABI of
// wasm/include/sparsegate.h), and the compiled modules it is made from, shared by URL.

import { SparsegateError } from "../../errors.js";
import { fetchOrThrow, host, readBytes, responseBytes } from "../../host.js";

const utf8 = new TextDecoder("utf-8");
const moduleCache = new Map(); // URL -> Promise<WebAssembly.Module>

/** Compile errors that mean "this page may not compile wasm", not "this is no wasm". */
function compileError(e) {
  if (/disallowed|Content Security Policy|unsafe-eval|CSP/i.test(e.message)) {
    return new SparsegateError("wasm: the page's Content-Security-Policy forbids compiling WebAssembly: "
      + `add 'wasm-unsafe-eval' to its script-src (${e.message})`, "backend");
  }
  return new SparsegateError(`wasm: not a valid WebAssembly module: ${e.message}`, "io");
}

async function compileBytes(bytes) {
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw compileError(e);
  }
}

async function compileUrl(url) {
  if (url.protocol === "file:" || typeof WebAssembly.compileStreaming !== "function") {
    return compileBytes(await readBytes(url, "wasm"));
  }
  const response = await fetchOrThrow(url, "wasm");
  if (!response.ok) throw new SparsegateError(`wasm: ${url} answered ${response.status}`, "io");
  try {
    return await WebAssembly.compileStreaming(response.clone());
  } catch (e) {
    if (compileError(e).code === "backend") throw compileError(e);
    // Served without `application/wasm`: compile from the bytes.
    return compileBytes(await responseBytes(response, "wasm"));
  }
}

/** The compiled module for `src`: a URL (cached), a path (Node), bytes or a WebAssembly.Module. */
export function wasmModule(src) {
  if (src instanceof WebAssembly.Module) return Promise.resolve(src);
  if (typeof src === "string" || src instanceof URL) {
    const isPath = host.node && typeof src === "string" && !/^[a-z]+:/i.test(src);
    const key = isPath ? `path:${src}` : new URL(src, globalThis.location?.href).href;
    if (!moduleCache.has(key)) {
      const p = isPath ? readBytes(src, "wasm").then(compileBytes) : compileUrl(new URL(key));
      p.catch(() => moduleCache.delete(key));
      moduleCache.set(key, p);
    }
    return moduleCache.get(key);
  }
  return readBytes(src, "wasm").then(compileBytes);
}

/** Imports of the standalone build: the memory-growth hook and inert WASI stubs (the runtime
 * reports errors through sg_last_error, never through stdio). */
function imports(module) {
  const table = { env: { emscripten_notify_memory_growth() {} } };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") continue;
    const ns = (table[imp.module] ??= {});
    if (ns[imp.name]) continue;
    if (imp.name === "proc_exit" || imp.name === "abort" || imp.name === "__assert_fail") {
      ns[imp.name] = (code) => {
        throw new SparsegateError(`runtime aborted (${imp.name} ${code ?? ""})`.trim(), "trap");
      };
    } else {
      ns[imp.name] = () => 52; // WASI ENOSYS
    }
  }
  return table;
}

export async function instantiate(module) {
  try {
    const instance = await WebAssembly.instantiate(module, imports(module));
    return new Runtime(instance.exports, instance.exports.memory);
  } catch (e) {
    if (e instanceof SparsegateError) throw e;
    const err = new SparsegateError(`wasm: cannot start the runtime: ${e.message}`,
      e instanceof WebAssembly.RuntimeError ? "trap" : "io");
    err.cause = e;
    throw err;
  }
}

/** One wasm instance: its `sg_*` exports and typed views of its memory. `threads` is the
 * shared pthreads instance it belongs to (../wasm-threads), or null. */
export class Runtime {
  constructor(exports, memory, threads = null) {
    this.ex = exports;
    this.memory = memory;
    this.threads = threads;
    this.u8 = new Uint8Array(memory.buffer);
    this.f32 = new Float32Array(memory.buffer);
    if (!threads && typeof this.ex._initialize === "function") this.ex._initialize();
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

  bytes(ptr, size) {
    return this.heap().u8.slice(ptr, ptr + size);
  }

  lastError(fallback) {
    return this.cstring(this.ex.sg_last_error()) || fallback;
  }

  version() {
    const v = this.ex.sg_version();
    return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
  }
}
